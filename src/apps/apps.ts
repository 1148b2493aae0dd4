import type { Kysely } from 'kysely';
import type { Database, AppRow } from '../store/schema.js';
import type { Account } from '../auth/accounts.js';
import type { EventBus } from '../core/events.js';
import { newId, now, isUuid } from '../core/ids.js';
import { appNotFound, conflict, forbidden, invalidParams } from '../core/errors.js';
import { generateAppName, validateAppName } from '../core/names.js';

export interface AppHooks {
  /** Called after the app row exists (creates its git repository). */
  created(app: AppRow, actor: Account): Promise<void>;
  /** Called after the app row is gone (removes repository, slugs, cache). */
  destroyed(app: AppRow): Promise<void>;
  /** Called before the app's rows are deleted (hands slugs other apps run over to them). */
  destroying?(app: AppRow): Promise<void>;
}

export interface CreateAppInput {
  name?: string | null;
  region?: string | null;
  stack?: string | null;
  /** A pre-allocated id (app setups hand out the app's id before the app exists). */
  id?: string;
}

export const DEFAULT_STACK = 'slipway-24';
export const DEFAULT_REGION = 'local';

/** Apps, ownership and access. Every lookup by a caller goes through `resolve`. */
export class AppService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly events: EventBus,
    private readonly hooks: AppHooks,
  ) {}

  async create(actor: Account, input: CreateAppInput): Promise<AppRow> {
    const name = input.name == null || input.name === '' ? await this.freeGeneratedName() : validateAppName(input.name);
    const taken = await this.db.selectFrom('apps').select('id').where('name', '=', name).executeTakeFirst();
    if (taken) throw invalidParams(`Name ${name} is already taken; choose another name.`);
    // CI projects share the /<name>.git URL space with apps.
    const project = await this.db.selectFrom('projects').select('id').where('name', '=', name).executeTakeFirst();
    if (project) throw invalidParams(`Name ${name} is already taken by a CI project (they share the git URL /${name}.git); choose another name.`);
    if (input.stack && input.stack !== DEFAULT_STACK) {
      throw invalidParams(`Stack ${JSON.stringify(input.stack)} is not available; Slipway builds on ${DEFAULT_STACK}.`);
    }
    const stamp = now();
    const row: AppRow = {
      id: input.id ?? newId(),
      name,
      owner_id: actor.id,
      region: input.region || DEFAULT_REGION,
      stack: DEFAULT_STACK,
      build_stack: DEFAULT_STACK,
      maintenance: 0,
      config: '{}',
      buildpacks: '[]',
      created_at: stamp,
      updated_at: stamp,
      released_at: null,
    };
    try {
      await this.db.insertInto('apps').values(row).execute();
    } catch (err) {
      // Two concurrent creates of the same name: the unique index decides.
      if (String(err).match(/unique|duplicate/i)) throw invalidParams(`Name ${name} is already taken; choose another name.`);
      throw err;
    }
    try {
      await this.hooks.created(row, actor);
    } catch (err) {
      await this.db.deleteFrom('apps').where('id', '=', row.id).execute();
      throw err;
    }
    this.events.emit('app.changed', { appId: row.id });
    return row;
  }

  private async freeGeneratedName(): Promise<string> {
    for (let i = 0; i < 20; i++) {
      const name = generateAppName();
      const taken = await this.db.selectFrom('apps').select('id').where('name', '=', name).executeTakeFirst();
      if (!taken) return name;
    }
    throw conflict('Could not find a free app name; give one explicitly.');
  }

  /** Apps the account owns or collaborates on (admins see every app). */
  async list(actor: Account): Promise<AppRow[]> {
    let query = this.db.selectFrom('apps').selectAll().orderBy('name');
    if (!actor.admin) {
      query = query.where((eb) =>
        eb.or([
          eb('owner_id', '=', actor.id),
          eb('id', 'in', eb.selectFrom('collaborators').select('app_id').where('account_id', '=', actor.id)),
        ]),
      );
    }
    return query.execute();
  }

  /** Finds an app by name or id, checking the actor may use it. */
  async resolve(actor: Account, idOrName: string): Promise<AppRow> {
    const app = await this.find(idOrName);
    if (!app) throw appNotFound();
    if (!(await this.canAccess(actor, app))) {
      throw forbidden(`You do not have access to the app ${app.name}.`);
    }
    return app;
  }

  async find(idOrName: string): Promise<AppRow | undefined> {
    const column = isUuid(idOrName) ? 'id' : 'name';
    return this.db.selectFrom('apps').selectAll().where(column, '=', idOrName).executeTakeFirst();
  }

  async getById(id: string): Promise<AppRow | undefined> {
    return this.db.selectFrom('apps').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async canAccess(actor: Account, app: AppRow): Promise<boolean> {
    if (actor.admin || app.owner_id === actor.id) return true;
    const collaborator = await this.db
      .selectFrom('collaborators')
      .select('id')
      .where('app_id', '=', app.id)
      .where('account_id', '=', actor.id)
      .executeTakeFirst();
    return Boolean(collaborator);
  }

  async update(actor: Account, idOrName: string, patch: { maintenance?: unknown; name?: unknown; build_stack?: unknown }): Promise<AppRow> {
    const app = await this.resolve(actor, idOrName);
    const changes: Partial<AppRow> = {};
    if (patch.maintenance !== undefined) {
      if (typeof patch.maintenance !== 'boolean') throw invalidParams('maintenance must be true or false.');
      changes.maintenance = patch.maintenance ? 1 : 0;
    }
    if (patch.build_stack !== undefined && patch.build_stack !== DEFAULT_STACK) {
      throw invalidParams(`Stack ${JSON.stringify(patch.build_stack)} is not available; Slipway builds on ${DEFAULT_STACK}.`);
    }
    if (patch.name !== undefined && patch.name !== app.name) {
      throw invalidParams('Renaming apps is not supported yet; create a new app and deploy to it.');
    }
    if (Object.keys(changes).length === 0) return app;
    changes.updated_at = now();
    await this.db.updateTable('apps').set(changes).where('id', '=', app.id).execute();
    this.events.emit('app.changed', { appId: app.id });
    return { ...app, ...changes };
  }

  async destroy(actor: Account, idOrName: string): Promise<AppRow> {
    const app = await this.resolve(actor, idOrName);
    if (!actor.admin && app.owner_id !== actor.id) {
      throw forbidden(`Only the owner of ${app.name} can destroy it.`);
    }
    // Stop dynos first, so nothing keeps running for an app that no longer exists.
    this.events.emit('app.deleted', { appId: app.id, appName: app.name });
    await this.hooks.destroying?.(app);
    await this.db.transaction().execute(async (trx) => {
      for (const table of ['app_features', 'domains', 'formations', 'releases', 'builds', 'slugs', 'collaborators'] as const) {
        await trx.deleteFrom(table).where('app_id', '=', app.id).execute();
      }
      await trx.deleteFrom('apps').where('id', '=', app.id).execute();
    });
    this.events.emit('app.changed', { appId: app.id });
    await this.hooks.destroyed(app);
    return app;
  }

  async markReleased(appId: string): Promise<void> {
    const stamp = now();
    await this.db.updateTable('apps').set({ released_at: stamp, updated_at: stamp }).where('id', '=', appId).execute();
  }
}
