/**
 * The router's front door for one client connection (plain TCP or decrypted TLS). It reads
 * request heads itself and serves requests for apps without Node's http.Server, whose
 * per-request objects cost more than the proxying (see bench/router). At a request boundary
 * where the next request is not one it serves (another Host, such as the API or git; or a
 * request request-head.ts declines), it hands the rest of the connection, bytes already read
 * included, to the fallback: Node's http.Server, as if the connection had just been accepted.
 *
 * One request at a time: pipelined requests wait, unread, until the response before them has
 * been written, so responses go out in order and a hand-off never splits a response.
 */
import type { Socket } from 'node:net';
import type { RouteTarget } from './types.js';
import { hostnameOf } from './headers.js';
import { ChunkedDecoder, CHUNKED } from './response-parser.js';
import { parseRequestHead, MAX_REQUEST_HEAD, type RequestHead } from './request-head.js';
import { RawDownstream, type RawConnection } from './raw-downstream.js';
import { clientInfo, type ClientInfo } from './context.js';

/** What a connection needs from its router. */
export interface ConnectionOwner {
  resolve(hostname: string): RouteTarget | undefined;
  serve(down: RawDownstream, info: ClientInfo, head: RequestHead, target: RouteTarget, hostname: string): void;
  /** The connection closed or was handed off: the router no longer owns it. */
  forget(conn: ClientConnection): void;
}

const HEAD = 0; // waiting for a request head
const BODY = 1; // receiving the current request's body
const DONE = 2; // the request is in; its response is under way

/** Bytes of pipelined requests held while a response is under way, before reading stops. */
const HOLD_LIMIT = 64 * 1024;
const BLANK_LINE = Buffer.from('\r\n\r\n');

function noop(): void {}

export class ClientConnection implements RawConnection {
  /** When the connection last became idle (waiting for a request); 0 while serving one. */
  idleSince = Date.now();
  private state = HEAD;
  /** Bytes received and not used yet: (part of) the next request head. */
  private pending: Buffer | undefined;
  /** The request being served, until both its body and its response are done. */
  private current: RawDownstream | undefined;
  private bodyLeft = 0;
  private chunkedBody = false;
  private decoder: ChunkedDecoder | undefined;
  private closeAfter = false;
  private clientEnded = false;
  private paused = false;
  private parseScheduled = false;
  /** The same for every request on the connection; worked out at the first. */
  private info: ClientInfo | undefined;
  private lastHost = '';
  private hostname = '';

  constructor(
    readonly socket: Socket,
    private readonly owner: ConnectionOwner,
    private readonly fallback: (socket: Socket) => void,
  ) {
    socket.setNoDelay(true);
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('drain', this.onDrain);
    socket.on('error', noop); // a reset is handled through 'close'
    socket.on('close', this.onClose);
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.state === BODY) {
      this.feedBody(chunk, 0);
      return;
    }
    this.pending = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
    if (this.current === undefined) this.parse();
    else if (this.pending.length > HOLD_LIMIT) this.hold(); // read on once the response is out
  };

  /** Serves the request at the start of `pending`, if it is complete. */
  private parse(): void {
    const buf = this.pending;
    if (buf === undefined || this.current !== undefined || this.state !== HEAD) return;
    const end = buf.indexOf(BLANK_LINE);
    if (end < 0) {
      if (buf.length > MAX_REQUEST_HEAD) this.handOff(); // Node answers 431
      else if (this.clientEnded) this.socket.end(); // a head that will never be complete
      return;
    }
    const head = end <= MAX_REQUEST_HEAD ? parseRequestHead(buf.toString('latin1', 0, end)) : undefined;
    if (head === undefined) return this.handOff();
    // Clients send the same Host on every request: reuse the normalised name (its hash too).
    if (head.host !== this.lastHost) {
      this.lastHost = head.host;
      this.hostname = hostnameOf(head.host);
    }
    const hostname = this.hostname;
    const target = this.owner.resolve(hostname);
    if (target === undefined) return this.handOff();

    this.pending = end + 4 < buf.length ? buf.subarray(end + 4) : undefined;
    this.idleSince = 0;
    this.closeAfter = head.close;
    const down = (this.current = new RawDownstream(this, head.method === 'HEAD', head.close));
    if (head.length === 0) {
      this.state = DONE;
      down.bodyEnd();
    } else {
      this.state = BODY;
      this.chunkedBody = head.length === CHUNKED;
      this.bodyLeft = head.length;
      if (this.chunkedBody) (this.decoder ??= new ChunkedDecoder()).reset();
    }
    try {
      this.owner.serve(down, (this.info ??= clientInfo(this.socket)), head, target, hostname);
    } catch {
      // A bug here must cost one connection, not the whole server.
      this.socket.destroy();
      return;
    }
    if (this.state === BODY && this.pending !== undefined) {
      const rest = this.pending;
      this.pending = undefined;
      this.feedBody(rest, 0);
    }
  }

  /** Passes the body part of `buf` (from `start`) to the current request. */
  private feedBody(buf: Buffer, start: number): void {
    const down = this.current!;
    let rest: number;
    if (!this.chunkedBody) {
      const available = buf.length - start;
      if (available < this.bodyLeft) {
        this.bodyLeft -= available;
        down.body(start === 0 ? buf : buf.subarray(start));
        return;
      }
      rest = start + this.bodyLeft;
      this.bodyLeft = 0;
      if (rest > start) down.body(buf.subarray(start, rest));
    } else {
      let used: number;
      try {
        used = this.decoder!.feed(buf, start, this.deliver);
      } catch {
        // Broken chunked framing: nothing after it can be trusted.
        this.socket.destroy();
        return;
      }
      if (used < 0) return;
      rest = start + used;
    }
    this.state = DONE;
    if (rest < buf.length) this.pending = buf.subarray(rest);
    down.bodyEnd();
    if (down.over && this.current === down) this.next();
  }

  private readonly deliver = (chunk: Buffer): void => {
    this.current?.body(chunk);
  };

  responseEnded(down: RawDownstream): void {
    if (down !== this.current) return;
    if (this.state === BODY) {
      this.idleSince = Date.now();
      // The dyno answered before the upload was complete: read and drop the rest first.
      down.dropBody();
      return;
    }
    this.next();
  }

  /** The request is over both ways: on to the next one. */
  private next(): void {
    this.current = undefined;
    this.state = HEAD;
    this.idleSince = Date.now();
    if (this.closeAfter) {
      this.socket.end();
      return;
    }
    this.release();
    if (this.pending !== undefined) {
      if (this.parseScheduled) return;
      // Later, so that the finished exchange first returns its dyno connection to the pool.
      this.parseScheduled = true;
      process.nextTick(this.parseLater);
    } else if (this.clientEnded) {
      this.socket.end();
    }
  }

  private readonly parseLater = (): void => {
    this.parseScheduled = false;
    this.parse();
  };

  hold(): void {
    if (this.paused) return;
    this.paused = true;
    this.socket.pause();
  }

  release(): void {
    if (!this.paused) return;
    this.paused = false;
    this.socket.resume();
  }

  /**
   * Gives the connection to the fallback as it stands: not a byte read from the client is
   * lost or reordered. The socket is paused first because bytes put back with unshift() on a
   * flowing socket would wait for the next read, which Node's server takes straight from the
   * handle; resume() then delivers them to its new 'data' listener first.
   */
  private handOff(): void {
    const socket = this.socket;
    this.owner.forget(this);
    socket.pause();
    socket.off('data', this.onData);
    socket.off('end', this.onEnd);
    socket.off('drain', this.onDrain);
    socket.off('error', noop);
    socket.off('close', this.onClose);
    if (this.pending !== undefined) socket.unshift(this.pending);
    this.pending = undefined;
    this.fallback(socket);
    socket.resume();
  }

  private readonly onEnd = (): void => {
    this.clientEnded = true;
    if (this.state === BODY) this.socket.destroy(); // the upload was cut short
    else if (this.current === undefined && !this.parseScheduled) this.socket.end(); // idle, or half a head
    // Otherwise the response under way goes out first (see next()).
  };

  private readonly onDrain = (): void => {
    this.current?.drained();
  };

  private readonly onClose = (): void => {
    this.owner.forget(this);
    const down = this.current;
    this.current = undefined;
    down?.clientGone();
  };

  /** Closes the connection at once (router shutdown, idle timeout). */
  destroy(): void {
    this.socket.destroy();
  }
}
