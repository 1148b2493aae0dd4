/**
 * The front door: maps the Host header to an app and proxies to its web dynos, round-robin.
 * The caller owns the listening servers. Connections should come to `serveConnection` first
 * (see `frontDoor`): the router reads app requests off them itself and hands every other
 * connection to Node's http.Server, where `handleRequest`/`handleUpgrade` take the app
 * requests that arrive that way (upgrades, HTTP/1.0, an app request after an API request on
 * the same connection).
 */
import type { IncomingMessage, ServerResponse, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { RouterOptions } from './types.js';
import { scanRequest, hostnameOf, proxyRequestOf, type ScannedRequest } from './headers.js';
import { clientInfo, type RouterContext } from './context.js';
import { serveHttp } from './http-proxy.js';
import { serveUpgrade } from './upgrade.js';
import { UpstreamPool } from './upstream.js';
import { DeadlineQueue } from './deadlines.js';
import { NodeDownstream } from './downstream.js';
import { ClientConnection, type ConnectionOwner } from './client-connection.js';

export type { Backend, RouteTarget, RouteTable, RouterLogLine, RouterOptions } from './types.js';

export interface Router {
  /**
   * Takes a new client connection (plain, or decrypted TLS). Requests for apps are served
   * here; at the first request that is not, the connection, with the bytes already read put
   * back, goes to `fallback` (typically an http.Server's connection handling).
   */
  serveConnection(socket: Socket, fallback: (socket: Socket) => void): void;
  /** Returns false (and does nothing) when the Host matches no app, so the caller can serve the API instead. */
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean;
  /** Same contract for the server's 'upgrade' event. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** Closes client connections it owns, idle and active backend connections and open tunnels. */
  close(): void;
}

export function createRouter(options: RouterOptions): Router {
  const connectTimeoutMs = options.connectTimeoutMs ?? 5000;
  const pool = new UpstreamPool(connectTimeoutMs);
  const responseTimeoutMs = options.responseTimeoutMs ?? 30000;
  const idleTimeoutMs = options.idleTimeoutMs ?? 60000;
  const deadlines = new DeadlineQueue(responseTimeoutMs);
  const cursors = new Map<string, number>();
  const tunnels = new Set<Duplex>();
  const connections = new Set<ClientConnection>();
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
  const owner: ConnectionOwner = {
    resolve: (hostname) => options.table.resolve(hostname),
    serve: (down, info, head, target, hostname) => serveHttp(ctx, down, info, head, target, hostname),
    forget: (conn) => connections.delete(conn),
  };
  // One sweep a second instead of a timer per connection re-armed on every request. A
  // connection counts as idle from the end of a response until the next head is complete, so
  // a client trickling a head byte by byte is cut off too.
  const sweeper = setInterval(() => {
    const oldest = Date.now() - idleTimeoutMs;
    for (const conn of connections) if (conn.idleSince !== 0 && conn.idleSince < oldest) conn.destroy();
  }, Math.min(1000, idleTimeoutMs));
  sweeper.unref();

  function lookup(req: IncomingMessage): { scan: ScannedRequest; hostname: string; target: ReturnType<RouterOptions['table']['resolve']> } {
    const scan = scanRequest(req.rawHeaders);
    const hostname = scan.host === '' ? '' : hostnameOf(scan.host);
    return { scan, hostname, target: hostname === '' ? undefined : options.table.resolve(hostname) };
  }

  return {
    serveConnection(socket, fallback) {
      connections.add(new ClientConnection(socket, owner, fallback));
    },

    handleRequest(req, res) {
      const { scan, hostname, target } = lookup(req);
      if (target === undefined) return false;
      try {
        const proxied = proxyRequestOf(req.method ?? 'GET', req.url ?? '/', scan);
        serveHttp(ctx, new NodeDownstream(req, res), clientInfo(req.socket), proxied, target, hostname);
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
      clearInterval(sweeper);
      for (const conn of connections) conn.destroy();
      connections.clear();
      pool.close();
      deadlines.close();
      for (const socket of tunnels) socket.destroy();
      tunnels.clear();
      cursors.clear();
    },
  };
}

/**
 * Puts the router in front of `server`, which keeps listening, tracking the connections it
 * is given and enforcing its timeouts: each accepted connection goes to
 * router.serveConnection, and to the server's own connection handling (as if just accepted)
 * once a request is not for an app.
 */
export function frontDoor(server: Server, router: Router): void {
  const own = server.listeners('connection') as Array<(socket: Socket) => void>;
  server.removeAllListeners('connection');
  const fallback = (socket: Socket): void => {
    for (const listener of own) listener.call(server, socket);
  };
  server.on('connection', (socket: Socket) => router.serveConnection(socket, fallback));
}
