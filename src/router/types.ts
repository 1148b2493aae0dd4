/** The router's contract with the rest of Slipway (the composition root supplies the table). */

/** A web dyno that is up and listening on 127.0.0.1:port. */
export interface Backend {
  dyno: string;
  port: number;
}

/** What a hostname routes to. `backends()` is read again for every request. */
export interface RouteTarget {
  appId: string;
  appName: string;
  maintenance: boolean;
  backends(): Backend[];
}

export interface RouteTable {
  /** `hostname` is lower-case, without a port and without a trailing dot. */
  resolve(hostname: string): RouteTarget | undefined;
}

/** One line per request, in Heroku's router format; the caller adds timestamp and source. */
export interface RouterLogLine {
  appId: string;
  message: string;
}

export interface RouterOptions {
  table: RouteTable;
  log(line: RouterLogLine): void;
  /** How long a new backend connection may take before the next dyno is tried (default 5000). */
  connectTimeoutMs?: number;
  /** How long the dyno may take to start its response before the client gets H12 (default 30000). */
  responseTimeoutMs?: number;
  /** How long a client connection the router reads itself may sit between requests (default 60000). */
  idleTimeoutMs?: number;
}
