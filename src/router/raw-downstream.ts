/**
 * The client side of one exchange on a connection the router reads itself
 * (client-connection.ts): the request body as the connection hands it over, and the response
 * written straight to the socket. One small object per request instead of Node's
 * IncomingMessage/ServerResponse pair.
 */
import type { Socket } from 'node:net';
import type { Downstream, DownstreamEvents } from './downstream.js';
import { BAD_VALUE, TOKEN } from './request-head.js';
import type { ResponseHead } from './response-parser.js';

/** What a RawDownstream needs from its connection. */
export interface RawConnection {
  readonly socket: Socket;
  /** Stop and restart reading from the client (request body backpressure). */
  hold(): void;
  release(): void;
  /** The response has been handed to the socket in full. */
  responseEnded(down: RawDownstream): void;
}

/** Body bytes kept while the dyno connection is being made, before reading from the client stops. */
const QUEUE_LIMIT = 256 * 1024;
/** Up to this size a body chunk is copied behind its head or chunk header: one write(2), one packet. */
const MERGE_LIMIT = 16 * 1024;

export class RawDownstream implements Downstream {
  /** The response ended or the client went away; nothing more is sent. */
  over = false;
  private events: DownstreamEvents | undefined;
  // The request body.
  private onData: ((chunk: Buffer) => void) | undefined;
  private onEnd: (() => void) | undefined;
  private queue: Buffer[] | undefined;
  private queued = 0;
  private bodyEnded = false;
  private dropping = false;
  private held = false;
  // The response.
  private started = false;
  /** The response head, sent together with the first body bytes. */
  private pendingHead: string | undefined;
  private chunked = false;
  private waitingDrain = false;

  constructor(
    private readonly conn: RawConnection,
    private readonly headOnly: boolean,
    /** The client asked to close the connection afterwards. */
    private readonly close: boolean,
  ) {}

  listen(events: DownstreamEvents): void {
    this.events = events;
  }

  // ---- The request body, fed by the connection.

  body(chunk: Buffer): void {
    if (this.dropping) return;
    if (this.onData !== undefined) {
      this.onData(chunk);
      return;
    }
    // Not connected to a dyno yet: keep the bytes, so a refused connection can try the next dyno.
    (this.queue ??= []).push(chunk);
    this.queued += chunk.length;
    if (this.queued > QUEUE_LIMIT) this.conn.hold();
  }

  bodyEnd(): void {
    this.bodyEnded = true;
    if (this.onEnd !== undefined && !this.dropping) this.onEnd();
  }

  readBody(onData: (chunk: Buffer) => void, onEnd: () => void): void {
    this.onData = onData;
    this.onEnd = onEnd;
    const queue = this.queue;
    this.queue = undefined;
    this.queued = 0;
    if (queue !== undefined) for (const chunk of queue) if (!this.dropping) onData(chunk);
    if (this.bodyEnded && !this.dropping) onEnd();
    if (!this.held) this.conn.release();
  }

  pauseBody(): void {
    this.held = true;
    this.conn.hold();
  }

  resumeBody(): void {
    this.held = false;
    this.conn.release();
  }

  dropBody(): void {
    this.dropping = true;
    this.queue = undefined;
    this.queued = 0;
    this.held = false;
    this.conn.release();
  }

  // ---- The response.

  writeHead(status: number, message: string, headers: string[], framing: number): boolean {
    if (this.over || BAD_VALUE.test(message)) return false;
    let lines = '';
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i];
      const value = headers[i + 1];
      if (!TOKEN.test(name) || BAD_VALUE.test(value)) return false;
      lines += name + ': ' + value + '\r\n';
    }
    this.startResponse(status, message, lines, framing);
    return true;
  }

  relayHead(head: ResponseHead, requestId: string): boolean {
    // The dyno's lines are relayed as text: the parser checked them as Node's writeHead would.
    if (this.over || head.invalid) return false;
    this.startResponse(head.status, head.message, head.lines + 'X-Request-Id: ' + requestId + '\r\nVia: 1.1 slipway\r\n', head.length);
    return true;
  }

  private startResponse(status: number, message: string, lines: string, framing: number): void {
    let head = 'HTTP/1.1 ' + status + ' ' + message + '\r\n' + lines;
    // A body of unknown length (chunked or close-delimited from the dyno) goes out chunked,
    // so the client's connection can carry the next request.
    this.chunked = framing < 0 && !this.headOnly && status !== 204 && status !== 304;
    if (this.chunked) head += 'Transfer-Encoding: chunked\r\n';
    if (this.close) head += 'Connection: close\r\n';
    this.pendingHead = head + '\r\n';
    this.started = true;
  }

  write(chunk: Buffer): boolean {
    if (this.over) return true;
    if (!this.chunked) return this.send('', chunk, '');
    if (chunk.length === 0) return true;
    return this.send(chunk.length.toString(16) + '\r\n', chunk, '\r\n');
  }

  end(last?: string): void {
    if (this.over) return;
    if (last !== undefined && !this.headOnly) this.send('', Buffer.from(last), '');
    else this.send(this.chunked ? '0\r\n\r\n' : '', undefined, '');
    this.over = true;
    this.events?.onClientClose(true);
    this.conn.responseEnded(this);
  }

  destroy(): void {
    this.conn.socket.destroy();
  }

  get responding(): boolean {
    return this.started || this.over || this.conn.socket.destroyed;
  }

  /** From the connection: the socket's 'drain'. */
  drained(): void {
    if (!this.waitingDrain) return;
    this.waitingDrain = false;
    this.events?.onClientDrain();
  }

  /** From the connection: the client's socket closed. */
  clientGone(): void {
    if (this.over) return;
    this.over = true;
    this.events?.onClientClose(false);
  }

  /** Writes `prefix` (after the pending head, if any), `chunk` and `suffix`. */
  private send(prefix: string, chunk: Buffer | undefined, suffix: string): boolean {
    let text = prefix;
    if (this.pendingHead !== undefined) {
      text = this.pendingHead + prefix;
      this.pendingHead = undefined;
    }
    const socket = this.conn.socket;
    let ok = true;
    if (chunk === undefined) {
      if (text !== '') ok = socket.write(text, 'latin1');
    } else if (chunk.length <= MERGE_LIMIT) {
      // Every string here is latin1 (one byte per character), so lengths are byte counts.
      const out = Buffer.allocUnsafe(text.length + chunk.length + suffix.length);
      out.write(text, 0, 'latin1');
      chunk.copy(out, text.length);
      if (suffix !== '') out.write(suffix, text.length + chunk.length, 'latin1');
      ok = socket.write(out);
    } else {
      socket.cork();
      if (text !== '') socket.write(text, 'latin1');
      ok = socket.write(Buffer.from(chunk)); // the caller may reuse `chunk`
      if (suffix !== '') ok = socket.write(suffix, 'latin1');
      socket.uncork();
    }
    if (!ok) this.waitingDrain = true;
    return ok;
  }
}
