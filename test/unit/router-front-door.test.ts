/**
 * The router's own connection handling (`frontDoor` / `serveConnection`) on raw sockets:
 * pipelining, keep-alive rules, hand-off to Node's http.Server at request boundaries (API
 * requests, and the requests the router leaves to Node's parser), idle timeouts, and the TLS
 * listener's X-Forwarded-Proto.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { createRouter, frontDoor, type RouterLogLine } from '../../src/router/index.js';
import { loadOrCreateTls } from '../../src/tls/certificates.js';

const HOST = 'myapp.localhost';
const closers: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of closers.reverse()) await c();
});

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

/** A dyno that answers `<method> <url> <body>` and the headers it saw as X-Seen-*. */
async function dyno(): Promise<number> {
  const server = http.createServer((req, res) => {
    if (req.url === '/early') {
      res.end('early'); // without reading the upload
      return;
    }
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const text = `${req.method} ${req.url} ${body}`;
      res.writeHead(200, { 'X-Seen-Proto': String(req.headers['x-forwarded-proto']), 'X-Seen-Te': String(req.headers['transfer-encoding']), 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    });
  });
  const port = await listen(server);
  closers.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return port;
}

async function front(options: { idleTimeoutMs?: number; maintenance?: boolean } = {}): Promise<{ port: number; logs: RouterLogLine[]; router: ReturnType<typeof createRouter> }> {
  const port = await dyno();
  const logs: RouterLogLine[] = [];
  const target = { appId: 'app-1', appName: 'myapp', maintenance: options.maintenance ?? false, backends: () => [{ dyno: 'web.1', port }] };
  const router = createRouter({ table: { resolve: (h) => (h === HOST ? target : undefined) }, log: (l) => logs.push(l), idleTimeoutMs: options.idleTimeoutMs });
  const server = http.createServer((req, res) => {
    if (router.handleRequest(req, res)) return;
    res.writeHead(404, { 'Content-Type': 'text/plain', 'Content-Length': '12' });
    res.end('api fallback');
  });
  frontDoor(server, router);
  const frontPort = await listen(server);
  closers.push(() => {
    router.close();
    server.closeAllConnections();
    server.close();
  });
  return { port: frontPort, logs, router };
}

/** Sends `data` on one connection and collects everything until the server closes it (or `until` matches). */
function exchange(port: number, data: string | string[], until?: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts = Array.isArray(data) ? data : [data];
    const s = net.connect(port, '127.0.0.1', async () => {
      for (const p of parts) {
        s.write(p);
        await new Promise((r) => setTimeout(r, 20));
      }
    });
    let text = '';
    s.setEncoding('latin1');
    s.on('data', (d) => {
      text += d;
      if (until?.test(text)) s.destroy();
    });
    s.on('close', () => resolve(text));
    s.on('error', reject);
    setTimeout(() => s.destroy(), 5000).unref();
  });
}

const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: ${HOST}\r\n${extra}\r\n`;
const count = (text: string, re: RegExp) => (text.match(re) ?? []).length;

test('pipelined requests are answered in order on the same connection', async () => {
  const f = await front();
  const text = await exchange(f.port, get('/1') + get('/2') + `POST /3 HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 4\r\n\r\nbody` + get('/4', 'Connection: close\r\n'));
  assert.equal(count(text, /HTTP\/1\.1 200 /g), 4);
  const bodies = [...text.matchAll(/(GET|POST) \/\d[^H]*/g)].map((m) => m[0].trim());
  assert.deepEqual(bodies, ['GET /1', 'GET /2', 'POST /3 body', 'GET /4']);
  assert.match(text, /Connection: close\r\n/);
});

test('a chunked upload, then another request in the same packet', async () => {
  const f = await front();
  const text = await exchange(f.port, `PUT /up HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n` + get('/next', 'Connection: close\r\n'));
  assert.match(text, /X-Seen-Te: chunked/);
  assert.match(text, /PUT \/up abcde/);
  assert.match(text, /GET \/next/);
});

test('the connection goes to the http.Server when a request is not for an app, and app requests still work there', async () => {
  const f = await front();
  const text = await exchange(f.port, [get('/app'), `GET /api HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, get('/app-again', 'Connection: close\r\n')]);
  assert.match(text, /^HTTP\/1\.1 200 [\s\S]*GET \/app[\s\S]*HTTP\/1\.1 404 [\s\S]*api fallback[\s\S]*HTTP\/1\.1 200 [\s\S]*GET \/app-again/);
  assert.equal(f.logs.length, 2);
});

test('requests left to Node: HTTP/1.0, Expect: 100-continue, oversized heads, garbage', async () => {
  const f = await front();
  const old = await exchange(f.port, `GET /old HTTP/1.0\r\nHost: ${HOST}\r\n\r\n`);
  assert.match(old, /^HTTP\/1\.1 200 [\s\S]*GET \/old/);
  const cont = await exchange(f.port, [`POST /c HTTP/1.1\r\nHost: ${HOST}\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\n`, 'hi']);
  assert.match(cont, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 [\s\S]*POST \/c hi/);
  const big = await exchange(f.port, `GET / HTTP/1.1\r\nHost: ${HOST}\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`);
  assert.match(big, /^HTTP\/1\.1 431 /);
  assert.match(await exchange(f.port, `GET / HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n`), /^HTTP\/1\.1 400 /);
  assert.match(await exchange(f.port, `GET /\x01 HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`), /^HTTP\/1\.1 400 /);
});

test('a response that ends before the upload does: the rest is dropped and the connection goes on', async () => {
  const f = await front();
  const text = await exchange(f.port, [`POST /early HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 10\r\n\r\n12345`, '67890' + get('/after', 'Connection: close\r\n')]);
  assert.match(text, /early[\s\S]*HTTP\/1\.1 200 [\s\S]*GET \/after $/);
});

test('HEAD gets no body, not even on a 503 page', async () => {
  const f = await front({ maintenance: true });
  const text = await exchange(f.port, `HEAD / HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`);
  assert.match(text, /^HTTP\/1\.1 503 Service Unavailable\r\n[\s\S]*Content-Length: \d+\r\n[\s\S]*\r\n\r\n$/);
  assert.match(f.logs[0].message, /code=H80/);
});

test('idle connections are closed after idleTimeoutMs; so are half-sent heads', async () => {
  const f = await front({ idleTimeoutMs: 300 });
  const started = Date.now();
  const text = await exchange(f.port, get('/idle'));
  assert.match(text, /GET \/idle/);
  assert.ok(Date.now() - started >= 250);
  const half = await exchange(f.port, `GET / HTTP/1.1\r\nHost: ${HOST}\r\n`);
  assert.equal(half, '');
});

test('router.close() closes the client connections the router owns', async () => {
  const f = await front();
  const closed = exchange(f.port, get('/x'), /GET \/x/).then(() => 'closed');
  const s = net.connect(f.port, '127.0.0.1', () => s.write(get('/y')));
  await new Promise((r) => s.once('data', r));
  const gone = new Promise((r) => s.on('close', r));
  f.router.close();
  await gone;
  assert.equal(await closed, 'closed');
});

test('on a TLS listener the dyno sees X-Forwarded-Proto https', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-router-tls-'));
  closers.push(() => rmSync(dir, { recursive: true, force: true }));
  const material = loadOrCreateTls(dir, ['localhost', '127.0.0.1']);
  const port = await dyno();
  const target = { appId: 'a', appName: 'myapp', maintenance: false, backends: () => [{ dyno: 'web.1', port }] };
  const router = createRouter({ table: { resolve: (h) => (h === HOST ? target : undefined) }, log: () => {} });
  const decrypted = http.createServer((_req, res) => res.end('api'));
  const server = tls.createServer({ key: material.keyPem, cert: material.certPem }, (socket) => router.serveConnection(socket, (s) => decrypted.emit('connection', s)));
  const tlsPort = await listen(server);
  closers.push(() => {
    router.close();
    server.close();
  });
  const text = await new Promise<string>((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: tlsPort, ca: material.caPem }, () => s.write(get('/secure') + 'GET /api HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'));
    let t = '';
    s.on('data', (d) => (t += d));
    s.on('close', () => resolve(t));
    s.on('error', reject);
  });
  assert.match(text, /X-Seen-Proto: https[\s\S]*GET \/secure[\s\S]*\r\n\r\napi$/);
});
