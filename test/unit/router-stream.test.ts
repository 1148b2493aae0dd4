/**
 * The router's streaming paths against real servers: large uploads and downloads, Upgrade
 * tunnels, and clients or dynos that vanish halfway.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { createRouter, frontDoor, type Backend, type RouterLogLine } from '../../src/router/index.js';

const HOST = 'myapp.localhost';
const MB = 1024 * 1024;
const closers: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of closers.reverse()) await c();
});

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

async function backend(handler: http.RequestListener, onUpgrade?: (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => void): Promise<number> {
  const server = http.createServer(handler);
  if (onUpgrade) server.on('upgrade', onUpgrade);
  const port = await listen(server);
  closers.push(() => {
    server.closeAllConnections();
    return new Promise((r) => server.close(() => r()));
  });
  return port;
}

async function front(list: Backend[]): Promise<{ port: number; waitLog(match: string): Promise<string>; logs: RouterLogLine[] }> {
  const logs: RouterLogLine[] = [];
  const waiters: Array<() => void> = [];
  const target = { appId: 'app-1', appName: 'myapp', maintenance: false, backends: () => list };
  const router = createRouter({
    table: { resolve: (h) => (h === HOST ? target : undefined) },
    log: (line) => {
      logs.push(line);
      for (const w of waiters.splice(0)) w();
    },
  });
  const server = http.createServer((req, res) => {
    if (!router.handleRequest(req, res)) res.writeHead(404).end();
  });
  server.on('upgrade', (req, socket, head) => {
    if (!router.handleUpgrade(req, socket, head)) socket.destroy();
  });
  frontDoor(server, router);
  const port = await listen(server);
  closers.push(async () => {
    router.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
  const waitLog = async (match: string): Promise<string> => {
    for (;;) {
      const hit = logs.find((l) => l.message.includes(match));
      if (hit) return hit.message;
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  return { port, waitLog, logs };
}

/** Deterministic bytes, produced chunk by chunk so nothing holds the whole body. */
function* chunks(total: number, size = 64 * 1024): Generator<Buffer> {
  let sent = 0;
  let n = 0;
  while (sent < total) {
    const len = Math.min(size, total - sent);
    yield Buffer.alloc(len, n++ % 251);
    sent += len;
  }
}

function digestOf(total: number): string {
  const h = createHash('sha256');
  for (const c of chunks(total)) h.update(c);
  return h.digest('hex');
}

test('a 20 MB chunked upload reaches the dyno intact', async () => {
  const size = 20 * MB;
  const port = await backend((req, res) => {
    const h = createHash('sha256');
    let bytes = 0;
    req.on('data', (c: Buffer) => {
      bytes += c.length;
      h.update(c);
    });
    req.on('end', () => res.end(`${bytes} ${h.digest('hex')}`));
  });
  const f = await front([{ dyno: 'web.1', port }]);
  const reply = await new Promise<string>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: f.port, method: 'PUT', agent: false, headers: { Host: HOST, 'Transfer-Encoding': 'chunked' } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    const it = chunks(size);
    const pump = () => {
      for (;;) {
        const next = it.next();
        if (next.done) return req.end();
        if (!req.write(next.value)) return req.once('drain', pump);
      }
    };
    pump();
  });
  assert.equal(reply, `${size} ${digestOf(size)}`);
});

test('a 20 MB download streams back intact and is counted in the log', async () => {
  const size = 20 * MB;
  const port = await backend((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    const it = chunks(size);
    const pump = () => {
      for (;;) {
        const next = it.next();
        if (next.done) return res.end();
        if (!res.write(next.value)) return res.once('drain', pump);
      }
    };
    pump();
  });
  const f = await front([{ dyno: 'web.1', port }]);
  const { bytes, digest } = await new Promise<{ bytes: number; digest: string }>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: f.port, agent: false, headers: { Host: HOST } }, (res) => {
        const h = createHash('sha256');
        let n = 0;
        res.on('data', (c: Buffer) => {
          n += c.length;
          h.update(c);
        });
        res.on('end', () => resolve({ bytes: n, digest: h.digest('hex') }));
      })
      .on('error', reject);
  });
  assert.equal(bytes, size);
  assert.equal(digest, digestOf(size));
  assert.match(await f.waitLog('at=info'), new RegExp(`status=200 bytes=${size} `));
});

test('an Upgrade handshake is relayed and bytes flow both ways', async () => {
  const port = await backend(
    (_req, res) => res.end('plain'),
    (req, socket, head) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n' + `X-Seen-Via: ${req.headers.via}\r\n\r\n`);
      socket.write('hello:');
      if (head.length > 0) socket.write(`early=${head}|`);
      socket.on('data', (d) => socket.write(`echo:${d}|`));
      socket.on('end', () => socket.end());
    },
  );
  const f = await front([{ dyno: 'web.1', port }]);
  const { res, socket, head } = await new Promise<{ res: http.IncomingMessage; socket: net.Socket; head: Buffer }>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: f.port, agent: false, headers: { Host: HOST, Connection: 'Upgrade', Upgrade: 'echo' } });
    req.on('upgrade', (res, socket, head) => resolve({ res, socket, head }));
    req.on('response', () => reject(new Error('expected an upgrade')));
    req.on('error', reject);
    req.end();
  });
  assert.equal(res.statusCode, 101);
  assert.equal(res.headers.upgrade, 'echo');
  assert.equal(res.headers['x-seen-via'], '1.1 slipway');
  assert.ok(res.headers['x-request-id']);
  let received = head.toString();
  socket.on('data', (d) => (received += d));
  socket.write('ping');
  while (!received.includes('echo:ping|')) await new Promise((r) => setTimeout(r, 10));
  assert.ok(received.startsWith('hello:'));
  const closed = new Promise((r) => socket.on('close', r));
  socket.end();
  await closed;
  assert.match(await f.waitLog('status=101'), /^at=info method=GET path="\/" .* dyno=web\.1 .* status=101 /);
});

test('an Upgrade with no dynos gets a 503 and H14', async () => {
  const f = await front([]);
  const raw = await new Promise<string>((resolve, reject) => {
    const s = net.connect(f.port, '127.0.0.1', () => s.write(`GET /ws HTTP/1.1\r\nHost: ${HOST}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`));
    let text = '';
    s.on('data', (d) => (text += d));
    s.on('end', () => resolve(text));
    s.on('error', reject);
  });
  assert.match(raw, /^HTTP\/1\.1 503 /);
  assert.match(raw, /Application not running/);
  await f.waitLog('code=H14');
});

test('a client that aborts mid-response leaves the router working and the dyno released', async () => {
  let backendClosed!: () => void;
  const released = new Promise<void>((r) => (backendClosed = r));
  const port = await backend((req, res) => {
    if (req.url === '/ok') return res.end('fine');
    res.writeHead(200);
    const t = setInterval(() => res.write(Buffer.alloc(16 * 1024, 1)), 5);
    res.on('close', () => {
      clearInterval(t);
      backendClosed();
    });
  });
  const f = await front([{ dyno: 'web.1', port }]);
  await new Promise<void>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: f.port, path: '/forever', agent: false, headers: { Host: HOST } }, (res) => {
      res.once('data', () => {
        req.destroy();
        resolve();
      });
    });
    req.on('error', () => {});
    req.on('close', () => resolve());
    setTimeout(() => reject(new Error('no data')), 10_000).unref();
  });
  await released;
  assert.match(await f.waitLog('code=H27'), /desc="Client Request Interrupted" .* status=499 /);
  const ok = await new Promise<string>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: f.port, path: '/ok', agent: false, headers: { Host: HOST } }, (res) => {
        let t = '';
        res.on('data', (c) => (t += c));
        res.on('end', () => resolve(t));
      })
      .on('error', reject);
  });
  assert.equal(ok, 'fine');
});

test('a dyno that resets mid-response cuts the client off and logs H18', async () => {
  const port = await backend((_req, res) => {
    res.writeHead(200, { 'Content-Length': '1000000' });
    res.write(Buffer.alloc(1000, 1), () => setTimeout(() => res.socket?.destroy(), 20));
  });
  const f = await front([{ dyno: 'web.1', port }]);
  const outcome = await new Promise<string>((resolve) => {
    http
      .get({ host: '127.0.0.1', port: f.port, agent: false, headers: { Host: HOST } }, (res) => {
        res.on('data', () => {});
        res.on('end', () => resolve('complete'));
        res.on('error', () => resolve('cut'));
        res.on('aborted', () => resolve('cut'));
      })
      .on('error', () => resolve('cut'));
  });
  assert.equal(outcome, 'cut');
  assert.match(await f.waitLog('code=H18'), /status=200 /);
});

test('malformed requests and early disconnects do not crash the router', async () => {
  const port = await backend((_req, res) => res.end('ok'));
  const f = await front([{ dyno: 'web.1', port }]);
  // `hangUp`: the client half-closes right after sending, as an impatient client would.
  const send = (data: string, hangUp = true) =>
    new Promise<string>((resolve) => {
      const s = net.connect(f.port, '127.0.0.1', () => (hangUp ? s.end(data) : s.write(data)));
      let text = '';
      s.on('data', (d) => (text += d));
      s.on('close', () => resolve(text));
      s.on('error', () => resolve(text));
    });
  assert.match(await send('NOT HTTP AT ALL\r\n\r\n'), /^HTTP\/1\.1 400/);
  await send(`POST / HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 100\r\n\r\nonly-part`);
  await send(`GET / HTTP/1.1\r\nHost: ${HOST}\r\n`);
  const again = await send(`GET / HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`, false);
  assert.match(again, /^HTTP\/1\.1 200[\s\S]*ok$/);
});
