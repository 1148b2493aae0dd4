/**
 * `Upgrade` requests (WebSocket and friends): forward the handshake to a dyno over a fresh
 * connection, then pipe raw bytes both ways until either side closes.
 */
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { RouteTarget } from './types.js';
import type { ScannedRequest } from './headers.js';
import { filterResponseHeaders } from './headers.js';
import { type RouterContext, prepare, watchConnect, noop } from './context.js';
import { type RouterErrorCode, infoLine, errorLine } from './log.js';
import { errorPage } from './pages.js';

/** Writes a raw HTTP/1.1 response head. `headers` are raw [name, value, …] pairs. */
function head(status: number, message: string, headers: string[]): string {
  let out = 'HTTP/1.1 ' + status + ' ' + message + '\r\n';
  for (let i = 0; i < headers.length; i += 2) out += headers[i] + ': ' + headers[i + 1] + '\r\n';
  return out + '\r\n';
}

export function serveUpgrade(
  ctx: RouterContext,
  tunnels: Set<Duplex>,
  req: IncomingMessage,
  socket: Duplex,
  early: Buffer,
  target: RouteTarget,
  scan: ScannedRequest,
  hostname: string,
): void {
  const start = Date.now();
  const { facts, headers } = prepare(req.socket, req.method ?? 'GET', req.url ?? '/', scan, hostname, start);
  headers.push('Connection', 'Upgrade');
  if (scan.upgrade !== undefined) headers.push('Upgrade', scan.upgrade);
  const log = (message: string) => ctx.log({ appId: target.appId, message });
  socket.on('error', noop); // a client reset is handled through 'close'

  const refuse = (code: RouterErrorCode, dyno: string) => {
    const body = errorPage(code, target.appName, facts.requestId);
    const length = Buffer.byteLength(body);
    if (socket.writable) {
      const h = ['Content-Type', 'text/html; charset=utf-8', 'Content-Length', String(length), 'Connection', 'close', 'X-Request-Id', facts.requestId, 'Via', '1.1 slipway'];
      socket.end(head(503, 'Service Unavailable', h) + body);
    }
    log(errorLine(code, facts, dyno, undefined, undefined, 503, length));
  };

  if (target.maintenance) return refuse('H80', '');
  const backends = target.backends();
  if (backends.length === 0) return refuse('H14', '');

  let index = ctx.next(target.appId);
  let tried = 0;
  let current: ClientRequest | undefined;
  let connected = false;
  let connectMs = 0;
  let done = false;
  let dyno = '';

  const finish = () => {
    done = true;
    clearTimeout(timer);
  };
  const timer = setTimeout(() => {
    if (done) return;
    finish();
    const r = current;
    current = undefined;
    r?.destroy();
    refuse('H12', connected ? dyno : '');
  }, ctx.responseTimeoutMs);

  socket.once('close', () => {
    if (done) return;
    finish();
    current?.destroy();
    log(errorLine('H27', facts, connected ? dyno : '', connected ? connectMs : undefined, undefined, 499, 0));
  });

  const attempt = () => {
    const backend = backends[index % backends.length];
    dyno = backend.dyno;
    connected = false;
    let proxyReq: ClientRequest;
    try {
      proxyReq = request({
        host: '127.0.0.1',
        port: backend.port,
        method: facts.method,
        path: facts.path,
        headers: headers as unknown as Record<string, string>,
        setHost: false,
        agent: false, // an upgraded connection never returns to a pool
      });
    } catch {
      finish();
      refuse('H13', dyno);
      return;
    }
    current = proxyReq;
    watchConnect(proxyReq, ctx.connectTimeoutMs, () => {
      connected = true;
      connectMs = Date.now() - start;
    });
    proxyReq.on('error', () => {
      if (proxyReq !== current || done) return;
      if (!connected && ++tried < backends.length) {
        index++;
        attempt();
        return;
      }
      finish();
      refuse(connected ? 'H13' : 'H10', tried > 1 ? '' : dyno);
    });
    proxyReq.on('upgrade', (proxyRes: IncomingMessage, upstream: Socket, upstreamHead: Buffer) => {
      if (done) {
        upstream.destroy();
        return;
      }
      finish();
      tunnel(tunnels, socket, early, proxyRes, upstream, upstreamHead, facts.requestId);
      log(infoLine(facts, dyno, connectMs, Date.now() - start - connectMs, 101, 0));
    });
    proxyReq.on('response', (proxyRes: IncomingMessage) => {
      // The dyno declined to upgrade: relay its ordinary response, then close.
      if (done) {
        proxyRes.destroy();
        return;
      }
      finish();
      const h = filterResponseHeaders(proxyRes.rawHeaders, facts.requestId);
      h.push('Connection', 'close');
      socket.write(head(proxyRes.statusCode ?? 502, proxyRes.statusMessage ?? '', h));
      let bytes = 0;
      proxyRes.on('data', (c: Buffer) => (bytes += c.length));
      proxyRes.pipe(socket);
      proxyRes.on('close', () => {
        if (!proxyRes.complete) socket.destroy();
        log(infoLine(facts, dyno, connectMs, Date.now() - start - connectMs, proxyRes.statusCode ?? 502, bytes));
      });
    });
    proxyReq.end();
  };
  attempt();
}

function tunnel(tunnels: Set<Duplex>, client: Duplex, early: Buffer, proxyRes: IncomingMessage, upstream: Socket, upstreamHead: Buffer, requestId: string): void {
  // The 101 head is relayed whole: its Connection/Upgrade headers are the point of it.
  const h = proxyRes.rawHeaders.slice();
  h.push('X-Request-Id', requestId, 'Via', '1.1 slipway');
  upstream.setNoDelay(true);
  upstream.setTimeout(0);
  const clientSocket = client as Partial<Socket>;
  clientSocket.setNoDelay?.(true);
  clientSocket.setTimeout?.(0);
  client.write(head(proxyRes.statusCode ?? 101, proxyRes.statusMessage ?? 'Switching Protocols', h));
  if (upstreamHead.length > 0) client.write(upstreamHead);
  if (early.length > 0) upstream.write(early);

  tunnels.add(client);
  upstream.on('error', noop);
  const closeBoth = () => {
    tunnels.delete(client);
    client.destroy();
    upstream.destroy();
  };
  client.once('close', closeBoth);
  upstream.once('close', closeBoth);
  upstream.pipe(client);
  client.pipe(upstream);
}
