/**
 * The client side of one proxied exchange, as the exchange (http-proxy.ts) sees it. Two
 * implementations: `NodeDownstream` over Node's IncomingMessage/ServerResponse (requests that
 * reached Node's http.Server first), and the router's own connections (client-connection.ts),
 * which skip Node's per-request objects on the hot path.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ResponseHead } from './response-parser.js';
import { headerPairs } from './head-text.js';

export interface DownstreamEvents {
  /** The client can take more response data after write() returned false. */
  onClientDrain(): void;
  /**
   * The exchange is over for the client, exactly once: `finished` when the whole response was
   * handed over, false when the client went away first.
   */
  onClientClose(finished: boolean): void;
}

export interface Downstream {
  listen(events: DownstreamEvents): void;
  /** Starts delivering the request body; the exchange calls it once the dyno is connected. */
  readBody(onData: (chunk: Buffer) => void, onEnd: () => void): void;
  pauseBody(): void;
  resumeBody(): void;
  /** Stops delivering the body and throws the rest away, so the client's connection stays usable. */
  dropBody(): void;
  /**
   * Starts the response. `framing` is the dyno's (see response-parser.ts): the implementation
   * frames the body for the client. Returns false, having sent nothing, for headers that
   * cannot be sent on (invalid characters).
   */
  writeHead(status: number, message: string, headers: string[], framing: number): boolean;
  /** Starts the response with the dyno's head plus the router's headers; same contract. */
  relayHead(head: ResponseHead, requestId: string): boolean;
  /**
   * Returns false when the client is slow: wait for onClientDrain. `chunk` may be reused by
   * the caller once this returns (the dyno connection's read buffer): copy it to keep it.
   */
  write(chunk: Buffer): boolean;
  end(last?: string): void;
  /** Cuts the client off mid-response. */
  destroy(): void;
  /** The response has started or can no longer be sent. */
  readonly responding: boolean;
}

export class NodeDownstream implements Downstream {
  private onData: ((chunk: Buffer) => void) | undefined;
  private events: DownstreamEvents | undefined;

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
  ) {}

  listen(events: DownstreamEvents): void {
    this.events = events;
    // 'close' fires both when the response finished and when the client went away.
    this.res.on('close', () => events.onClientClose(this.res.writableFinished));
  }

  readBody(onData: (chunk: Buffer) => void, onEnd: () => void): void {
    this.onData = onData;
    this.req.on('data', onData);
    this.req.on('end', onEnd);
  }

  pauseBody(): void {
    this.req.pause();
  }

  resumeBody(): void {
    this.req.resume();
  }

  dropBody(): void {
    // A body never read at all is drained by Node's server once the response ends.
    if (this.onData === undefined) return;
    this.req.off('data', this.onData);
    this.req.resume();
  }

  writeHead(status: number, message: string, headers: string[]): boolean {
    try {
      this.res.writeHead(status, message, headers);
      return true;
    } catch {
      return false;
    }
  }

  relayHead(head: ResponseHead, requestId: string): boolean {
    if (head.invalid) return false;
    const headers = headerPairs(head.lines);
    headers.push('X-Request-Id', requestId, 'Via', '1.1 slipway');
    return this.writeHead(head.status, head.message, headers);
  }

  write(chunk: Buffer): boolean {
    if (this.res.write(Buffer.from(chunk))) return true;
    this.res.once('drain', this.drained);
    return false;
  }

  private readonly drained = (): void => this.events?.onClientDrain();

  end(last?: string): void {
    this.res.end(last);
  }

  destroy(): void {
    this.res.destroy();
  }

  get responding(): boolean {
    return this.res.headersSent || this.res.destroyed;
  }
}
