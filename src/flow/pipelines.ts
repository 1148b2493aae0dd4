import type { Kysely } from 'kysely';
import type { Database, AppRow, PipelineCouplingRow, PipelineRow } from '../store/schema.js';
import type { Account } from '../auth/accounts.js';
import type { AppService } from '../apps/apps.js';
import { newId, now, isUuid } from '../core/ids.js';
import { conflict, forbidden, invalidParams, notFound } from '../core/errors.js';

/** Pipeline stages, upstream first (Heroku's `test` stage is for CI and not supported). */
export const STAGES = ['review', 'development', 'staging', 'production'] as const;
export type Stage = (typeof STAGES)[number];
/** The order promotions follow: an app promotes to the next of these stages. */
export const PROMOTION_ORDER: readonly string[] = ['development', 'staging', 'production'];

const PIPELINE_NAME = /^[a-z][a-z0-9-]{2,29}$/;

export const pipelineNotFound = (idOrName: string) => notFound('pipeline', `Couldn't find pipeline ${idOrName}.`);

/**
 * Pipelines (Heroku sense): named groups of apps, each app coupled at one stage. An app is
 * in at most one pipeline. A caller sees a pipeline it owns or one holding an app it can
 * access, and only ever the coupled apps it can access.
 */
export class PipelineService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly apps: AppService,
  ) {}

  // ---- pipelines ----------------------------------------------------------------------------

  async list(actor: Account, name?: string): Promise<PipelineRow[]> {
    let query = this.db.selectFrom('pipelines').selectAll().orderBy('name').orderBy('created_at');
    if (name !== undefined) query = query.where('name', '=', name);
    const rows = await query.execute();
    const visible: PipelineRow[] = [];
    for (const row of rows) if (await this.canSee(actor, row)) visible.push(row);
    return visible;
  }

  /** A pipeline by id or name, if the caller can see it. */
  async resolve(actor: Account, idOrName: string): Promise<PipelineRow> {
    if (isUuid(idOrName)) {
      const row = await this.db.selectFrom('pipelines').selectAll().where('id', '=', idOrName).executeTakeFirst();
      if (!row || !(await this.canSee(actor, row))) throw pipelineNotFound(idOrName);
      return row;
    }
    const matches = await this.list(actor, idOrName);
    if (matches.length === 0) throw pipelineNotFound(idOrName);
    // The caller's own pipeline wins over others' of the same name.
    return matches.find((p) => p.owner_id === actor.id) ?? matches[0];
  }

  async create(actor: Account, body: { name?: unknown; owner?: unknown }): Promise<PipelineRow> {
    const name = validateName(body.name);
    const owner = body.owner as { id?: unknown; type?: unknown } | null | undefined;
    if (owner !== undefined && owner !== null) {
      if (typeof owner !== 'object') throw invalidParams('owner must be {"id": "<account id>", "type": "user"}.');
      if (owner.type !== undefined && owner.type !== 'user') throw invalidParams('Slipway has no teams yet: a pipeline is owned by a user (owner.type "user").');
      if (owner.id !== undefined && owner.id !== actor.id && !actor.admin) throw forbidden('You can only create pipelines that you own.');
    }
    const ownerId = typeof owner?.id === 'string' && actor.admin ? owner.id : actor.id;
    const stamp = now();
    const row: PipelineRow = { id: newId(), name, owner_id: ownerId, owner_type: 'user', project_id: null, created_at: stamp, updated_at: stamp };
    try {
      await this.db.insertInto('pipelines').values(row).execute();
    } catch (err) {
      if (/unique|duplicate/i.test(String(err))) throw invalidParams(`You already have a pipeline named ${name}; choose another name.`);
      if (/foreign key|violates/i.test(String(err))) throw invalidParams(`owner.id ${ownerId} is not an account.`);
      throw err;
    }
    return row;
  }

  async rename(actor: Account, idOrName: string, body: { name?: unknown }): Promise<PipelineRow> {
    const pipeline = await this.resolveOwned(actor, idOrName);
    if (body.name === undefined) return pipeline;
    const name = validateName(body.name);
    const stamp = now();
    try {
      await this.db.updateTable('pipelines').set({ name, updated_at: stamp }).where('id', '=', pipeline.id).execute();
    } catch (err) {
      if (/unique|duplicate/i.test(String(err))) throw invalidParams(`There is already a pipeline named ${name}; choose another name.`);
      throw err;
    }
    return { ...pipeline, name, updated_at: stamp };
  }

  /** Deletes the pipeline and its couplings; the apps stay as they are. */
  async destroy(actor: Account, idOrName: string): Promise<PipelineRow> {
    const pipeline = await this.resolveOwned(actor, idOrName);
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('pipeline_couplings').where('pipeline_id', '=', pipeline.id).execute();
      await trx.deleteFrom('pipelines').where('id', '=', pipeline.id).execute();
    });
    return pipeline;
  }

  async getById(id: string): Promise<PipelineRow | undefined> {
    return this.db.selectFrom('pipelines').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** A pipeline the caller may change: its owner (or an admin). */
  async resolveOwned(actor: Account, idOrName: string): Promise<PipelineRow> {
    const pipeline = await this.resolve(actor, idOrName);
    if (!actor.admin && pipeline.owner_id !== actor.id) throw forbidden(`Only the owner of pipeline ${pipeline.name} can change or delete it.`);
    return pipeline;
  }

  private async canSee(actor: Account, pipeline: PipelineRow): Promise<boolean> {
    if (actor.admin || pipeline.owner_id === actor.id) return true;
    return (await this.accessibleCouplings(actor, pipeline.id)).length > 0;
  }

  // ---- couplings ----------------------------------------------------------------------------

  /** Couplings of a pipeline whose apps the caller can access. */
  async couplingsOf(actor: Account, pipelineIdOrName: string): Promise<PipelineCouplingRow[]> {
    const pipeline = await this.resolve(actor, pipelineIdOrName);
    return this.accessibleCouplings(actor, pipeline.id);
  }

  /** Every coupling of an app the caller can access. */
  async listCouplings(actor: Account): Promise<PipelineCouplingRow[]> {
    const apps = new Set((await this.apps.list(actor)).map((a) => a.id));
    const rows = await this.db.selectFrom('pipeline_couplings').selectAll().orderBy('created_at').execute();
    return rows.filter((c) => apps.has(c.app_id));
  }

  /** The app's coupling, or a 404 when it is in no pipeline. */
  async couplingOfApp(app: AppRow): Promise<PipelineCouplingRow> {
    const row = await this.db.selectFrom('pipeline_couplings').selectAll().where('app_id', '=', app.id).executeTakeFirst();
    if (!row) throw notFound('pipeline-coupling', `${app.name} is not in a pipeline.`);
    return row;
  }

  async coupling(actor: Account, id: string): Promise<PipelineCouplingRow> {
    const row = isUuid(id) ? await this.db.selectFrom('pipeline_couplings').selectAll().where('id', '=', id).executeTakeFirst() : undefined;
    const app = row ? await this.apps.getById(row.app_id) : undefined;
    if (!row || !app || !(await this.apps.canAccess(actor, app))) throw notFound('pipeline-coupling', `Couldn't find pipeline coupling ${id}.`);
    return row;
  }

  async couple(actor: Account, body: { app?: unknown; pipeline?: unknown; stage?: unknown }): Promise<PipelineCouplingRow> {
    if (typeof body.app !== 'string' || body.app === '') throw invalidParams('app must be the name or id of an app.');
    if (typeof body.pipeline !== 'string' || body.pipeline === '') throw invalidParams('pipeline must be the id of a pipeline.');
    const stage = validateStage(body.stage);
    const app = await this.apps.resolve(actor, body.app);
    const pipeline = await this.resolve(actor, body.pipeline);
    const existing = await this.db.selectFrom('pipeline_couplings').select('pipeline_id').where('app_id', '=', app.id).executeTakeFirst();
    if (existing) throw alreadyCoupled(app, existing.pipeline_id === pipeline.id ? pipeline.name : undefined);
    const stamp = now();
    const row: PipelineCouplingRow = { id: newId(), pipeline_id: pipeline.id, app_id: app.id, stage, created_at: stamp, updated_at: stamp };
    try {
      await this.db.insertInto('pipeline_couplings').values(row).execute();
    } catch (err) {
      if (/unique|duplicate/i.test(String(err))) throw alreadyCoupled(app);
      throw err;
    }
    return row;
  }

  async updateCoupling(actor: Account, id: string, body: { stage?: unknown }): Promise<PipelineCouplingRow> {
    const row = await this.coupling(actor, id);
    if (body.stage === undefined) return row;
    const stage = validateStage(body.stage);
    const stamp = now();
    await this.db.updateTable('pipeline_couplings').set({ stage, updated_at: stamp }).where('id', '=', row.id).execute();
    return { ...row, stage, updated_at: stamp };
  }

  async uncouple(actor: Account, id: string): Promise<PipelineCouplingRow> {
    const row = await this.coupling(actor, id);
    await this.db.deleteFrom('pipeline_couplings').where('id', '=', row.id).execute();
    return row;
  }

  private async accessibleCouplings(actor: Account, pipelineId: string): Promise<PipelineCouplingRow[]> {
    const rows = await this.db.selectFrom('pipeline_couplings').selectAll().where('pipeline_id', '=', pipelineId).orderBy('created_at').execute();
    const result: PipelineCouplingRow[] = [];
    for (const row of rows) {
      const app = await this.apps.getById(row.app_id);
      if (app && (await this.apps.canAccess(actor, app))) result.push(row);
    }
    return result;
  }
}

function validateName(value: unknown): string {
  if (typeof value !== 'string' || !PIPELINE_NAME.test(value)) {
    throw invalidParams('A pipeline name must be 3 to 30 characters: lowercase letters, digits and dashes, starting with a letter.');
  }
  return value;
}

function validateStage(value: unknown): Stage {
  if (!STAGES.includes(value as Stage)) throw invalidParams(`stage must be one of ${STAGES.join(', ')}.`);
  return value as Stage;
}

function alreadyCoupled(app: AppRow, samePipeline?: string) {
  return conflict(
    samePipeline
      ? `${app.name} is already in pipeline ${samePipeline}; change its stage instead.`
      : `${app.name} is already in a pipeline; an app can be in only one. Remove it first (heroku pipelines:remove -a ${app.name}).`,
  );
}
