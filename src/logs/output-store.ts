import { createReadStream, createWriteStream, mkdirSync, existsSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';

/**
 * Output of builds and release phases: appended to a file (so it survives restarts) and
 * followed live by readers of `output_stream_url` until the producer closes it.
 */
export interface OutputWriter {
  line(text: string): void;
  close(): Promise<void>;
}

interface LiveOutput {
  file: WriteStream;
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
    const file = createWriteStream(this.path(key), { flags: 'a' });
    const entry: LiveOutput = { file, chunks: [], readers: new Set(), closed: false };
    this.live.set(key, entry);
    return {
      line: (text: string) => {
        const chunk = text.endsWith('\n') ? text : `${text}\n`;
        entry.chunks.push(chunk);
        file.write(chunk);
        for (const reader of entry.readers) reader.write(chunk);
      },
      close: () =>
        new Promise<void>((resolve) => {
          entry.closed = true;
          for (const reader of entry.readers) reader.end();
          file.end(() => {
            this.live.delete(key);
            resolve();
          });
        }),
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
