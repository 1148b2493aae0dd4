/**
 * The router's own pieces: header scanning, request ids, the dyno response parser (also
 * against raw-socket dynos that frame responses in the less common ways).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { scanRequest, hostnameOf, validRequestId, eqi } from '../../src/router/headers.js';
import { parseHead, ChunkedDecoder, CHUNKED, UNTIL_CLOSE, ProtocolError } from '../../src/router/response-parser.js';
import { createRouter, frontDoor } from '../../src/router/index.js';
import { headerPairs } from '../../src/router/head-text.js';
import { parseRequestHead } from '../../src/router/request-head.js';

const HOST = 'myapp.localhost';
const closers: Array<() => void> = [];
after(() => closers.forEach((c) => c()));

test('header names compare without regard to case', () => {
  assert.ok(eqi('Content-Length', 'content-length'));
  assert.ok(eqi('X-REQUEST-ID', 'x-request-id'));
  assert.ok(!eqi('Content-Lengt', 'content-length'));
  assert.ok(!eqi('Accept', 'expect'));
});

test('scanRequest keeps end-to-end headers and takes out the ones the router owns', () => {
  const scan = scanRequest([
    'Host', 'A.example', 'Connection', 'keep-alive, X-Hop', 'X-Hop', '1', 'Keep-Alive', 'timeout=5', 'TE', 'trailers',
    'X-Forwarded-For', '10.0.0.1', 'X-Forwarded-Proto', 'https', 'Via', '1.0 corp', 'Transfer-Encoding', 'chunked',
    'Accept', '*/*', 'X-Request-Id', 'abcdefghij0123456789',
  ]);
  assert.deepEqual(scan.headers, ['Host', 'A.example', 'Accept', '*/*']);
  assert.equal(scan.host, 'A.example');
  assert.equal(scan.forwardedFor, '10.0.0.1');
  assert.equal(scan.via, '1.0 corp');
  assert.equal(scan.requestId, 'abcdefghij0123456789');
  assert.ok(scan.hasBody && scan.chunked);
  assert.equal(scanRequest(['Host', 'a', 'Content-Length', '0']).hasBody, false);
  assert.equal(scanRequest(['Host', 'a', 'Content-Length', '3']).hasBody, true);
});

test('hostnameOf strips port, case and a trailing dot', () => {
  assert.equal(hostnameOf('MyApp.Example.COM:8080'), 'myapp.example.com');
  assert.equal(hostnameOf('myapp.localhost.'), 'myapp.localhost');
  assert.equal(hostnameOf('[::1]:80'), '[::1]');
});

test('request ids follow Heroku rules', () => {
  assert.ok(validRequestId('a'.repeat(20)));
  assert.ok(validRequestId('A-z0+9/='.padEnd(200, 'x')));
  assert.ok(!validRequestId('a'.repeat(19)));
  assert.ok(!validRequestId('a'.repeat(201)));
  assert.ok(!validRequestId('a'.repeat(19) + '_'));
});

test('parseHead reads status, headers and framing', () => {
  const h = parseHead('HTTP/1.1 201 Created\r\nContent-Length: 12\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nX-Request-Id: theirs');
  assert.equal(h.status, 201);
  assert.equal(h.message, 'Created');
  assert.equal(h.length, 12);
  assert.equal(h.close, false);
  assert.deepEqual(headerPairs(h.lines), ['Content-Length', '12', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2']);

  const c = parseHead('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5');
  assert.equal(c.length, CHUNKED);
  assert.deepEqual(headerPairs(c.lines), []);

  const e = parseHead('HTTP/1.0 200 OK\r\nContent-Type: text/plain');
  assert.equal(e.length, UNTIL_CLOSE);
  assert.equal(e.close, true);
  assert.equal(parseHead('HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive').close, false);
  assert.equal(parseHead('HTTP/1.1 204').message, '');

  const listed = parseHead('HTTP/1.1 200 OK\r\nConnection: close, X-Secret\r\nX-Secret: 1\r\nContent-Length: 0');
  assert.equal(listed.close, true);
  assert.deepEqual(headerPairs(listed.lines), ['Content-Length', '0']);

  for (const bad of ['HTTP/2 200 OK', 'HTTP/1.1 2000 OK', 'ICY 200 OK', 'HTTP/1.1 200 OK\r\nNoColon', 'HTTP/1.1 200 OK\r\n folded: x', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2', 'HTTP/1.1 200 OK\r\nContent-Length: -1']) {
    assert.throws(() => parseHead(bad), ProtocolError, bad);
  }
});

test('response header lines are relayed as sent, minus the hop-by-hop ones; bad characters are flagged', () => {
  const h = parseHead('HTTP/1.1 200 OK\r\nX-A:  spaced  \r\nKeep-Alive: timeout=5\r\nX-B: 2\r\nConnection: keep-alive');
  assert.equal(h.lines, 'X-A:  spaced  \r\nX-B: 2\r\n');
  assert.equal(h.invalid, false);
  for (const bad of ['X-A: a\nInjected: 1', 'X-A: a\rb', 'X-A: \x01', 'Bad Name: 1', 'X-A: \x7f']) {
    assert.equal(parseHead(`HTTP/1.1 200 OK\r\n${bad}\r\nContent-Length: 0`).invalid, true, JSON.stringify(bad));
  }
  assert.equal(parseHead('HTTP/1.1 200 OK\r\nX-Latin: caf\xe9\tok').invalid, false);
});

test('request heads: the dyno gets the client lines as sent, without the ones the router owns', () => {
  const text = [
    'POST /a?b=1 HTTP/1.1', 'Host: app.localhost', 'X-Forwarded-For: 10.0.0.1', 'Connection: keep-alive, X-Hop', 'X-Hop: 1',
    'Accept:  */*', 'X-Request-Id: abcdefghij0123456789', 'Via: 1.0 corp', 'Transfer-Encoding: chunked', 'Keep-Alive: 5', 'X-Last: z',
  ].join('\r\n');
  const head = parseRequestHead(text)!;
  assert.equal(head.forward, 'POST /a?b=1 HTTP/1.1\r\nHost: app.localhost\r\nAccept:  */*\r\nX-Last: z\r\n');
  assert.equal(head.host, 'app.localhost');
  assert.equal(head.forwardedFor, '10.0.0.1');
  assert.equal(head.via, '1.0 corp');
  assert.equal(head.requestId, 'abcdefghij0123456789');
  assert.ok(head.chunked && head.hasBody && head.length === CHUNKED && !head.close);
  assert.equal(parseRequestHead('GET / HTTP/1.1\r\nHost: a\r\nConnection: close')!.close, true);
  // Left to Node's parser: bare line feeds, control characters, a name that is not a token.
  for (const bad of ['X: a\nY: b', 'X: \x00', 'Bad Name: 1']) assert.equal(parseRequestHead(`GET / HTTP/1.1\r\nHost: a\r\n${bad}`), undefined);
});

test('the chunked decoder handles any split of its input', () => {
  const wire = Buffer.from('5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nTrailer: x\r\n\r\nNEXT');
  for (const step of [1, 2, 3, 7, wire.length]) {
    const d = new ChunkedDecoder();
    const out: Buffer[] = [];
    let used = -1;
    let offset = 0;
    for (let i = 0; i < wire.length && used < 0; i += step) {
      const piece = wire.subarray(i, Math.min(i + step, wire.length));
      used = d.feed(piece, 0, (c) => out.push(Buffer.from(c)));
      offset = i;
      if (used >= 0) used += offset;
    }
    assert.equal(Buffer.concat(out).toString(), 'hello, world', `step ${step}`);
    assert.equal(wire.subarray(used).toString(), 'NEXT', `step ${step}`);
  }
  assert.throws(() => new ChunkedDecoder().feed(Buffer.from('zz\r\n'), 0, () => {}), ProtocolError);
  assert.throws(() => new ChunkedDecoder().feed(Buffer.from('1\r\nab\r\n'), 0, () => {}), ProtocolError);
});

/** A dyno speaking raw HTTP: `reply` gets each request head and writes what it likes. */
async function rawDyno(reply: (socket: net.Socket, head: string) => void): Promise<{ port: number; connections: () => number }> {
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    let buf = '';
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        reply(socket, head);
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  closers.push(() => server.close());
  closers.push(() => server.unref());
  return { port: (server.address() as AddressInfo).port, connections: () => connections };
}

async function routerTo(port: number): Promise<number> {
  const target = { appId: 'a', appName: 'myapp', maintenance: false, backends: () => [{ dyno: 'web.1', port }] };
  const router = createRouter({ table: { resolve: (h) => (h === HOST ? target : undefined) }, log: () => {} });
  const server = http.createServer((req, res) => {
    if (!router.handleRequest(req, res)) res.writeHead(404).end();
  });
  frontDoor(server, router);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  closers.push(() => {
    router.close();
    server.closeAllConnections();
    server.close();
  });
  return (server.address() as AddressInfo).port;
}

function fetchText(port: number, method = 'GET'): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, agent: false, headers: { Host: HOST } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

test('a close-delimited response is relayed whole', async () => {
  const dyno = await rawDyno((socket) => socket.end('HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end'));
  const r = await fetchText(await routerTo(dyno.port));
  assert.equal(r.status, 200);
  assert.equal(r.body, 'until the end');
});

test('informational responses are skipped and the final one relayed', async () => {
  const dyno = await rawDyno((socket) => socket.write('HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
  const r = await fetchText(await routerTo(dyno.port));
  assert.equal(r.status, 200);
  assert.equal(r.body, 'ok');
});

test('dyno connections are kept alive and reused across requests', async () => {
  const dyno = await rawDyno((socket, head) => {
    const body = head.startsWith('HEAD') ? '' : 'hi';
    socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n${body}`);
  });
  const port = await routerTo(dyno.port);
  for (let i = 0; i < 5; i++) assert.equal((await fetchText(port)).body, 'hi');
  assert.equal((await fetchText(port, 'HEAD')).headers['content-length'], '2');
  assert.equal((await fetchText(port)).body, 'hi');
  assert.equal(dyno.connections(), 1);
});

test('a garbled response gives the client a 503, not a hang', async () => {
  const dyno = await rawDyno((socket) => socket.write('SMTP ready\r\n\r\n'));
  const r = await fetchText(await routerTo(dyno.port));
  assert.equal(r.status, 503);
});
