import type { Kysely } from 'kysely';
import type { Database, AppRow, PipelinePromotionRow, PipelinePromotionTargetRow, ReleaseRow } from '../store/schema.js';
import type { Account, AccountService } from '../auth/accounts.js';
import type { AppService } from '../apps/apps.js';
import type { ReleaseService } from '../release/releases.js';
import { newId, now, isUuid } from '../core/ids.js';
import { conflict, notFound } from '../core/errors.js';
import type { PipelineService } from './pipelines.js';
import { policyForStages, type StagePolicyService } from './approvals-policy.js';
import { checkDecision, decisionNote, type Decision } from './approvals-rules.js';
import { PromotionRunner } from './promotion-runner.js';
import { resolvePromotion, type PromotionRequest } from './promotion-request.js';

export type { PromotionRequest } from './promotion-request.js';

export interface PromotionDeps {
  db: Kysely<Database>;
  apps: AppService;
  pipelines: PipelineService;
  releases: ReleaseService;
  accounts: AccountService;
  policies: StagePolicyService;
}

/**
 * Promotions copy the source app's current slug, unchanged (same slug id, no rebuild), into
 * a new release of each target app. Each target keeps its own config vars and runs its own
 * release phase; a target that fails changes nothing for the others or for the source.
 *
 * A promotion into a stage whose policy requires approval is recorded with its targets
 * `awaiting_approval` and releases nothing until an authorised user approves it (then it runs
 * as any other) or someone rejects it (then it is completed with every target failed).
 */
export class PromotionService {
  private readonly runner: PromotionRunner;
  private readonly db: Kysely<Database>;

  constructor(private readonly deps: PromotionDeps) {
    this.db = deps.db;
    this.runner = new PromotionRunner(deps.db, deps.apps, deps.releases);
  }

  async create(actor: Account, body: PromotionRequest): Promise<PipelinePromotionRow> {
    const { pipeline, source, release, targets } = await resolvePromotion(this.deps, actor, body);
    const policy = policyForStages(
      targets.map((t) => t.stage),
      await this.deps.policies.forPipeline(pipeline.id),
    );
    const stamp = now();
    const promotion: PipelinePromotionRow = {
      id: newId(),
      pipeline_id: pipeline.id,
      source_app_id: source.id,
      source_release_id: release.id,
      user_id: actor.id,
      status: 'pending',
      approval_policy: policy,
      approval_status: policy ? 'awaiting' : null,
      decided_by: null,
      decided_at: null,
      created_at: stamp,
      updated_at: stamp,
    };
    const rows: PipelinePromotionTargetRow[] = targets.map(({ app }) => ({
      id: newId(),
      promotion_id: promotion.id,
      app_id: app.id,
      status: policy ? 'awaiting_approval' : 'pending',
      error_message: null,
      release_id: null,
      created_at: stamp,
      updated_at: stamp,
    }));
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('pipeline_promotions').values(promotion).execute();
      await trx.insertInto('pipeline_promotion_targets').values(rows).execute();
    });
    if (!policy) this.runner.start(promotion.id, rows, source, release, actor);
    return promotion;
  }

  /** Approves a promotion that waits for approval, then releases it into its targets. */
  async approve(actor: Account, id: string): Promise<PipelinePromotionRow> {
    const decided = await this.decide(actor, id, 'approve');
    const targets = await this.targetRows(decided.id);
    const source = await this.deps.apps.getById(decided.source_app_id);
    const release = await this.db.selectFrom('releases').selectAll().where('id', '=', decided.source_release_id).executeTakeFirst();
    if (!source || !release) {
      for (const t of targets) await this.runner.finishTarget(t.id, 'failed', 'The source app or its release was deleted while the promotion waited for approval; nothing was released.');
      await this.complete(decided.id);
      return this.row(decided.id);
    }
    // The releases are made on behalf of the user who asked for the promotion.
    const requester = (await this.deps.accounts.getById(decided.user_id)) ?? actor;
    this.runner.start(decided.id, targets.map((t) => ({ ...t, status: 'pending' })), source, release as ReleaseRow, requester);
    return this.row(decided.id);
  }

  /** Rejects (or, for the one who asked, cancels) a promotion that waits for approval. */
  async reject(actor: Account, id: string): Promise<PipelinePromotionRow> {
    const decided = await this.decide(actor, id, 'reject');
    return this.row(decided.id);
  }

  /** Resolves when every target of a promotion has finished (for tests and shutdown). */
  async settled(promotionId: string): Promise<void> {
    await this.runner.settled(promotionId);
  }

  async get(actor: Account, id: string): Promise<PipelinePromotionRow> {
    const row = isUuid(id) ? await this.db.selectFrom('pipeline_promotions').selectAll().where('id', '=', id).executeTakeFirst() : undefined;
    if (!row) throw notFound('pipeline-promotion', `Couldn't find promotion ${id}.`);
    // Visible to whoever can see its pipeline.
    await this.deps.pipelines.resolve(actor, row.pipeline_id).catch(() => {
      throw notFound('pipeline-promotion', `Couldn't find promotion ${id}.`);
    });
    return row;
  }

  async targets(actor: Account, promotionId: string): Promise<PipelinePromotionTargetRow[]> {
    const promotion = await this.get(actor, promotionId);
    return this.targetRows(promotion.id);
  }

  targetRows(promotionId: string): Promise<PipelinePromotionTargetRow[]> {
    return this.db.selectFrom('pipeline_promotion_targets').selectAll().where('promotion_id', '=', promotionId).orderBy('created_at').orderBy('id').execute();
  }

  /** A pipeline's promotions, newest first (at most `limit`). */
  async list(actor: Account, pipelineIdOrName: string, limit = 100): Promise<PipelinePromotionRow[]> {
    const pipeline = await this.deps.pipelines.resolve(actor, pipelineIdOrName);
    return this.db.selectFrom('pipeline_promotions').selectAll().where('pipeline_id', '=', pipeline.id).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  }

  /**
   * After a restart: targets left `pending` get the outcome of their release, or fail.
   * Promotions waiting for approval are not running, so they keep waiting.
   */
  async failInterrupted(): Promise<void> {
    const pending = await this.db.selectFrom('pipeline_promotion_targets').selectAll().where('status', '=', 'pending').execute();
    for (const t of pending) {
      const release = t.release_id ? await this.db.selectFrom('releases').select('status').where('id', '=', t.release_id).executeTakeFirst() : undefined;
      const ok = release?.status === 'succeeded';
      await this.runner.finishTarget(t.id, ok ? 'succeeded' : 'failed', ok ? null : 'Slipway restarted during this promotion; promote again.');
    }
    await this.db
      .updateTable('pipeline_promotions')
      .set({ status: 'completed', updated_at: now() })
      .where('status', '=', 'pending')
      .where((eb) => eb.or([eb('approval_status', 'is', null), eb('approval_status', '!=', 'awaiting')]))
      .execute();
  }

  /**
   * Checks the decision is allowed, then records it with its effect on the targets in one
   * transaction (approved: `pending`, to be released; rejected: `failed`, and the promotion
   * completed). Only once: of two concurrent decisions, the second fails.
   */
  private async decide(actor: Account, id: string, decision: Decision): Promise<PipelinePromotionRow> {
    const promotion = await this.get(actor, id);
    const pipeline = await this.deps.pipelines.resolve(actor, promotion.pipeline_id);
    const targetApps = await this.targetApps(promotion.id);
    const decider = promotion.decided_by ? await this.deps.accounts.getById(promotion.decided_by) : null;
    const canAccessAll = (await Promise.all(targetApps.map((a) => this.deps.apps.canAccess(actor, a)))).every(Boolean);
    checkDecision({ promotion, pipeline, targetApps, actor, decision, canAccessAll, deciderEmail: decider?.email ?? null });
    const stamp = now();
    const note = promotion.user_id === actor.id ? `Cancelled by ${actor.email}, who asked for it; nothing was released.` : `Rejected by ${actor.email}; nothing was released.`;
    const updated = await this.db.transaction().execute(async (trx) => {
      const result = await trx
        .updateTable('pipeline_promotions')
        .set({
          approval_status: decision === 'approve' ? 'approved' : 'rejected',
          decided_by: actor.id,
          decided_at: stamp,
          updated_at: stamp,
          ...(decision === 'reject' ? { status: 'completed' } : {}),
        })
        .where('id', '=', promotion.id)
        .where('approval_status', '=', 'awaiting')
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) return false;
      await trx
        .updateTable('pipeline_promotion_targets')
        .set(decision === 'approve' ? { status: 'pending', updated_at: stamp } : { status: 'failed', error_message: note, updated_at: stamp })
        .where('promotion_id', '=', promotion.id)
        .where('status', '=', 'awaiting_approval')
        .execute();
      return true;
    });
    if (!updated) {
      const latest = await this.row(promotion.id);
      const who = latest.decided_by ? await this.deps.accounts.getById(latest.decided_by) : null;
      checkDecision({ promotion: latest, pipeline, targetApps, actor, decision, canAccessAll, deciderEmail: who?.email ?? null });
      throw conflict(decisionNote(latest, who?.email ?? null));
    }
    return this.row(promotion.id);
  }

  private async targetApps(promotionId: string): Promise<AppRow[]> {
    const apps: AppRow[] = [];
    for (const t of await this.targetRows(promotionId)) {
      const app = await this.deps.apps.getById(t.app_id);
      if (app) apps.push(app);
    }
    return apps;
  }

  private async complete(id: string): Promise<void> {
    await this.db.updateTable('pipeline_promotions').set({ status: 'completed', updated_at: now() }).where('id', '=', id).execute();
  }

  private row(id: string): Promise<PipelinePromotionRow> {
    return this.db.selectFrom('pipeline_promotions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  }
}
