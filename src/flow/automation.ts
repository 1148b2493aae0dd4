/**
 * Pipeline automation on connected CI projects, built in one place for the composition root:
 * connections, auto-deploy (with Heroku CI test runs as a gate) and review apps.
 */
import type { Kysely } from 'kysely';
import type { Database, ProjectRow } from '../store/schema.js';
import { now } from '../core/ids.js';
import type { EventBus } from '../core/events.js';
import type { AccountService } from '../auth/accounts.js';
import type { AppService } from '../apps/apps.js';
import type { AppSetupService } from '../deploy/app-setups.js';
import type { BuildService } from '../deploy/builds.js';
import type { SourceService } from '../deploy/sources.js';
import type { ReleaseService } from '../release/releases.js';
import type { ProjectService } from '../projects/projects.js';
import type { PipelineService } from './pipelines.js';
import { PipelineConnectionService } from './connections.js';
import { CommitSources } from './commit-sources.js';
import { CommitDeployer } from './commit-deploy.js';
import { AutoDeployRules } from './auto-deploy-rules.js';
import { AutoDeployService, type CiLookup } from './auto-deploy.js';
import { TestRunService, type TestScriptRunner } from './test-runs.js';
import { ReviewAppConfigService } from './review-app-config.js';
import { ReviewAppLifecycle } from './review-app-lifecycle.js';
import { ReviewAppService } from './review-apps.js';
import { ReviewAppTriggers } from './review-app-triggers.js';

export interface FlowAutomationOptions {
  db: Kysely<Database>;
  events: EventBus;
  accounts: AccountService;
  apps: AppService;
  appSetups: AppSetupService;
  builds: BuildService;
  sources: SourceService;
  releases: ReleaseService;
  projects: ProjectService;
  pipelines: PipelineService;
  ci: CiLookup;
  testRunner: TestScriptRunner;
  /** The bare repository of a CI project. */
  repoDir(project: ProjectRow): string;
  tmpDir: string;
  appUrl(appName: string): string;
}

export interface FlowAutomation {
  connections: PipelineConnectionService;
  rules: AutoDeployRules;
  autoDeploys: AutoDeployService;
  testRuns: TestRunService;
  reviewAppConfigs: ReviewAppConfigService;
  reviewApps: ReviewAppService;
  /** Work a restart interrupted ends failed (review apps errored, with their half-made app removed). */
  failInterrupted(): Promise<void>;
  /** Starts background work (the review app idle sweep). */
  start(): void;
  close(): void;
}

export function createFlowAutomation(o: FlowAutomationOptions): FlowAutomation {
  const { db } = o;
  const connections = new PipelineConnectionService(db, o.pipelines, o.projects);
  const sources = new CommitSources({ sources: o.sources, repoDir: o.repoDir, tmpDir: o.tmpDir });
  const deployer = new CommitDeployer(o.builds, o.releases, sources);
  const rules = new AutoDeployRules(db, o.pipelines);
  const testRuns = new TestRunService({ db, apps: o.apps, appSetups: o.appSetups, releases: o.releases, sources, runner: o.testRunner });
  const autoDeploys = new AutoDeployService({ db, events: o.events, accounts: o.accounts, apps: o.apps, connections, rules, deployer, ci: o.ci, tests: testRuns });
  const reviewAppConfigs = new ReviewAppConfigService(db, o.pipelines, connections);
  const lifecycle = new ReviewAppLifecycle({ db, apps: o.apps, accounts: o.accounts, pipelines: o.pipelines, appSetups: o.appSetups, sources, deployer });
  const reviewApps = new ReviewAppService({ db, apps: o.apps, pipelines: o.pipelines, connections, configs: reviewAppConfigs, lifecycle, sources, appUrl: o.appUrl });
  const triggers = new ReviewAppTriggers(db, o.events, reviewApps);
  return {
    connections,
    rules,
    autoDeploys,
    testRuns,
    reviewAppConfigs,
    reviewApps,
    failInterrupted: () => failInterrupted(db, lifecycle),
    start: () => triggers.start(),
    close: () => triggers.close(),
  };
}

const RESTARTED = 'Slipway restarted while this was in progress';

async function failInterrupted(db: Kysely<Database>, lifecycle: ReviewAppLifecycle): Promise<void> {
  const stamp = now();
  await db.updateTable('pipeline_auto_deploys').set({ status: 'failed', message: `${RESTARTED}; push again (or promote) to deploy.`, updated_at: stamp }).where('status', 'in', ['pending', 'building', 'releasing']).execute();
  await db.updateTable('flow_test_runs').set({ status: 'errored', message: `${RESTARTED}.`, updated_at: stamp, finished_at: stamp }).where('status', 'in', ['creating', 'running']).execute();
  const deploys = await db.selectFrom('pipeline_auto_deploys').select('id').where('status', '=', 'testing').execute();
  for (const d of deploys) await db.updateTable('pipeline_auto_deploys').set({ status: 'failed', message: `${RESTARTED}: its test run was interrupted.`, updated_at: stamp }).where('id', '=', d.id).execute();
  const reviewApps = await db.selectFrom('review_apps').selectAll().where('status', 'in', ['pending', 'creating', 'deleting']).execute();
  for (const row of reviewApps) {
    if (row.status === 'deleting') {
      await lifecycle.destroy(row.id, row.message ?? 'Deleted');
      continue;
    }
    await lifecycle.destroy(row.id, `${RESTARTED}: the review app was not finished; push again or create it again.`);
    await lifecycle.update(row.id, { status: 'errored', error_status: RESTARTED });
  }
}
