import { closeSync, createReadStream, existsSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';

/**
 * Output of builds, release phases and CI jobs: appended to a file (so it survives restarts) and
 * followed live by readers of `output_stream_url` until the producer closes it. Lines reach the
 * file synchronously, before any reader sees them: what a reader saw survives a kill -9.
 */
export interface OutputWriter {
  line(text: string): void;
  close(): Promise<void>;
}

interface LiveOutput {
  /** The file descriptor, open for appending. */
  fd: number;
  /** Everything written so far; kept while live so a new reader replays it exactly. */
  chunks: string[];
  readers: Set<PassThrough>;
  closed: boolean;
}

export class OutputStore {
  private readonly live = new Map<string, LiveOutput>();

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  private path(key: string): string {
    return join(this.dir, `${key}.log`);
  }

  open(key: string): OutputWriter {
    const fd = openSync(this.path(key), 'a');
    const entry: LiveOutput = { fd, chunks: [], readers: new Set(), closed: false };
    this.live.set(key, entry);
    return {
      line: (text: string) => {
        const chunk = text.endsWith('\n') ? text : `${text}\n`;
        if (entry.closed) return;
        writeSync(fd, chunk);
        entry.chunks.push(chunk);
        for (const reader of entry.readers) reader.write(chunk);
      },
      close: async () => {
        if (entry.closed) return;
        entry.closed = true;
        for (const reader of entry.readers) reader.end();
        closeSync(fd);
        if (this.live.get(key) === entry) this.live.delete(key);
      },
    };
  }

  exists(key: string): boolean {
    return this.live.has(key) || existsSync(this.path(key));
  }

  isLive(key: string): boolean {
    return this.live.has(key);
  }

  /** Everything written so far, without waiting for more. */
  snapshot(key: string): Readable {
    const entry = this.live.get(key);
    if (entry) {
      const out = new PassThrough();
      out.end(entry.chunks.join(''));
      return out;
    }
    return this.read(key);
  }

  /** Everything written so far, then (while still being written) the rest as it comes. */
  read(key: string): Readable {
    const entry = this.live.get(key);
    if (!entry) {
      if (existsSync(this.path(key))) return createReadStream(this.path(key));
      const empty = new PassThrough();
      empty.end();
      return empty;
    }
    const out = new PassThrough();
    for (const chunk of entry.chunks) out.write(chunk);
    if (entry.closed) return out.end(), out;
    entry.readers.add(out);
    out.on('close', () => entry.readers.delete(out));
    return out;
  }
}
