/**
 * The router against real HTTP servers on 127.0.0.1: routing, round robin, failover,
 * error pages and log lines, request ids and forwarded headers. Every test runs twice: through
 * the router's own connection handling (`frontDoor`, as Slipway serves) and through
 * `handleRequest` behind Node's http.Server (app requests on connections handed to it).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { createRouter, frontDoor, type Backend, type RouteTarget, type RouterLogLine } from '../../src/router/index.js';

const HOST = 'myapp.localhost';
type Entry = 'front door' | 'handleRequest';
let entry: Entry = 'front door';
/** Registers `fn` once per entry point; tests in a file run one after another. */
function both(name: string, fn: () => Promise<void>): void {
  for (const e of ['front door', 'handleRequest'] as const) {
    test(`${name} [${e}]`, () => {
      entry = e;
      return fn();
    });
  }
}
const closers: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of closers.reverse()) await c();
});

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function closeServer(server: http.Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A backend that answers with its name and echoes the headers it received. */
async function backend(name: string, handler?: http.RequestListener): Promise<{ port: number; hits: number }> {
  const state = { port: 0, hits: 0 };
  const server = http.createServer((req, res) => {
    state.hits++;
    if (handler) return handler(req, res);
    const body = JSON.stringify({ name, headers: req.headers, url: req.url });
    res.writeHead(200, { 'Content-Type': 'application/json', 'X-Backend': name });
    res.end(body);
  });
  state.port = await listen(server);
  closers.push(() => closeServer(server));
  return state;
}

/** A port with nothing listening on it. */
async function deadPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

interface Front {
  port: number;
  target: RouteTarget & { list: Backend[] };
  logs: RouterLogLine[];
  waitLog(match: string): Promise<string>;
}

async function front(list: Backend[], options: { responseTimeoutMs?: number } = {}): Promise<Front> {
  const logs: RouterLogLine[] = [];
  const waiters: Array<() => void> = [];
  const target = { appId: 'app-1', appName: 'myapp', maintenance: false, list, backends: () => target.list };
  const router = createRouter({
    table: { resolve: (h) => (h === HOST ? target : undefined) },
    log: (line) => {
      logs.push(line);
      for (const w of waiters.splice(0)) w();
    },
    ...options,
  });
  const server = http.createServer((req, res) => {
    if (!router.handleRequest(req, res)) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('api fallback');
    }
  });
  server.on('upgrade', (req, socket, head) => {
    if (!router.handleUpgrade(req, socket, head)) socket.destroy();
  });
  if (entry === 'front door') frontDoor(server, router);
  const port = await listen(server);
  closers.push(async () => {
    router.close();
    await closeServer(server);
  });
  const waitLog = async (match: string): Promise<string> => {
    for (;;) {
      const hit = logs.find((l) => l.message.includes(match));
      if (hit) return hit.message;
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  return { port, target, logs, waitLog };
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function get(port: number, path = '/', headers: Record<string, string> = {}, method = 'GET', body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, agent: false, headers: { Host: HOST, ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const echo = (r: Reply) => JSON.parse(r.body) as { name: string; headers: http.IncomingHttpHeaders; url: string };

both('round robin over three backends, in order', async () => {
  const [a, b, c] = await Promise.all([backend('a'), backend('b'), backend('c')]);
  const f = await front([
    { dyno: 'web.1', port: a.port },
    { dyno: 'web.2', port: b.port },
    { dyno: 'web.3', port: c.port },
  ]);
  const names: string[] = [];
  for (let i = 0; i < 6; i++) names.push(echo(await get(f.port)).name);
  assert.deepEqual(names, ['a', 'b', 'c', 'a', 'b', 'c']);
});

both('changes to the backend list are picked up on the next request', async () => {
  const [a, b] = await Promise.all([backend('a'), backend('b')]);
  const f = await front([{ dyno: 'web.1', port: a.port }]);
  assert.equal(echo(await get(f.port)).name, 'a');
  f.target.list = [{ dyno: 'web.2', port: b.port }];
  assert.equal(echo(await get(f.port)).name, 'b');
  assert.equal(echo(await get(f.port)).name, 'b');
});

both('an unknown host is left to the caller', async () => {
  const a = await backend('a');
  const f = await front([{ dyno: 'web.1', port: a.port }]);
  const r = await get(f.port, '/', { Host: 'other.localhost' });
  assert.equal(r.status, 404);
  assert.equal(r.body, 'api fallback');
  assert.equal(a.hits, 0);
  assert.equal(f.logs.length, 0);
});

both('the Host match ignores case, port and a trailing dot', async () => {
  const a = await backend('a');
  const f = await front([{ dyno: 'web.1', port: a.port }]);
  for (const host of ['MyApp.LocalHost', `myapp.localhost:${f.port}`, 'myapp.localhost.']) {
    assert.equal((await get(f.port, '/', { Host: host })).status, 200, host);
  }
});

both('no web dynos: 503 page with the fix, and H14 in the log', async () => {
  const f = await front([]);
  const r = await get(f.port, '/hello');
  assert.equal(r.status, 503);
  assert.match(r.headers['content-type'] ?? '', /text\/html/);
  assert.match(r.body, /Application not running: no web dynos are up for myapp/);
  assert.match(r.body, /slipway ps:scale web=1 -a myapp/);
  assert.match(r.body, /slipway logs -a myapp/);
  const line = await f.waitLog('code=H14');
  assert.match(line, /^at=error code=H14 desc="No web processes running" method=GET path="\/hello" host=myapp\.localhost request_id=\S+ fwd="127\.0\.0\.1" dyno= connect= service= status=503 bytes=\d+ protocol=http$/);
  assert.equal(f.logs[0].appId, 'app-1');
});

both('a refused connection moves on to the next dyno, and keeps the request body for it', async () => {
  const dead = await deadPort();
  const a = await backend('a', (req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => res.end(`a got ${body}`));
  });
  const f = await front([
    { dyno: 'web.1', port: dead },
    { dyno: 'web.2', port: a.port },
  ]);
  for (let i = 0; i < 4; i++) {
    const r = await get(f.port, '/', { 'Content-Type': 'text/plain' }, 'POST', `payload ${i}`);
    assert.equal(r.status, 200);
    assert.equal(r.body, `a got payload ${i}`);
  }
  assert.equal(a.hits, 4);
});

both('every dyno refusing connections: 503 and H10', async () => {
  const f = await front([
    { dyno: 'web.1', port: await deadPort() },
    { dyno: 'web.2', port: await deadPort() },
  ]);
  const r = await get(f.port);
  assert.equal(r.status, 503);
  assert.match(r.body, /Application error/);
  const line = await f.waitLog('code=H10');
  assert.match(line, /^at=error code=H10 desc="App crashed" method=GET path="\/" .* status=503 /);
});

both('a dyno that does not answer within responseTimeoutMs: 503 and H12', async () => {
  const slow = await backend('slow', (_req, res) => {
    const t = setTimeout(() => res.end('too late'), 5000);
    res.on('close', () => clearTimeout(t));
  });
  const f = await front([{ dyno: 'web.1', port: slow.port }], { responseTimeoutMs: 150 });
  const r = await get(f.port);
  assert.equal(r.status, 503);
  assert.match(r.body, /Request timeout/);
  const line = await f.waitLog('code=H12');
  assert.match(line, /^at=error code=H12 desc="Request timeout" .* dyno=web\.1 connect=\d+ms service=\d+ms status=503 /);
});

both('a dyno that closes the connection without answering: 503 and H13', async () => {
  const rude = await backend('rude', (req) => req.socket.destroy());
  const f = await front([{ dyno: 'web.1', port: rude.port }]);
  const r = await get(f.port);
  assert.equal(r.status, 503);
  const line = await f.waitLog('code=H13');
  assert.match(line, /desc="Connection closed without response" .* dyno=web\.1 /);
});

both('maintenance mode: 503 maintenance page and H80, nothing proxied', async () => {
  const a = await backend('a');
  const f = await front([{ dyno: 'web.1', port: a.port }]);
  f.target.maintenance = true;
  const r = await get(f.port);
  assert.equal(r.status, 503);
  assert.match(r.body, /maintenance/);
  assert.match(await f.waitLog('code=H80'), /desc="Maintenance mode"/);
  assert.equal(a.hits, 0);
});

both('a valid X-Request-Id is passed through; an invalid one is replaced by a UUID', async () => {
  const a = await backend('a');
  const f = await front([{ dyno: 'web.1', port: a.port }]);
  const id = 'abcDEF0123456789+/=-xyz';
  const kept = await get(f.port, '/', { 'X-Request-Id': id });
  assert.equal(echo(kept).headers['x-request-id'], id);
  assert.equal(kept.headers['x-request-id'], id);
  assert.ok((await f.waitLog(`request_id=${id} `)).length > 0);

  for (const bad of ['short', 'has spaces in it but is long enough', 'x'.repeat(201)]) {
    const r = await get(f.port, '/', { 'X-Request-Id': bad });
    const sent = echo(r).headers['x-request-id'];
    assert.match(String(sent), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(r.headers['x-request-id'], sent);
  }
  const fresh = await get(f.port);
  assert.match(String(fresh.headers['x-request-id']), /^[0-9a-f-]{36}$/);
});

both('X-Forwarded-*, Via and hop-by-hop headers reach the dyno as they should', async () => {
  const a = await backend('a', (req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json', Connection: 'close, X-Internal', 'X-Internal': 'secret', 'Keep-Alive': 'timeout=77' });
    res.end(JSON.stringify({ name: 'a', headers: req.headers, url: req.url }));
  });
  const f = await front([{ dyno: 'web.1', port: a.port }]);
  const r = await get(f.port, '/path?q=1', {
    'X-Forwarded-For': '203.0.113.7',
    'X-Forwarded-Proto': 'https', // a client may not claim TLS it did not use
    'X-Forwarded-Port': '1',
    Connection: 'keep-alive, X-Drop-Me',
    'X-Drop-Me': 'yes',
    'Keep-Alive': 'timeout=9',
    'X-Custom': 'kept',
  });
  const seen = echo(r).headers;
  assert.equal(echo(r).url, '/path?q=1');
  assert.equal(seen.host, HOST);
  assert.equal(seen['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
  assert.equal(seen['x-forwarded-proto'], 'http');
  assert.equal(seen['x-forwarded-port'], String(f.port));
  assert.equal(seen.via, '1.1 slipway');
  assert.match(String(seen['x-request-start']), /^\d{13}$/);
  assert.equal(seen['x-custom'], 'kept');
  assert.equal(seen['x-drop-me'], undefined);
  assert.equal(seen['keep-alive'], undefined);
  // And on the way back:
  assert.equal(r.headers['x-internal'], undefined);
  assert.notEqual(r.headers['keep-alive'], 'timeout=77');
  assert.equal(r.headers.via, '1.1 slipway');
  const line = await f.waitLog('at=info');
  assert.match(line, /^at=info method=GET path="\/path\?q=1" host=myapp\.localhost request_id=\S+ fwd="203\.0\.113\.7, 127\.0\.0\.1" dyno=web\.1 connect=\d+ms service=\d+ms status=200 bytes=\d+ protocol=http$/);
});

both('status, repeated headers and HEAD responses pass through', async () => {
  const a = await backend('a', (req, res) => {
    res.setHeader('Set-Cookie', ['one=1', 'two=2']);
    res.writeHead(req.method === 'HEAD' ? 200 : 418, 'Short And Stout', { 'Content-Length': '5' });
    res.end(req.method === 'HEAD' ? undefined : 'teapo');
  });
  const f = await front([{ dyno: 'web.1', port: a.port }]);
  const r = await get(f.port);
  assert.equal(r.status, 418);
  assert.deepEqual(r.headers['set-cookie'], ['one=1', 'two=2']);
  assert.equal(r.body, 'teapo');
  const h = await get(f.port, '/', {}, 'HEAD');
  assert.equal(h.status, 200);
  assert.equal(h.headers['content-length'], '5');
  assert.equal(h.body, '');
});

both('keep-alive clients get many responses over one connection', async () => {
  const a = await backend('a');
  const f = await front([{ dyno: 'web.1', port: a.port }]);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const sockets = new Set<net.Socket>();
  for (let i = 0; i < 20; i++) {
    await new Promise<void>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: f.port, agent, headers: { Host: HOST } }, (res) => {
        sockets.add(res.socket);
        res.resume();
        res.on('end', () => resolve());
      });
      req.on('error', reject);
      req.end();
    });
  }
  agent.destroy();
  assert.equal(sockets.size, 1);
});
