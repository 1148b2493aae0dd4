import type { Kysely } from 'kysely';
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';
import type { Database } from '../store/schema.js';
import type { Account } from '../auth/accounts.js';
import type { PublicUrls } from '../core/urls.js';
import { newId, newSecret, now } from '../core/ids.js';
import { notFound, PlatformError } from '../core/errors.js';

/** Source blobs (`POST /sources`): a capability URL to PUT a tarball to, and one to GET it back. */
export class SourceService {
  private readonly dir: string;

  constructor(
    private readonly db: Kysely<Database>,
    dataDir: string,
    private readonly urls: PublicUrls,
    private readonly maxBytes: number,
  ) {
    this.dir = join(dataDir, 'sources');
    mkdirSync(this.dir, { recursive: true });
  }

  async create(actor: Account): Promise<{ get_url: string; put_url: string }> {
    const id = newId();
    const token = newSecret(18);
    await this.db.insertInto('sources').values({ id, path: join(this.dir, `${id}.tgz`), size: null, token, account_id: actor.id, created_at: now() }).execute();
    const url = `${this.urls.http}/sources/${id}/${token}`;
    return { get_url: url, put_url: url };
  }

  private async find(id: string, token: string) {
    const row = await this.db.selectFrom('sources').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row || row.token !== token) throw notFound('source', 'No such source blob; create one with POST /sources.');
    return row;
  }

  /** Stores an uploaded tarball, refusing bodies over the size limit without keeping a partial file. */
  async put(id: string, token: string, body: Readable): Promise<number> {
    const row = await this.find(id, token);
    const partial = `${row.path}.partial`;
    let size = 0;
    const limit = this.maxBytes;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        if (size > limit) done(new PlatformError(413, 'request_entity_too_large', `Source blobs are limited to ${Math.round(limit / 1024 / 1024)} MB; slim the archive (see .slugignore) or raise SLIPWAY_MAX_BODY_BYTES.`));
        else done(null, chunk);
      },
    });
    try {
      await pipeline(body, counter, createWriteStream(partial));
    } catch (err) {
      rmSync(partial, { force: true });
      throw err;
    }
    renameSync(partial, row.path);
    await this.db.updateTable('sources').set({ size }).where('id', '=', id).execute();
    return size;
  }

  /** Path of an uploaded blob, for GET and for builds. */
  async path(id: string, token: string): Promise<string> {
    const row = await this.find(id, token);
    if (!existsSync(row.path)) throw notFound('source', 'Nothing was uploaded to this source blob yet; PUT the tarball to its put_url first.');
    return row.path;
  }

  /** Resolves a `source_blob.url` pointing at this Slipway to the local file. */
  async localPathFor(url: string): Promise<string | undefined> {
    const match = /\/sources\/([0-9a-f-]{36})\/([A-Za-z0-9_-]+)$/.exec(new URL(url).pathname);
    if (!match) return undefined;
    return this.path(match[1], match[2]);
  }

  /** Removes blobs older than a day. */
  async prune(maxAgeMs = 24 * 3600_000): Promise<void> {
    const cutoff = new Date(Date.now() - maxAgeMs).toISOString();
    const old = await this.db.selectFrom('sources').select(['id', 'path']).where('created_at', '<', cutoff).execute();
    for (const row of old) {
      rmSync(row.path, { force: true });
      await this.db.deleteFrom('sources').where('id', '=', row.id).execute();
    }
  }
}
