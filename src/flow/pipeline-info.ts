import type { Kysely } from 'kysely';
import type { Database, ReleaseRow } from '../store/schema.js';
import type { Account } from '../auth/accounts.js';
import { currentRelease } from '../store/queries.js';
import { STAGES, type PipelineService } from './pipelines.js';
import type { StagePolicy, StagePolicyService } from './approvals-policy.js';

export interface ReleaseSummary {
  id: string;
  version: number;
  status: string;
  description: string;
  created_at: string;
}

export interface StageApp {
  app: { id: string; name: string };
  /** The release the app runs (its latest succeeded one), or null before its first. */
  current_release: (ReleaseSummary & { slug: { id: string } | null }) | null;
  /** The newest release when it is not the current one (still releasing, or failed). */
  latest_release: ReleaseSummary | null;
  /** The commit of the current release's slug (a build's source version), if known. */
  commit: { sha: string; description: string | null } | null;
  /** succeeded, releasing (newest release pending), failed (newest release failed), not_deployed (no slug yet) or not_released. */
  status: string;
  /** Promotions into this app waiting for approval. */
  awaiting_approval: string[];
}

export interface PipelineOverview {
  pipeline: { id: string; name: string; owner: { id: string; email: string | null } };
  stages: Array<{ name: string; approval: StagePolicy | null; apps: StageApp[] }>;
}

/**
 * `pipelines:info` in one answer: every stage of a pipeline (upstream first) with the apps the
 * caller can access, each with its current release, the commit it runs, and its status.
 */
export class PipelineInfoService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly pipelines: PipelineService,
    private readonly policies: StagePolicyService,
  ) {}

  async overview(actor: Account, idOrName: string): Promise<PipelineOverview> {
    const pipeline = await this.pipelines.resolve(actor, idOrName);
    const couplings = await this.pipelines.couplingsOf(actor, pipeline.id);
    const policies = new Map((await this.policies.list(actor, pipeline.id)).map((p) => [p.stage, p]));
    const owner = await this.db.selectFrom('accounts').select('email').where('id', '=', pipeline.owner_id).executeTakeFirst();
    const awaiting = await this.db
      .selectFrom('pipeline_promotion_targets as t')
      .innerJoin('pipeline_promotions as p', 'p.id', 't.promotion_id')
      .select(['t.app_id as app_id', 'p.id as promotion_id'])
      .where('p.pipeline_id', '=', pipeline.id)
      .where('t.status', '=', 'awaiting_approval')
      .orderBy('p.created_at')
      .execute();
    const stages = [];
    for (const stage of STAGES) {
      const apps: StageApp[] = [];
      for (const c of couplings.filter((c) => c.stage === stage)) {
        const app = await this.db.selectFrom('apps').select(['id', 'name']).where('id', '=', c.app_id).executeTakeFirst();
        if (!app) continue;
        apps.push({ ...(await this.appState(app)), awaiting_approval: awaiting.filter((a) => a.app_id === app.id).map((a) => a.promotion_id) });
      }
      apps.sort((a, b) => a.app.name.localeCompare(b.app.name));
      const approval = policies.get(stage) ?? null;
      stages.push({ name: stage, approval, apps });
    }
    return { pipeline: { id: pipeline.id, name: pipeline.name, owner: { id: pipeline.owner_id, email: owner?.email ?? null } }, stages };
  }

  private async appState(app: { id: string; name: string }): Promise<Omit<StageApp, 'awaiting_approval'>> {
    const current = await currentRelease(this.db, app.id);
    const newest = await this.db.selectFrom('releases').selectAll().where('app_id', '=', app.id).orderBy('version', 'desc').limit(1).executeTakeFirst();
    const slug = current?.slug_id ? await this.db.selectFrom('slugs').select(['commit', 'commit_description']).where('id', '=', current.slug_id).executeTakeFirst() : undefined;
    const latest = newest && newest.id !== current?.id ? summary(newest) : null;
    const status = !newest ? 'not_released' : !current?.slug_id && newest.status !== 'pending' ? 'not_deployed' : newest.status === 'pending' ? 'releasing' : newest.status === 'failed' && newest.id !== current?.id ? 'failed' : current ? 'succeeded' : newest.status;
    return {
      app,
      current_release: current ? { ...summary(current), slug: current.slug_id ? { id: current.slug_id } : null } : null,
      latest_release: latest,
      commit: slug?.commit ? { sha: slug.commit, description: slug.commit_description } : null,
      status,
    };
  }
}

const summary = (r: ReleaseRow): ReleaseSummary => ({ id: r.id, version: r.version, status: r.status, description: r.description, created_at: r.created_at });
