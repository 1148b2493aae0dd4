import type { Kysely } from 'kysely';
import type { AppSetupRow, Database } from '../store/schema.js';

/** Waits for an app setup (POST /app-setups) to leave `pending`. */
export async function settledSetup(db: Kysely<Database>, id: string, everyMs = 250): Promise<AppSetupRow> {
  for (;;) {
    const row = await db.selectFrom('app_setups').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    if (row.status !== 'pending') return row;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** A free-looking app name from a base and a suffix, within Heroku's 30 characters. */
export function appNameFrom(base: string, suffix: string): string {
  const clean = (text: string) => text.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-+/g, '-');
  const tail = clean(suffix).replace(/^-+|-+$/g, '');
  let head = clean(base).replace(/^[^a-z]+/, '').replace(/-+$/, '') || 'app';
  const room = 30 - tail.length - 1;
  head = head.slice(0, Math.max(1, room)).replace(/-+$/, '');
  const name = `${head}-${tail}`.slice(0, 30).replace(/-+$/, '');
  return name.length >= 3 ? name : `${name}-app`;
}
