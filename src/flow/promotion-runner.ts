import type { Kysely } from 'kysely';
import type { Database, AppRow, PipelinePromotionTargetRow, ReleaseRow } from '../store/schema.js';
import type { Account } from '../auth/accounts.js';
import type { AppService } from '../apps/apps.js';
import type { ReleaseService } from '../release/releases.js';
import { parseConfig } from '../release/releases.js';
import { now } from '../core/ids.js';

/**
 * Carries out a promotion that may proceed: in each target app, a new release with the
 * source release's slug (the same slug row: nothing is rebuilt) and the target's own config
 * vars. Each target follows its own release phase; one failing changes nothing elsewhere.
 */
export class PromotionRunner {
  private readonly running = new Map<string, Promise<void>>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly apps: AppService,
    private readonly releases: ReleaseService,
  ) {}

  /** Starts releasing into every target in the background. */
  start(promotionId: string, targets: PipelinePromotionTargetRow[], source: AppRow, release: ReleaseRow, actor: Account): void {
    const run = this.run(promotionId, targets, source, release, actor).finally(() => this.running.delete(promotionId));
    this.running.set(promotionId, run);
  }

  /** Resolves when every target of a started promotion has finished. */
  async settled(promotionId: string): Promise<void> {
    await this.running.get(promotionId);
  }

  async finishTarget(id: string, status: 'succeeded' | 'failed', message: string | null): Promise<void> {
    await this.db.updateTable('pipeline_promotion_targets').set({ status, error_message: message, updated_at: now() }).where('id', '=', id).execute();
  }

  private async run(promotionId: string, targets: PipelinePromotionTargetRow[], source: AppRow, release: ReleaseRow, actor: Account): Promise<void> {
    await Promise.all(targets.map((t) => this.promoteTo(t, source, release, actor)));
    await this.db.updateTable('pipeline_promotions').set({ status: 'completed', updated_at: now() }).where('id', '=', promotionId).execute();
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
}
