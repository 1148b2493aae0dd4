/**
 * One auto-deploy: build the commit once on the first app of the stage, release it there,
 * then release the same slug on the stage's other apps (each with its own config vars).
 */
import type { Kysely } from 'kysely';
import type { AppRow, Database, PipelineAutoDeployRow } from '../store/schema.js';
import type { AccountService } from '../auth/accounts.js';
import type { AppService } from '../apps/apps.js';
import type { AutoDeployRules } from './auto-deploy-rules.js';
import type { CommitDeployer } from './commit-deploy.js';
import { now } from '../core/ids.js';

export interface StageDeployDeps {
  db: Kysely<Database>;
  apps: AppService;
  accounts: AccountService;
  rules: AutoDeployRules;
  deployer: CommitDeployer;
}

type Outcome = Partial<PipelineAutoDeployRow> & { status: string; message: string };

export async function deployToStage(o: StageDeployDeps, record: PipelineAutoDeployRow, why: string): Promise<Outcome> {
  const short = record.sha.slice(0, 7);
  const rule = await o.rules.forStage(record.pipeline_id, record.stage);
  if (!rule || rule.branch !== record.branch) return { status: 'skipped', message: `Auto-deploy from ${record.branch} to ${record.stage} was turned off before ${short} could be deployed.` };
  const newer = await o.db
    .selectFrom('pipeline_auto_deploys')
    .select('sha')
    .where('pipeline_id', '=', record.pipeline_id)
    .where('stage', '=', record.stage)
    .where('status', '=', 'succeeded')
    .where('created_at', '>', record.created_at)
    .executeTakeFirst();
  if (newer) return { status: 'skipped', message: `A newer commit (${newer.sha.slice(0, 7)}) is already deployed to ${record.stage}; ${short} was skipped.` };

  const project = await o.db
    .selectFrom('projects')
    .innerJoin('pipelines', 'pipelines.project_id', 'projects.id')
    .selectAll('projects')
    .where('pipelines.id', '=', record.pipeline_id)
    .executeTakeFirst();
  if (!project) return { status: 'skipped', message: `The pipeline is no longer connected to a project; ${short} was not deployed.` };
  const actor = await o.accounts.getById(rule.created_by);
  if (!actor) return { status: 'failed', message: 'The account that set up this auto-deploy no longer exists.' };
  const apps = await stageApps(o, record.pipeline_id, record.stage);
  if (apps.length === 0) return { status: 'failed', message: `There is no app in the ${record.stage} stage to deploy ${short} to; add one with pipelines:add.` };

  const [first, ...others] = apps;
  const built = await o.deployer.build(first, actor, project, record.sha, async (build) => {
    await o.db.updateTable('pipeline_auto_deploys').set({ app_id: first.id, build_id: build.id, updated_at: now() }).where('id', '=', record.id).execute();
  });
  if (built.error || !built.release?.slug_id) {
    return { status: 'failed', app_id: first.id, build_id: built.build.id, message: `${why}, but ${built.error ?? 'the build made no slug'}. Nothing was deployed to ${record.stage}.` };
  }
  const done = [`${first.name} v${built.release.version} (built)`];
  const failed: string[] = [];
  if (others.length > 0) {
    await o.db.updateTable('pipeline_auto_deploys').set({ status: 'releasing', updated_at: now() }).where('id', '=', record.id).execute();
  }
  for (const app of others) {
    try {
      const release = await o.deployer.releaseSlug(app, actor, built.release.slug_id, `Deploy ${short} (auto-deploy, slug built on ${first.name})`);
      if (release.status === 'succeeded') done.push(`${app.name} v${release.version} (same slug)`);
      else failed.push(`${app.name}: the release phase of v${release.version} failed`);
    } catch (err) {
      failed.push(`${app.name}: ${(err as Error).message}`);
    }
  }
  const summary = `${why}; deployed ${short} to ${done.join(', ')}`;
  if (failed.length > 0) return { status: 'failed', app_id: first.id, build_id: built.build.id, message: `${summary}; but ${failed.join('; ')}.` };
  return { status: 'succeeded', app_id: first.id, build_id: built.build.id, message: `${summary}.` };
}

/** The stage's apps, oldest coupling first (the first one builds). */
async function stageApps(o: StageDeployDeps, pipelineId: string, stage: string): Promise<AppRow[]> {
  const couplings = await o.db.selectFrom('pipeline_couplings').select('app_id').where('pipeline_id', '=', pipelineId).where('stage', '=', stage).orderBy('created_at').execute();
  const apps: AppRow[] = [];
  for (const c of couplings) {
    const app = await o.apps.getById(c.app_id);
    if (app) apps.push(app);
  }
  return apps;
}
