/**
 * Per-app log buffers: the last N lines of every app, from its dynos (source `app`) and
 * from the platform (source `slipway`: router, builds, releases, dyno state changes), plus
 * live subscribers for `logs --tail`. Kept in memory, like Heroku's Logplex buffer.
 */
import { LogRing, MAX_MESSAGE_CHARS } from './log-ring.js';

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

const SOURCES: readonly LogSource[] = ['app', 'slipway'];

export class LogHub {
  private readonly rings = new Map<string, LogRing>();
  private readonly listeners = new Map<string, Set<Listener>>();
  private nextId = 1;
  /** The last timestamp and its millisecond, for live listeners. */
  private stampMs = 0;
  private stamp = '';

  constructor(private readonly capacity = 1500) {}

  append(appId: string, source: LogSource, dyno: string, message: string): void {
    // One entry per line, so a multi-line write shows as separate log lines.
    const parts = message.includes('\n') ? message.split(/\r?\n/) : [message];
    let ring = this.rings.get(appId);
    if (ring === undefined) this.rings.set(appId, (ring = new LogRing(this.capacity)));
    const listeners = this.listeners.get(appId);
    for (const part of parts) {
      if (part === '') continue;
      const id = this.nextId++;
      const ms = Date.now();
      ring.push(id, ms, source === 'app' ? 0 : 1, dyno, part);
      // Only live listeners get a line object: nothing per line outlives this call otherwise.
      if (listeners !== undefined) {
        const line: LogLine = { id, time: this.timestamp(ms), source, dyno, message: part.length > MAX_MESSAGE_CHARS ? part.slice(0, MAX_MESSAGE_CHARS) : part };
        for (const listener of listeners) listener(line);
      }
    }
  }

  private timestamp(ms: number): string {
    if (ms !== this.stampMs) {
      this.stampMs = ms;
      this.stamp = logTimestamp(new Date(ms));
    }
    return this.stamp;
  }

  recent(appId: string, lines: number, filter: LogFilter = {}): LogLine[] {
    if (lines <= 0) return [];
    return this.kept(appId, 0, filter).slice(-lines);
  }

  /** Lines newer than `afterId` (for SSE resumption with Last-Event-ID). */
  since(appId: string, afterId: number, filter: LogFilter = {}): LogLine[] {
    return this.kept(appId, afterId, filter);
  }

  /** The kept lines of an app newer than `afterId` that match `filter`, oldest first. */
  private kept(appId: string, afterId: number, filter: LogFilter): LogLine[] {
    const out: LogLine[] = [];
    for (const stored of this.rings.get(appId)?.lines(afterId) ?? []) {
      const line: LogLine = { id: stored.id, time: this.timestamp(stored.time), source: SOURCES[stored.source], dyno: stored.dyno, message: stored.message };
      if (matchesFilter(line, filter)) out.push(line);
    }
    return out;
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
    this.rings.delete(appId);
  }
}
