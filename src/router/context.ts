/** State and helpers shared by the HTTP and the Upgrade paths of one router. */
import type { ClientRequest } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { randomUUID } from 'node:crypto';
import type { RouterLogLine } from './types.js';
import type { ScannedRequest } from './headers.js';
import { clientAddress } from './headers.js';
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

export interface Prepared {
  facts: RequestFacts;
  /** Request headers for the dyno: the client's end-to-end headers plus the router's own. */
  headers: string[];
}

/** Builds the log facts and the forwarded request headers (X-Forwarded-*, X-Request-Id, Via). */
export function prepare(clientSocket: Socket, method: string, path: string, scan: ScannedRequest, hostname: string, start: number): Prepared {
  const socket = clientSocket as Socket & Partial<Pick<TLSSocket, 'encrypted'>>;
  const requestId = scan.requestId ?? randomUUID();
  const client = clientAddress(socket.remoteAddress);
  const fwd = scan.forwardedFor === undefined ? client : scan.forwardedFor + ', ' + client;
  const protocol = socket.encrypted === true ? 'https' : 'http';
  const headers = scan.headers;
  headers.push(
    'X-Request-Id', requestId,
    'X-Forwarded-For', fwd,
    'X-Forwarded-Proto', protocol,
    'X-Forwarded-Port', String(socket.localPort ?? ''),
    'Via', scan.via === undefined ? '1.1 slipway' : scan.via + ', 1.1 slipway',
    'X-Request-Start', String(start),
  );
  if (scan.chunked) headers.push('Transfer-Encoding', 'chunked');
  return {
    facts: { method, path, host: hostname, requestId, fwd, protocol },
    headers,
  };
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
