// Reading streams the server hands out: build/release output (text/plain, read until the
// server closes) and log sessions (Server-Sent Events).
import type { ApiClient } from './client.js';
import { CliError, sleep, warn } from './output.js';

/**
 * Copies a text/plain output stream to stdout until the server closes it. A 404 while the
 * stream is not ready yet is retried for a while; returns false if it never became available.
 */
export async function streamOutput(api: ApiClient, url: string, opts: { retries?: number; write?: (s: string) => void } = {}): Promise<boolean> {
  const write = opts.write ?? ((s: string) => process.stdout.write(s));
  const retries = opts.retries ?? 30;
  for (let attempt = 0; ; attempt++) {
    const res = await api.raw('GET', url, { headers: { Accept: 'text/plain' } });
    if (res.status === 404 && attempt < retries) {
      await res.body?.cancel();
      await sleep(1000);
      continue;
    }
    if (!res.ok || !res.body) {
      await res.body?.cancel();
      warn(`Output stream not available (HTTP ${res.status}).`);
      return false;
    }
    const decoder = new TextDecoder();
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) write(decoder.decode(chunk, { stream: true }));
    write(decoder.decode());
    return true;
  }
}

export interface SseEvent {
  id?: string;
  event?: string;
  data: string;
}

/** Parses an SSE body; calls `onEvent` per dispatched event; returns the `retry:` value seen. */
export async function readSse(body: ReadableStream<Uint8Array>, onEvent: (e: SseEvent) => void): Promise<number | undefined> {
  const decoder = new TextDecoder();
  let buffer = '';
  let data: string[] = [];
  let id: string | undefined;
  let event: string | undefined;
  let retry: number | undefined;
  const line = (l: string) => {
    if (l === '') {
      if (data.length) onEvent({ id, event, data: data.join('\n') });
      data = [];
      event = undefined;
      return;
    }
    if (l.startsWith(':')) return;
    const at = l.indexOf(':');
    const field = at < 0 ? l : l.slice(0, at);
    let value = at < 0 ? '' : l.slice(at + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'id') id = value;
    else if (field === 'event') event = value;
    else if (field === 'retry' && /^\d+$/.test(value)) retry = Number(value);
  };
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffer.search(/\r\n|\r|\n/)) >= 0) {
      const sep = buffer[nl] === '\r' && buffer[nl + 1] === '\n' ? 2 : 1;
      if (buffer[nl] === '\r' && nl + 1 === buffer.length) break; // maybe \r\n split across chunks
      line(buffer.slice(0, nl));
      buffer = buffer.slice(nl + sep);
    }
  }
  buffer += decoder.decode();
  if (buffer) line(buffer.replace(/\r$/, ''));
  line('');
  return retry;
}

/**
 * Follows a log session URL. Without `tail` it reads until the server closes; with `tail` it
 * reconnects (with Last-Event-ID) whenever the stream drops, until interrupted.
 */
export async function followLogs(url: string, tail: boolean, onLine: (line: string) => void): Promise<void> {
  let lastId: string | undefined;
  let retryMs = 1000;
  let failures = 0;
  for (;;) {
    let res: Response;
    try {
      res = await fetch(url, {
        headers: { Accept: 'text/event-stream', 'Cache-Control': 'no-cache', ...(lastId ? { 'Last-Event-ID': lastId } : {}) },
      });
    } catch (e) {
      if (!tail || ++failures > 30) throw new CliError(`Could not read the log stream: ${(e as Error).message}`);
      await sleep(retryMs);
      continue;
    }
    if (!res.ok || !res.body) {
      await res.body?.cancel();
      if (tail && lastId && (res.status === 404 || res.status === 403)) throw new CliError('Log stream timed out. Please try again.');
      throw new CliError(`Log stream failed with HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}.`);
    }
    const type = res.headers.get('content-type') ?? '';
    if (!type.startsWith('text/event-stream')) {
      await res.body.cancel();
      throw new CliError(`Log stream answered with ${type || 'no content type'}, expected text/event-stream.`);
    }
    failures = 0;
    try {
      const retry = await readSse(res.body, (e) => {
        if (e.id !== undefined) lastId = e.id;
        if (e.event && e.event !== 'message') return;
        for (const l of e.data.split(/\n+/)) if (l) onLine(l);
      });
      if (retry !== undefined) retryMs = retry;
    } catch (e) {
      if (!tail) throw new CliError(`The log stream broke: ${(e as Error).message}`);
    }
    if (!tail) return;
    await sleep(retryMs);
  }
}
