/**
 * One proxied HTTP request: pick a dyno round-robin, fall over to the next one when a
 * connection cannot be made, stream both bodies, enforce the response timeout, and write
 * exactly one log line.
 */
import type { Backend, RouteTarget } from './types.js';
import type { ProxyRequest } from './headers.js';
import { type RouterContext, type ClientInfo, factsOf, upstreamHead } from './context.js';
import type { ResponseHead } from './response-parser.js';
import type { Expirable } from './deadlines.js';
import type { Downstream, DownstreamEvents } from './downstream.js';
import { type Upstream, type UpstreamSink, NOT_CONNECTED, RESPONDING } from './upstream.js';
import { type RequestFacts, type RouterErrorCode, infoLine, errorLine } from './log.js';
import { errorPage } from './pages.js';

/** Entry point from the router once the Host has matched `target`. */
export function serveHttp(ctx: RouterContext, down: Downstream, info: ClientInfo, req: ProxyRequest, target: RouteTarget, hostname: string): void {
  const start = Date.now();
  const facts = factsOf(info, req, hostname);
  if (target.maintenance) {
    sendPage(ctx, down, target, facts, 'H80', '', undefined, undefined);
    return;
  }
  const backends = target.backends();
  if (backends.length === 0) {
    sendPage(ctx, down, target, facts, 'H14', '', undefined, undefined);
    return;
  }
  new HttpExchange(ctx, down, target, backends, upstreamHead(req, facts, info, start), facts, req, start).begin();
}

/** Answers 503 with the page for `code` and logs it. */
function sendPage(
  ctx: RouterContext,
  down: Downstream,
  target: RouteTarget,
  facts: RequestFacts,
  code: RouterErrorCode,
  dyno: string,
  connectMs: number | undefined,
  serviceMs: number | undefined,
): void {
  const body = errorPage(code, target.appName, facts.requestId);
  const length = Buffer.byteLength(body);
  if (!down.responding) {
    const headers = [
      'Content-Type', 'text/html; charset=utf-8',
      'Content-Length', String(length),
      'Cache-Control', 'no-cache, no-store',
      'X-Request-Id', facts.requestId,
      'Via', '1.1 slipway',
    ];
    if (down.writeHead(503, 'Service Unavailable', headers, length)) down.end(body);
  }
  ctx.log({ appId: target.appId, message: errorLine(code, facts, dyno, connectMs, serviceMs, 503, length) });
}

class HttpExchange implements UpstreamSink, DownstreamEvents, Expirable {
  deadline = 0;
  prevDue: Expirable | undefined = undefined;
  nextDue: Expirable | undefined = undefined;
  queued = false;
  private readonly retryStale: boolean;
  private readonly hasBody: boolean;
  private tried = 0;
  private index: number;
  private backend: Backend;
  /** The dyno connection in use; unset once this exchange no longer owns it. */
  private upstream: Upstream | undefined;
  private responded = false;
  private connected = false;
  private bodyStarted = false;
  private staleRetried = false;
  private reused = false;
  /** Set once the log line is written; later events are ignored. */
  private done = false;
  private connectMs = 0;
  private connectedAt = 0;
  private bytes = 0;
  private status = 0;

  constructor(
    private readonly ctx: RouterContext,
    private readonly down: Downstream,
    private readonly target: RouteTarget,
    private readonly backends: Backend[],
    private readonly head: string,
    private readonly facts: RequestFacts,
    private readonly req: ProxyRequest,
    private readonly start: number,
  ) {
    this.index = ctx.next(target.appId);
    this.backend = backends[this.index % backends.length];
    this.hasBody = req.hasBody;
    const m = req.method;
    // Only these are safe to resend after a kept-alive connection turned out to be closed.
    this.retryStale = !req.hasBody && (m === 'GET' || m === 'HEAD' || m === 'OPTIONS');
  }

  begin(): void {
    this.ctx.deadlines.add(this, this.start);
    this.down.listen(this);
    this.attempt();
  }

  private attempt(): void {
    this.backend = this.backends[this.index % this.backends.length];
    this.connected = false;
    const upstream = (this.upstream = this.ctx.pool.acquire(this.backend.port));
    this.reused = upstream.reused;
    upstream.start(this, this.head, this.req.method === 'HEAD', this.hasBody, this.req.chunked);
  }

  onConnect(): void {
    this.connected = true;
    // A kept-alive connection is ready at once: no need to read the clock again.
    this.connectedAt = this.reused && this.tried === 0 && !this.staleRetried ? this.start : Date.now();
    this.connectMs = this.connectedAt - this.start;
    // The body is read only now, so a refused connection leaves it unread for the next dyno.
    if (this.hasBody && !this.bodyStarted) {
      this.bodyStarted = true;
      this.down.readBody(this.onRequestData, this.onRequestEnd);
    }
  }

  private readonly onRequestData = (chunk: Buffer): void => {
    const upstream = this.upstream;
    if (upstream !== undefined && !upstream.write(chunk)) this.down.pauseBody();
  };

  private readonly onRequestEnd = (): void => {
    this.upstream?.end();
  };

  onDrain(): void {
    this.down.resumeBody();
  }

  onHead(head: ResponseHead): void {
    this.ctx.deadlines.remove(this);
    this.responded = true;
    this.status = head.status;
    if (!this.down.relayHead(head, this.facts.requestId)) {
      // A header that cannot be sent on (invalid characters): the response is unusable.
      this.upstream?.abort();
      this.upstream = undefined;
      this.fail('H13', this.backend.dyno);
    }
  }

  onData(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (!this.down.write(chunk)) this.upstream?.pause();
  }

  onClientDrain(): void {
    this.upstream?.resume();
  }

  onEnd(): void {
    this.upstream = undefined;
    this.down.end();
  }

  onError(_err: Error, stage: number): void {
    this.upstream = undefined;
    if (this.done) return;
    if (stage === RESPONDING) {
      this.interrupted();
      return;
    }
    if (stage === NOT_CONNECTED) {
      // Nothing reached this dyno: try the next one, each at most once.
      if (++this.tried < this.backends.length && !this.bodyStarted) {
        this.index++;
        this.attempt();
        return;
      }
      this.fail('H10', this.tried > 1 ? '' : this.backend.dyno);
      return;
    }
    if (this.reused && this.retryStale && !this.staleRetried) {
      // The dyno closed an idle kept-alive connection just as we reused it.
      this.staleRetried = true;
      this.attempt();
      return;
    }
    this.fail('H13', this.backend.dyno);
  }

  /** Called by the deadline queue when no response started within responseTimeoutMs. */
  expire(): void {
    if (this.done || this.responded) return;
    this.upstream?.abort();
    this.upstream = undefined;
    this.fail('H12', this.connected ? this.backend.dyno : '');
  }

  /** The response finished, or the client went away. */
  onClientClose(finished: boolean): void {
    this.ctx.deadlines.remove(this);
    if (this.done) return;
    this.done = true;
    if (finished) {
      const line = infoLine(this.facts, this.backend.dyno, this.connectMs, Date.now() - this.connectedAt, this.status, this.bytes);
      this.ctx.log({ appId: this.target.appId, message: line });
      return;
    }
    this.upstream?.abort();
    this.upstream = undefined;
    const c = this.connected;
    this.ctx.log({
      appId: this.target.appId,
      message: errorLine('H27', this.facts, c ? this.backend.dyno : '', c ? this.connectMs : undefined, c ? Date.now() - this.connectedAt : undefined, 499, this.bytes),
    });
  }

  /** The dyno's connection broke after its response had started: cut the client off too. */
  private interrupted(): void {
    this.done = true;
    this.down.destroy();
    const line = errorLine('H18', this.facts, this.backend.dyno, this.connectMs, Date.now() - this.connectedAt, this.status, this.bytes);
    this.ctx.log({ appId: this.target.appId, message: line });
  }

  private fail(code: RouterErrorCode, dyno: string): void {
    if (this.done) return;
    this.done = true;
    this.ctx.deadlines.remove(this);
    // Read and drop the rest of the upload so the client's connection stays usable.
    this.down.dropBody();
    const c = this.connected;
    sendPage(this.ctx, this.down, this.target, this.facts, code, dyno, c ? this.connectMs : undefined, c ? Date.now() - this.connectedAt : undefined);
  }
}
