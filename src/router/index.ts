/**
 * The front door: maps the Host header to an app and proxies to its web dynos, round-robin.
 * The caller owns the HTTP(S) servers and offers every request here first.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RouterOptions } from './types.js';
import { scanRequest, hostnameOf, type ScannedRequest } from './headers.js';
import type { RouterContext } from './context.js';
import { serveHttp } from './http-proxy.js';
import { serveUpgrade } from './upgrade.js';
import { UpstreamPool } from './upstream.js';
import { DeadlineQueue } from './deadlines.js';

export type { Backend, RouteTarget, RouteTable, RouterLogLine, RouterOptions } from './types.js';

export interface Router {
  /** Returns false (and does nothing) when the Host matches no app, so the caller can serve the API instead. */
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean;
  /** Same contract for the server's 'upgrade' event. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** Closes idle and active backend connections and open tunnels. */
  close(): void;
}

export function createRouter(options: RouterOptions): Router {
  const connectTimeoutMs = options.connectTimeoutMs ?? 5000;
  const pool = new UpstreamPool(connectTimeoutMs);
  const responseTimeoutMs = options.responseTimeoutMs ?? 30000;
  const deadlines = new DeadlineQueue(responseTimeoutMs);
  const cursors = new Map<string, number>();
  const tunnels = new Set<Duplex>();
  const ctx: RouterContext = {
    pool,
    deadlines,
    log: options.log,
    connectTimeoutMs,
    responseTimeoutMs,
    next(appId) {
      const n = cursors.get(appId) ?? 0;
      cursors.set(appId, n >= 0x3fffffff ? 0 : n + 1);
      return n;
    },
  };

  function lookup(req: IncomingMessage): { scan: ScannedRequest; hostname: string; target: ReturnType<RouterOptions['table']['resolve']> } {
    const scan = scanRequest(req.rawHeaders);
    const hostname = scan.host === '' ? '' : hostnameOf(scan.host);
    return { scan, hostname, target: hostname === '' ? undefined : options.table.resolve(hostname) };
  }

  return {
    handleRequest(req, res) {
      const { scan, hostname, target } = lookup(req);
      if (target === undefined) return false;
      try {
        serveHttp(ctx, req, res, target, scan, hostname);
      } catch (err) {
        // A bug here must cost one request, not the whole server.
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end(`router error: ${(err as Error).message}\n`);
      }
      return true;
    },

    handleUpgrade(req, socket, head) {
      const { scan, hostname, target } = lookup(req);
      if (target === undefined) return false;
      try {
        serveUpgrade(ctx, tunnels, req, socket, head, target, scan, hostname);
      } catch {
        socket.destroy();
      }
      return true;
    },

    close() {
      pool.close();
      deadlines.close();
      for (const socket of tunnels) socket.destroy();
      tunnels.clear();
      cursors.clear();
    },
  };
}
