import type { Kysely } from 'kysely';
import type { Database, AppRow, ReleaseRow, SlugRow } from '../store/schema.js';
import { currentRelease } from '../store/queries.js';

export interface DesiredState {
  app: AppRow;
  release: ReleaseRow;
  slug: SlugRow;
  processTypes: Record<string, string>;
}

/** What should run for an app: its current (latest succeeded) release and that release's slug. */
export async function loadDesiredState(db: Kysely<Database>, appId: string): Promise<DesiredState | undefined> {
  const app = await db.selectFrom('apps').selectAll().where('id', '=', appId).executeTakeFirst();
  if (!app) return undefined;
  const release = await currentRelease(db, appId);
  if (!release?.slug_id) return undefined;
  const slug = await db.selectFrom('slugs').selectAll().where('id', '=', release.slug_id).executeTakeFirst();
  if (!slug) return undefined;
  return { app, release, slug, processTypes: JSON.parse(slug.process_types) as Record<string, string> };
}

export async function currentProcessTypes(db: Kysely<Database>, appId: string): Promise<Record<string, string>> {
  const state = await loadDesiredState(db, appId);
  if (!state) return {};
  const { release: _release, ...types } = state.processTypes;
  return types;
}
