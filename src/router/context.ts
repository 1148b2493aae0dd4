/** State and helpers shared by the HTTP and the Upgrade paths of one router. */
import type { ClientRequest } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { randomUUID } from 'node:crypto';
import type { RouterLogLine } from './types.js';
import { clientAddress, type ScannedRequest, type ProxyRequest } from './headers.js';
import type { RequestFacts } from './log.js';
import type { UpstreamPool } from './upstream.js';
import type { DeadlineQueue } from './deadlines.js';

export interface RouterContext {
  pool: UpstreamPool;
  /** Response deadlines of in-flight HTTP requests (responseTimeoutMs). */
  deadlines: DeadlineQueue;
  log(line: RouterLogLine): void;
  connectTimeoutMs: number;
  responseTimeoutMs: number;
  /** Round-robin position for an app: a counter that grows by one per request. */
  next(appId: string): number;
}

/** What the router adds to requests from one client connection, worked out once per connection. */
export interface ClientInfo {
  /** The client's address as X-Forwarded-For and the log line show it. */
  address: string;
  protocol: string;
  /** The X-Forwarded-Proto and X-Forwarded-Port header lines. */
  lines: string;
}

export function clientInfo(clientSocket: Socket): ClientInfo {
  const socket = clientSocket as Socket & Partial<Pick<TLSSocket, 'encrypted'>>;
  const protocol = socket.encrypted === true ? 'https' : 'http';
  const lines = 'X-Forwarded-Proto: ' + protocol + '\r\nX-Forwarded-Port: ' + (socket.localPort ?? '') + '\r\n';
  return { address: clientAddress(socket.remoteAddress), protocol, lines };
}

/** The log facts of a request; a request id is made up when the client sent no usable one. */
export function factsOf(info: ClientInfo, req: Pick<ProxyRequest, 'method' | 'path' | 'requestId' | 'forwardedFor'>, hostname: string): RequestFacts {
  const fwd = req.forwardedFor === undefined ? info.address : req.forwardedFor + ', ' + info.address;
  return { method: req.method, path: req.path, host: hostname, requestId: req.requestId ?? randomUUID(), fwd, protocol: info.protocol };
}

/** The request head for the dyno: the client's lines plus X-Forwarded-*, X-Request-Id and Via. */
export function upstreamHead(req: ProxyRequest, facts: RequestFacts, info: ClientInfo, start: number): string {
  return (
    req.forward +
    'X-Request-Id: ' + facts.requestId +
    '\r\nX-Forwarded-For: ' + facts.fwd + '\r\n' +
    info.lines +
    'Via: ' + (req.via === undefined ? '1.1 slipway' : req.via + ', 1.1 slipway') +
    '\r\nX-Request-Start: ' + start +
    (req.chunked ? '\r\nTransfer-Encoding: chunked\r\n\r\n' : '\r\n\r\n')
  );
}

export interface Prepared {
  facts: RequestFacts;
  /** Request headers for the dyno: the client's end-to-end headers plus the router's own. */
  headers: string[];
}

/** Builds the log facts and the forwarded request headers of an Upgrade request. */
export function prepare(clientSocket: Socket, method: string, path: string, scan: ScannedRequest, hostname: string, start: number): Prepared {
  const info = clientInfo(clientSocket);
  const facts = factsOf(info, { method, path, requestId: scan.requestId, forwardedFor: scan.forwardedFor }, hostname);
  const headers = scan.headers;
  headers.push(
    'X-Request-Id', facts.requestId,
    'X-Forwarded-For', facts.fwd,
    'X-Forwarded-Proto', info.protocol,
    'X-Forwarded-Port', String(clientSocket.localPort ?? ''),
    'Via', scan.via === undefined ? '1.1 slipway' : scan.via + ', 1.1 slipway',
    'X-Request-Start', String(start),
  );
  if (scan.chunked) headers.push('Transfer-Encoding', 'chunked');
  return { facts, headers };
}

import { ConnectTimeoutError } from './upstream.js';
export { ConnectTimeoutError };

/**
 * Calls `onConnected` once the request's socket is connected: at once for a reused
 * keep-alive socket, after 'connect' for a new one (destroying the request if that takes
 * longer than `timeoutMs`). An error before this point means nothing reached the dyno.
 */
export function watchConnect(proxyReq: ClientRequest, timeoutMs: number, onConnected: () => void): void {
  proxyReq.once('socket', (socket: Socket) => {
    if (!socket.connecting) {
      onConnected();
      return;
    }
    const timer = setTimeout(() => proxyReq.destroy(new ConnectTimeoutError(timeoutMs)), timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      onConnected();
    });
    socket.once('close', () => clearTimeout(timer));
  });
}

export function noop(): void {}
