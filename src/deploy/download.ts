import { createWriteStream, rmSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream } from 'node:stream/web';

/**
 * Writes a fetched response body to `path`, refusing more than `limit` bytes (announced or
 * actually sent). Nothing is left behind when it fails; `tooLarge` makes the caller's error.
 */
export async function saveLimitedBody(response: Response, path: string, limit: number, tooLarge: (declared?: number) => Error): Promise<void> {
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > limit) throw tooLarge(declared);
  let size = 0;
  const body = Readable.fromWeb(response.body as ReadableStream<Uint8Array>);
  body.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > limit) body.destroy(tooLarge());
  });
  try {
    await pipeline(body, createWriteStream(path));
  } catch (err) {
    rmSync(path, { force: true });
    throw err;
  }
}
