/**
 * Per-app log buffers: the last N lines of every app, from its dynos (source `app`) and
 * from the platform (source `slipway`: router, builds, releases, dyno state changes), plus
 * live subscribers for `logs --tail`. Kept in memory, like Heroku's Logplex buffer.
 */
export type LogSource = 'app' | 'slipway';

export interface LogLine {
  /** Increasing per process; used as the SSE event id for resuming. */
  id: number;
  time: string;
  source: LogSource;
  /** `web.1`, `router`, `api`, `build`, `release` … */
  dyno: string;
  message: string;
}

export interface LogFilter {
  source?: string;
  /** A dyno name (`web.1`) or a process type (`web`). */
  dyno?: string;
}

type Listener = (line: LogLine) => void;

/** Lines a buffer may run over its capacity before the oldest are dropped at once. */
const TRIM_BATCH = 256;

const SOURCE_ALIASES: Record<string, LogSource> = { app: 'app', slipway: 'slipway', heroku: 'slipway' };

export function matchesFilter(line: LogLine, filter: LogFilter): boolean {
  if (filter.source && SOURCE_ALIASES[filter.source] !== line.source) return false;
  if (filter.dyno && line.dyno !== filter.dyno && !line.dyno.startsWith(`${filter.dyno}.`)) return false;
  return true;
}

/** Heroku's timestamp shape: microseconds and an explicit +00:00 offset. */
export function logTimestamp(date = new Date()): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000+00:00');
}

export function formatLogLine(line: LogLine): string {
  return `${line.time} ${line.source}[${line.dyno}]: ${line.message}`;
}

export class LogHub {
  private readonly buffers = new Map<string, LogLine[]>();
  private readonly listeners = new Map<string, Set<Listener>>();
  private nextId = 1;
  /** The last timestamp and its millisecond: the router appends a line per request. */
  private stampMs = 0;
  private stamp = '';

  constructor(private readonly capacity = 1500) {}

  append(appId: string, source: LogSource, dyno: string, message: string): void {
    // One entry per line, so a multi-line write shows as separate log lines.
    const parts = message.includes('\n') ? message.split(/\r?\n/) : [message];
    for (const part of parts) {
      if (part === '') continue;
      const line: LogLine = { id: this.nextId++, time: this.now(), source, dyno, message: part };
      let buffer = this.buffers.get(appId);
      if (!buffer) this.buffers.set(appId, (buffer = []));
      buffer.push(line);
      // Trimmed in batches: shift() per line goes through V8's slow path on a buffer this
      // long (the router appends a line per request). Readers see only the last `capacity`.
      if (buffer.length >= this.capacity + TRIM_BATCH) buffer.splice(0, buffer.length - this.capacity);
      const listeners = this.listeners.get(appId);
      if (listeners !== undefined) for (const listener of listeners) listener(line);
    }
  }

  private now(): string {
    const ms = Date.now();
    if (ms !== this.stampMs) {
      this.stampMs = ms;
      this.stamp = logTimestamp(new Date(ms));
    }
    return this.stamp;
  }

  recent(appId: string, lines: number, filter: LogFilter = {}): LogLine[] {
    const matching = this.kept(appId).filter((l) => matchesFilter(l, filter));
    return lines > 0 ? matching.slice(-lines) : [];
  }

  /** Lines newer than `afterId` (for SSE resumption with Last-Event-ID). */
  since(appId: string, afterId: number, filter: LogFilter = {}): LogLine[] {
    return this.kept(appId).filter((l) => l.id > afterId && matchesFilter(l, filter));
  }

  /** The last `capacity` lines of an app. */
  private kept(appId: string): LogLine[] {
    const buffer = this.buffers.get(appId) ?? [];
    return buffer.length > this.capacity ? buffer.slice(-this.capacity) : buffer;
  }

  subscribe(appId: string, listener: Listener): () => void {
    let set = this.listeners.get(appId);
    if (!set) this.listeners.set(appId, (set = new Set()));
    set.add(listener);
    return () => {
      set!.delete(listener);
      if (set!.size === 0) this.listeners.delete(appId);
    };
  }

  forget(appId: string): void {
    this.buffers.delete(appId);
  }
}
