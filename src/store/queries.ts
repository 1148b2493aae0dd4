import type { Kysely } from 'kysely';
import type { Database, ReleaseRow } from './schema.js';

/** An app's current release: the latest one that succeeded (nothing else marks it). */
export function currentRelease(db: Kysely<Database>, appId: string): Promise<ReleaseRow | undefined> {
  return db
    .selectFrom('releases')
    .selectAll()
    .where('app_id', '=', appId)
    .where('status', '=', 'succeeded')
    .orderBy('version', 'desc')
    .limit(1)
    .executeTakeFirst();
}
