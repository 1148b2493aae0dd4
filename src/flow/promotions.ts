import type { Kysely } from 'kysely';
import type { Database, AppRow, PipelinePromotionRow, PipelinePromotionTargetRow, ReleaseRow } from '../store/schema.js';
import type { Account } from '../auth/accounts.js';
import type { AppService } from '../apps/apps.js';
import type { ReleaseService } from '../release/releases.js';
import { parseConfig } from '../release/releases.js';
import { newId, now, isUuid } from '../core/ids.js';
import { invalidParams, notFound } from '../core/errors.js';
import { PROMOTION_ORDER, type PipelineService } from './pipelines.js';

export interface PromotionRequest {
  pipeline?: { id?: unknown } | null;
  source?: { app?: { id?: unknown } | null } | null;
  targets?: unknown;
}

/**
 * Promotions copy the source app's current slug, unchanged (same slug id, no rebuild), into
 * a new release of each target app. Each target keeps its own config vars and runs its own
 * release phase; a target that fails changes nothing for the others or for the source.
 */
export class PromotionService {
  private readonly running = new Map<string, Promise<void>>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly apps: AppService,
    private readonly pipelines: PipelineService,
    private readonly releases: ReleaseService,
  ) {}

  async create(actor: Account, body: PromotionRequest): Promise<PipelinePromotionRow> {
    if (!body || typeof body !== 'object') throw invalidParams('Send {"pipeline": {"id": …}, "source": {"app": {"id": …}}, "targets": [{"app": {"id": …}}]}.');
    const pipelineId = body.pipeline?.id;
    const sourceId = body.source?.app?.id;
    if (typeof pipelineId !== 'string' || pipelineId === '') throw invalidParams('pipeline.id must name the pipeline to promote in.');
    if (typeof sourceId !== 'string' || sourceId === '') throw invalidParams('source.app.id must name the app to promote from.');
    const pipeline = await this.pipelines.resolve(actor, pipelineId);
    const source = await this.apps.resolve(actor, sourceId);
    const couplings = await this.pipelines.couplingsOf(actor, pipeline.id);
    const sourceCoupling = couplings.find((c) => c.app_id === source.id);
    if (!sourceCoupling) throw invalidParams(`${source.name} is not in pipeline ${pipeline.name}.`);

    const targets: AppRow[] = [];
    if (body.targets === undefined || body.targets === null || (Array.isArray(body.targets) && body.targets.length === 0)) {
      const next = PROMOTION_ORDER[PROMOTION_ORDER.indexOf(sourceCoupling.stage) + 1];
      if (!PROMOTION_ORDER.includes(sourceCoupling.stage) || !next) {
        throw invalidParams(`Cannot promote ${source.name} from the ${sourceCoupling.stage} stage: there is no downstream stage. Name the target apps explicitly.`);
      }
      for (const c of couplings.filter((c) => c.stage === next)) {
        const app = await this.apps.getById(c.app_id);
        if (app) targets.push(app);
      }
      if (targets.length === 0) throw invalidParams(`Cannot promote ${source.name}: pipeline ${pipeline.name} has no apps in the ${next} stage.`);
    } else {
      if (!Array.isArray(body.targets)) throw invalidParams('targets must be a list of {"app": {"id": …}}.');
      for (const t of body.targets as Array<{ app?: { id?: unknown } } | null>) {
        const id = t?.app?.id;
        if (typeof id !== 'string' || id === '') throw invalidParams('Each target needs app.id.');
        const app = await this.apps.resolve(actor, id);
        if (app.id === source.id) throw invalidParams(`Cannot promote ${source.name} to itself.`);
        if (!couplings.some((c) => c.app_id === app.id)) throw invalidParams(`${app.name} is not in pipeline ${pipeline.name}; only apps of the same pipeline can be promotion targets.`);
        if (!targets.some((x) => x.id === app.id)) targets.push(app);
      }
    }

    const release = await this.releases.current(source.id);
    const slug = await this.releases.slug(release?.slug_id ?? null);
    if (!release || !slug) throw invalidParams(`${source.name} has no slug to promote: deploy it first.`);

    const stamp = now();
    const promotion: PipelinePromotionRow = {
      id: newId(),
      pipeline_id: pipeline.id,
      source_app_id: source.id,
      source_release_id: release.id,
      user_id: actor.id,
      status: 'pending',
      created_at: stamp,
      updated_at: stamp,
    };
    const rows: PipelinePromotionTargetRow[] = targets.map((app) => ({
      id: newId(),
      promotion_id: promotion.id,
      app_id: app.id,
      status: 'pending',
      error_message: null,
      release_id: null,
      created_at: stamp,
      updated_at: stamp,
    }));
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('pipeline_promotions').values(promotion).execute();
      await trx.insertInto('pipeline_promotion_targets').values(rows).execute();
    });
    const run = this.run(promotion, rows, source, release, actor).finally(() => this.running.delete(promotion.id));
    this.running.set(promotion.id, run);
    return promotion;
  }

  /** Resolves when every target of a promotion has finished (for tests and shutdown). */
  async settled(promotionId: string): Promise<void> {
    await this.running.get(promotionId);
  }

  async get(actor: Account, id: string): Promise<PipelinePromotionRow> {
    const row = isUuid(id) ? await this.db.selectFrom('pipeline_promotions').selectAll().where('id', '=', id).executeTakeFirst() : undefined;
    if (!row) throw notFound('pipeline-promotion', `Couldn't find promotion ${id}.`);
    // Visible to whoever can see its pipeline.
    await this.pipelines.resolve(actor, row.pipeline_id).catch(() => {
      throw notFound('pipeline-promotion', `Couldn't find promotion ${id}.`);
    });
    return row;
  }

  async targets(actor: Account, promotionId: string): Promise<PipelinePromotionTargetRow[]> {
    const promotion = await this.get(actor, promotionId);
    return this.db.selectFrom('pipeline_promotion_targets').selectAll().where('promotion_id', '=', promotion.id).orderBy('created_at').orderBy('id').execute();
  }

  /** Targets left pending by a restart get the outcome of their release, or fail. */
  async failInterrupted(): Promise<void> {
    const pending = await this.db.selectFrom('pipeline_promotion_targets').selectAll().where('status', '=', 'pending').execute();
    for (const t of pending) {
      const release = t.release_id ? await this.db.selectFrom('releases').select('status').where('id', '=', t.release_id).executeTakeFirst() : undefined;
      const ok = release?.status === 'succeeded';
      await this.finishTarget(t.id, ok ? 'succeeded' : 'failed', ok ? null : 'Slipway restarted during this promotion; promote again.');
    }
    await this.db.updateTable('pipeline_promotions').set({ status: 'completed', updated_at: now() }).where('status', '=', 'pending').execute();
  }

  private async run(promotion: PipelinePromotionRow, targets: PipelinePromotionTargetRow[], source: AppRow, release: ReleaseRow, actor: Account): Promise<void> {
    await Promise.all(targets.map((t) => this.promoteTo(t, source, release, actor)));
    await this.db.updateTable('pipeline_promotions').set({ status: 'completed', updated_at: now() }).where('id', '=', promotion.id).execute();
  }

  private async promoteTo(target: PipelinePromotionTargetRow, source: AppRow, sourceRelease: ReleaseRow, actor: Account): Promise<void> {
    try {
      const app = await this.apps.getById(target.app_id);
      if (!app) return await this.finishTarget(target.id, 'failed', 'The target app was deleted during the promotion.');
      const created = await this.releases.create({
        app,
        actor,
        slugId: sourceRelease.slug_id,
        config: parseConfig(app.config),
        description: `Promote ${source.name} v${sourceRelease.version}`,
      });
      await this.db.updateTable('pipeline_promotion_targets').set({ release_id: created.id, updated_at: now() }).where('id', '=', target.id).execute();
      const settled = await this.releases.settle(created);
      if (settled.status === 'succeeded') return await this.finishTarget(target.id, 'succeeded', null);
      await this.finishTarget(target.id, 'failed', `The release phase of ${app.name} v${created.version} failed; ${app.name} keeps running its previous release.`);
    } catch (err) {
      await this.finishTarget(target.id, 'failed', `Promotion failed: ${(err as Error).message}`).catch(() => undefined);
    }
  }

  private async finishTarget(id: string, status: 'succeeded' | 'failed', message: string | null): Promise<void> {
    await this.db.updateTable('pipeline_promotion_targets').set({ status, error_message: message, updated_at: now() }).where('id', '=', id).execute();
  }
}
