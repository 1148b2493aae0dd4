import type { Kysely } from 'kysely';
import type { Database, FormationRow } from '../store/schema.js';
import type { EventBus } from '../core/events.js';
import { newId, now } from '../core/ids.js';
import { invalidParams, notFound } from '../core/errors.js';
import { applyQuantity, DEFAULT_SIZE, normalizeSize } from '../core/formation.js';

export interface FormationEntry extends FormationRow {
  command: string;
}

export interface FormationUpdate {
  type?: unknown;
  quantity?: unknown;
  size?: unknown;
}

/**
 * The formation is the app's desired process state: how many dynos of each process type,
 * of which size. Commands come from the current release's slug.
 */
export class FormationService {
  constructor(
    private readonly db: Kysely<Database>,
    /** Process types of the app's current release (empty before the first deploy). */
    private readonly currentProcessTypes: (appId: string) => Promise<Record<string, string>>,
    private readonly events?: EventBus,
  ) {}

  async list(appId: string): Promise<FormationEntry[]> {
    const types = await this.currentProcessTypes(appId);
    const rows = await this.db.selectFrom('formations').selectAll().where('app_id', '=', appId).orderBy('type').execute();
    return rows.filter((r) => r.type in types).map((r) => ({ ...r, command: types[r.type] }));
  }

  async get(appId: string, type: string): Promise<FormationEntry> {
    const entry = (await this.list(appId)).find((f) => f.type === type);
    if (!entry) throw notFound('formation', `Couldn't find that process type (${type}).`);
    return entry;
  }

  /**
   * Makes the formation match a release's process types: new types appear (web with one
   * dyno on the first deploy, others with none); the release-phase type never runs as a dyno.
   */
  async syncTypes(appId: string, processTypes: Record<string, string>): Promise<void> {
    const existing = await this.db.selectFrom('formations').select('type').where('app_id', '=', appId).execute();
    const known = new Set(existing.map((r) => r.type));
    for (const type of Object.keys(processTypes)) {
      if (type === 'release' || known.has(type)) continue;
      const stamp = now();
      await this.db
        .insertInto('formations')
        .values({ id: newId(), app_id: appId, type, quantity: type === 'web' ? 1 : 0, size: DEFAULT_SIZE, created_at: stamp, updated_at: stamp })
        .onConflict((oc) => oc.columns(['app_id', 'type']).doNothing())
        .execute();
    }
  }

  /** Applies a batch of updates atomically: all are validated before any is written. */
  async update(appId: string, updates: FormationUpdate[]): Promise<FormationEntry[]> {
    if (!Array.isArray(updates) || updates.length === 0) {
      throw invalidParams('Send {"updates": [{"type": "web", "quantity": 2}]} with at least one update.');
    }
    const current = await this.list(appId);
    const planned = updates.map((u) => {
      if (typeof u?.type !== 'string') throw invalidParams('Each formation update needs a process "type".');
      const entry = current.find((f) => f.type === u.type);
      if (!entry) {
        const known = current.map((f) => f.type).join(', ');
        throw notFound('formation', `Couldn't find that process type (${u.type}).${known ? ` This app has: ${known}.` : ' Deploy the app first.'}`);
      }
      const quantity = u.quantity === undefined || u.quantity === null ? entry.quantity : applyQuantity(entry.quantity, u.quantity as string | number);
      const size = u.size === undefined || u.size === null ? entry.size : normalizeSize(String(u.size));
      return { entry, quantity, size };
    });
    const stamp = now();
    await this.db.transaction().execute(async (trx) => {
      for (const p of planned) {
        await trx.updateTable('formations').set({ quantity: p.quantity, size: p.size, updated_at: stamp }).where('id', '=', p.entry.id).execute();
      }
    });
    this.events?.emit('formation.changed', { appId, types: planned.map((p) => p.entry.type) });
    return this.list(appId);
  }
}
