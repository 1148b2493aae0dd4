import type { Kysely } from 'kysely';
import { copyFileSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Database, AppRow } from '../store/schema.js';
import { now } from '../core/ids.js';

/**
 * Promotions make other apps run a slug that belongs to the source app. Before the source
 * app is destroyed, each of its slugs still used by another app's release is handed over to
 * that app (row and file), so destroying staging never breaks production.
 */
export async function handOverSharedSlugs(db: Kysely<Database>, dataDir: string, app: AppRow): Promise<number> {
  const shared = await db
    .selectFrom('releases as r')
    .innerJoin('slugs as s', 's.id', 'r.slug_id')
    .select(['s.id as slug_id', 's.path as path', 'r.app_id as user_app', 'r.version as version'])
    .where('s.app_id', '=', app.id)
    .where('r.app_id', '!=', app.id)
    .orderBy('r.version', 'desc')
    .execute();
  const handled = new Set<string>();
  for (const row of shared) {
    if (handled.has(row.slug_id)) continue;
    handled.add(row.slug_id);
    const dir = join(dataDir, 'slugs', row.user_app);
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `${row.slug_id}.tgz`);
    try {
      renameSync(row.path, path);
    } catch {
      copyFileSync(row.path, path);
      rmSync(row.path, { force: true });
    }
    await db.updateTable('slugs').set({ app_id: row.user_app, path, updated_at: now() }).where('id', '=', row.slug_id).execute();
  }
  return handled.size;
}
