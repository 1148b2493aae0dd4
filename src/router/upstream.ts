/**
 * The router's HTTP/1.1 client for dynos: a pool of kept-alive connections per port, each
 * with its socket listeners attached once, so a proxied request costs a write, a parse and
 * a few callbacks instead of a ClientRequest/IncomingMessage pair.
 */
import { connect, type Socket } from 'node:net';
import { ChunkedDecoder, CHUNKED, UNTIL_CLOSE, ProtocolError, parseHead, type ResponseHead } from './response-parser.js';

export class ConnectTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(ms: number) {
    super(`connecting to the dyno took longer than ${ms}ms`);
  }
}

/** How far an exchange got when its connection failed. */
export const NOT_CONNECTED = 0; // nothing reached the dyno: safe to try another
export const SENT = 1; // the request (or part of it) went out, no response yet
export const RESPONDING = 2; // the response head was received

const MAX_HEAD = 64 * 1024;
const BLANK_LINE = Buffer.from('\r\n\r\n');

/** Receives one response. Calls happen in order: onConnect, onHead, onData*, onEnd | onError. */
export interface UpstreamSink {
  onConnect(): void;
  onHead(head: ResponseHead): void;
  onData(chunk: Buffer): void;
  onEnd(): void;
  onError(err: Error, stage: number): void;
  /** The request body may be written again after write() returned false. */
  onDrain(): void;
}

export class Upstream {
  readonly socket: Socket;
  reused = false;
  lastUsed = 0;
  private connected = false;
  private connectTimer: NodeJS.Timeout | undefined;
  private sink: UpstreamSink | undefined;
  private stage = NOT_CONNECTED;
  private pending: Buffer | undefined;
  private headOnly = false;
  private chunkedRequest = false;
  private requestEnded = false;
  private responseEnded = false;
  private closeAfter = false;
  private remaining = 0;
  private mode = 0;
  private decoder: ChunkedDecoder | undefined;
  private lastError: Error | undefined;

  constructor(private readonly pool: UpstreamPool, readonly port: number) {
    // `onread` reads into the pool's one buffer and skips the Readable stream machinery
    // (push, 'data', read-more ticks) on every response; bytes kept past the call are copied.
    const onread = { buffer: pool.readBuffer, callback: this.onSocketRead };
    const socket = (this.socket = connect({ port, host: '127.0.0.1', noDelay: true, onread }));
    this.connectTimer = setTimeout(() => socket.destroy(new ConnectTimeoutError(pool.connectTimeoutMs)), pool.connectTimeoutMs);
    socket.on('connect', this.onSocketConnect);
    socket.on('drain', this.onSocketDrain);
    socket.on('end', this.onSocketEnd);
    socket.on('error', this.onSocketError);
    socket.on('close', this.onSocketClose);
  }

  /** Sends a request head; the body (if any) follows through write()/end(). */
  start(sink: UpstreamSink, head: string, headOnly: boolean, hasBody: boolean, chunked: boolean): void {
    this.sink = sink;
    this.headOnly = headOnly;
    this.chunkedRequest = chunked;
    this.requestEnded = !hasBody;
    this.responseEnded = false;
    this.closeAfter = false;
    this.pending = undefined;
    this.socket.write(head, 'latin1'); // queued by the socket until it is connected
    if (this.connected) {
      this.stage = SENT;
      sink.onConnect();
    } else {
      this.stage = NOT_CONNECTED;
    }
  }

  write(chunk: Buffer): boolean {
    const socket = this.socket;
    if (this.sink === undefined || socket.destroyed) return true;
    if (!this.chunkedRequest) return socket.write(chunk);
    if (chunk.length === 0) return true;
    socket.cork();
    socket.write(chunk.length.toString(16) + '\r\n', 'latin1');
    socket.write(chunk);
    const ok = socket.write('\r\n', 'latin1');
    socket.uncork();
    return ok;
  }

  end(): void {
    if (this.sink === undefined || this.requestEnded) return;
    if (this.chunkedRequest && !this.socket.destroyed) this.socket.write('0\r\n\r\n', 'latin1');
    this.requestEnded = true;
    this.settle();
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** Gives up on the exchange; the connection is not reused. */
  abort(): void {
    this.sink = undefined;
    this.socket.destroy();
  }

  private readonly onSocketConnect = (): void => {
    clearTimeout(this.connectTimer);
    this.connected = true;
    const sink = this.sink;
    if (sink !== undefined && this.stage === NOT_CONNECTED) {
      this.stage = SENT;
      sink.onConnect();
    }
  };

  private readonly onSocketRead = (nread: number): boolean => {
    if (this.sink === undefined) {
      // Bytes on an idle connection: the dyno is confused; do not reuse it.
      this.socket.destroy();
      return false;
    }
    // A view of the shared buffer, valid until this call returns.
    const buf = this.pool.readBuffer.subarray(0, nread);
    try {
      if (this.stage === RESPONDING) this.body(buf, 0);
      else this.head(buf);
    } catch (err) {
      this.fail(err as Error);
    }
    return true;
  };

  private head(buf: Buffer): void {
    let data = this.pending === undefined ? buf : Buffer.concat([this.pending, buf]);
    for (;;) {
      const end = data.indexOf(BLANK_LINE);
      if (end < 0) {
        if (data.length > MAX_HEAD) throw new ProtocolError('response head larger than 64 KiB');
        this.pending = Buffer.from(data); // `data` may be the shared read buffer
        return;
      }
      this.pending = undefined;
      const head = parseHead(data.toString('latin1', 0, end));
      const rest = end + 4;
      if (head.status < 200) {
        // 100 Continue, 103 Early Hints: informational, a final response follows.
        if (head.status === 101) throw new ProtocolError('101 Switching Protocols without an Upgrade request');
        data = data.subarray(rest);
        if (data.length === 0) return;
        continue;
      }
      const sink = this.sink!;
      this.stage = RESPONDING;
      this.closeAfter = head.close;
      const bodiless = this.headOnly || head.status === 204 || head.status === 304;
      this.mode = bodiless ? 0 : head.length;
      this.remaining = this.mode;
      if (this.mode === CHUNKED) (this.decoder ??= new ChunkedDecoder()).reset();
      sink.onHead(head);
      if (this.sink !== sink) return; // the sink aborted
      if (this.mode === 0) this.finish(rest < data.length);
      else if (rest < data.length) this.body(data, rest);
      return;
    }
  }

  private body(buf: Buffer, start: number): void {
    const sink = this.sink!;
    const mode = this.mode;
    if (mode > 0) {
      const available = buf.length - start;
      const take = available < this.remaining ? available : this.remaining;
      sink.onData(start === 0 && take === buf.length ? buf : buf.subarray(start, start + take));
      this.remaining -= take;
      if (this.remaining === 0 && this.sink === sink) this.finish(take < available);
    } else if (mode === CHUNKED) {
      const used = this.decoder!.feed(buf, start, sink.onData.bind(sink));
      if (used >= 0 && this.sink === sink) this.finish(start + used < buf.length);
    } else if (mode === UNTIL_CLOSE) {
      sink.onData(start === 0 ? buf : buf.subarray(start));
    }
  }

  private finish(extraBytes: boolean): void {
    this.responseEnded = true;
    if (extraBytes) this.closeAfter = true;
    const sink = this.sink!;
    // A response that ends before the request body was sent leaves the connection mid-request.
    if (!this.requestEnded) this.closeAfter = true;
    sink.onEnd();
    this.settle();
  }

  /** Returns the connection to the pool once both directions are done. */
  private settle(): void {
    if (!this.responseEnded || this.sink === undefined) return;
    if (!this.requestEnded && !this.closeAfter) return;
    this.sink = undefined;
    if (this.closeAfter || this.socket.destroyed) this.socket.destroy();
    else this.pool.release(this);
  }

  private fail(err: Error): void {
    const sink = this.sink;
    this.sink = undefined;
    this.socket.destroy();
    sink?.onError(err, this.stage);
  }

  private readonly onSocketDrain = (): void => {
    this.sink?.onDrain();
  };

  private readonly onSocketEnd = (): void => {
    if (this.sink !== undefined && this.stage === RESPONDING && this.mode === UNTIL_CLOSE) this.finish(false);
  };

  private readonly onSocketError = (err: Error): void => {
    this.lastError = err;
  };

  private readonly onSocketClose = (): void => {
    clearTimeout(this.connectTimer);
    this.pool.remove(this);
    if (this.sink !== undefined) this.fail(this.lastError ?? new Error('the dyno closed the connection'));
  };
}

/** Idle connections per dyno port, most recently used first. */
export class UpstreamPool {
  /** Every dyno connection reads into this buffer; the router is one thread. */
  readonly readBuffer = Buffer.allocUnsafe(64 * 1024);
  private readonly idle = new Map<number, Upstream[]>();
  private readonly all = new Set<Upstream>();
  private readonly sweeper: NodeJS.Timeout;

  /**
   * `idleMs` stays below Node's default server keepAliveTimeout (5 s) so the router drops an
   * idle connection before the dyno does, rather than racing it.
   */
  constructor(readonly connectTimeoutMs: number, readonly idleMs = 4000, readonly maxIdlePerPort = 512) {
    this.sweeper = setInterval(() => this.sweep(), 1000);
    this.sweeper.unref();
  }

  acquire(port: number): Upstream {
    const list = this.idle.get(port);
    if (list !== undefined) {
      const oldest = Date.now() - this.idleMs;
      for (let c = list.pop(); c !== undefined; c = list.pop()) {
        if (c.lastUsed > oldest && !c.socket.destroyed) {
          c.reused = true;
          return c;
        }
        c.socket.destroy();
      }
    }
    const c = new Upstream(this, port);
    this.all.add(c);
    return c;
  }

  release(c: Upstream): void {
    c.lastUsed = Date.now();
    let list = this.idle.get(c.port);
    if (list === undefined) this.idle.set(c.port, (list = []));
    list.push(c);
    if (list.length > this.maxIdlePerPort) list.shift()!.socket.destroy();
  }

  remove(c: Upstream): void {
    this.all.delete(c);
    const list = this.idle.get(c.port);
    if (list === undefined) return;
    const i = list.indexOf(c);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.idle.delete(c.port);
  }

  private sweep(): void {
    const oldest = Date.now() - this.idleMs;
    for (const list of this.idle.values()) {
      // Lists are in release order: the stale ones are at the front.
      while (list.length > 0 && list[0].lastUsed <= oldest) list.shift()!.socket.destroy();
    }
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const c of this.all) c.socket.destroy();
    this.all.clear();
    this.idle.clear();
  }
}
