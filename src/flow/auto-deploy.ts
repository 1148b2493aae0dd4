/**
 * Auto-deploy: when a branch of a connected project moves, each stage that follows it gets
 * the new commit, either at once or once the commit's CI pipeline (or, without a
 * .gitlab-ci.yml, its app.json test run) succeeded. The commit is built once, on one app of
 * the stage; the stage's other apps get the same slug. Every attempt is recorded.
 */
import type { Kysely } from 'kysely';
import type { CiPipelineRow, Database, FlowTestRunRow, PipelineAutoDeployRow, PipelineAutoDeployRuleRow, PipelineRow, ProjectRow } from '../store/schema.js';
import type { AccountService } from '../auth/accounts.js';
import type { DomainEvents, EventBus } from '../core/events.js';
import type { PipelineConnectionService } from './connections.js';
import type { AutoDeployRules } from './auto-deploy-rules.js';
import type { TestRunService } from './test-runs.js';
import { KeyedQueue } from './keyed-queue.js';
import { deployToStage } from './auto-deploy-stage.js';
import type { StageDeployDeps } from './auto-deploy-stage.js';
import { newId, now } from '../core/ids.js';

/** The CI service's pipelines of a project (CiService implements it). */
export interface CiLookup {
  pipelines(projectId: string): Promise<CiPipelineRow[]>;
}

export interface AutoDeployOptions extends StageDeployDeps {
  events: EventBus;
  accounts: AccountService;
  connections: PipelineConnectionService;
  rules: AutoDeployRules;
  ci: CiLookup;
  tests: TestRunService;
}

const FINAL_CI = ['success', 'failed', 'canceled', 'skipped'];
const FINAL_TEST = ['succeeded', 'failed', 'errored'];

export class AutoDeployService {
  private readonly queue = new KeyedQueue();

  constructor(private readonly o: AutoDeployOptions) {
    o.events.on('project.pushed', (event) => this.queue.spawn(`push:${event.projectId}`, `auto-deploy of ${event.refName}`, () => this.onPushed(event)));
    o.events.on('ci.pipeline.finished', (event) => this.queue.spawn(`push:${event.projectId}`, `auto-deploy after CI #${event.number}`, () => this.onCiFinished(event)));
    o.tests.onFinished((run) => this.queue.spawn(`push:${run.project_id}`, 'auto-deploy after a test run', () => this.onTestFinished(run)));
  }

  /** Auto-deploys of a pipeline, newest first. */
  list(pipelineId: string, limit = 100): Promise<PipelineAutoDeployRow[]> {
    return this.o.db.selectFrom('pipeline_auto_deploys').selectAll().where('pipeline_id', '=', pipelineId).orderBy('created_at', 'desc').limit(limit).execute();
  }

  async idle(): Promise<void> {
    await this.queue.idle();
  }

  private async onPushed(event: DomainEvents['project.pushed']): Promise<void> {
    if (event.tag || event.deleted) return;
    const project = await this.project(event.projectId);
    if (!project) return;
    for (const pipeline of await this.o.connections.connectedTo(project.id)) {
      for (const rule of await this.o.rules.forPipeline(pipeline.id)) {
        if (rule.branch === event.refName) await this.start(rule, pipeline, project, event.newSha);
      }
    }
  }

  /** Records the deploy of a commit and deploys it now, or once its CI has passed. */
  private async start(rule: PipelineAutoDeployRuleRow, pipeline: PipelineRow, project: ProjectRow, sha: string): Promise<void> {
    const record = await this.insert(rule, sha);
    if (rule.wait_for_ci !== 1) return this.deploy(record, 'CI not awaited (wait-for-CI is off)');
    const ci = (await this.o.ci.pipelines(project.id))
      .filter((p) => p.sha === sha && p.ref === rule.branch && p.source === 'push' && p.tag === 0)
      .sort((a, b) => b.number - a.number)[0];
    if (ci) {
      await this.update(record.id, { ci_pipeline_id: ci.id, status: 'waiting_for_ci', message: `waiting for CI pipeline #${ci.number}` });
      if (FINAL_CI.includes(ci.status)) await this.afterCi({ ...record, ci_pipeline_id: ci.id, status: 'waiting_for_ci' }, ci.number, ci.status);
      return;
    }
    const actor = await this.o.accounts.getById(rule.created_by);
    const run = actor ? await this.o.tests.gateFor(actor, project, rule.branch, sha) : null;
    if (run) {
      await this.update(record.id, { test_run_id: run.id, status: 'testing', message: `waiting for test run of app.json scripts.test on ${run.app_name}` });
      if (FINAL_TEST.includes(run.status)) await this.afterTest({ ...record, test_run_id: run.id, status: 'testing' }, run);
      return;
    }
    await this.deploy(record, 'no CI for this commit (no .gitlab-ci.yml pipeline and no app.json test script)');
  }

  private async onCiFinished(event: DomainEvents['ci.pipeline.finished']): Promise<void> {
    if (event.source !== 'push') return;
    const waiting = await this.o.db.selectFrom('pipeline_auto_deploys').selectAll().where('ci_pipeline_id', '=', event.pipelineId).where('status', '=', 'waiting_for_ci').execute();
    for (const record of waiting) await this.afterCi(record, event.number, event.status);
  }

  private async onTestFinished(run: FlowTestRunRow): Promise<void> {
    const waiting = await this.o.db.selectFrom('pipeline_auto_deploys').selectAll().where('test_run_id', '=', run.id).where('status', '=', 'testing').execute();
    for (const record of waiting) await this.afterTest(record, run);
  }

  private async afterCi(record: PipelineAutoDeployRow, number: number, status: string): Promise<void> {
    if (status === 'success') {
      if (await this.claim(record, 'waiting_for_ci', 'building')) this.queueDeploy(record, `CI pipeline #${number} passed`);
      return;
    }
    if (await this.claim(record, 'waiting_for_ci', 'failed')) {
      await this.update(record.id, { message: `CI pipeline #${number} ${status}: ${record.sha.slice(0, 7)} was not deployed to ${record.stage}.` });
    }
  }

  private async afterTest(record: PipelineAutoDeployRow, run: FlowTestRunRow): Promise<void> {
    if (run.status === 'succeeded') {
      if (await this.claim(record, 'testing', 'building')) this.queueDeploy(record, 'the app.json test run passed');
      return;
    }
    if (await this.claim(record, 'testing', 'failed')) {
      const why = run.status === 'errored' ? `could not run (${run.message ?? 'see the test run'})` : `failed (exit status ${run.exit_code ?? 'none'})`;
      await this.update(record.id, { message: `The app.json test run ${why}: ${record.sha.slice(0, 7)} was not deployed to ${record.stage}.` });
    }
  }

  /** Deploys run one at a time per stage, outside the event queue. */
  private queueDeploy(record: PipelineAutoDeployRow, why: string): void {
    this.queue.spawn(`stage:${record.pipeline_id}:${record.stage}`, `auto-deploy of ${record.sha.slice(0, 7)}`, () => this.runDeploy(record, why));
  }

  private async deploy(record: PipelineAutoDeployRow, why: string): Promise<void> {
    await this.update(record.id, { status: 'building' });
    this.queueDeploy(record, why);
  }

  private async runDeploy(record: PipelineAutoDeployRow, why: string): Promise<void> {
    const fields = await deployToStage(this.o, record, why).catch((err) => ({ status: 'failed', message: `Auto-deploy failed: ${(err as Error).message}` }));
    await this.update(record.id, fields);
  }

  private async insert(rule: PipelineAutoDeployRuleRow, sha: string): Promise<PipelineAutoDeployRow> {
    const stamp = now();
    const row: PipelineAutoDeployRow = {
      id: newId(),
      pipeline_id: rule.pipeline_id,
      stage: rule.stage,
      branch: rule.branch,
      sha,
      ci_pipeline_id: null,
      test_run_id: null,
      app_id: null,
      build_id: null,
      status: 'pending',
      message: null,
      created_at: stamp,
      updated_at: stamp,
    };
    await this.o.db.insertInto('pipeline_auto_deploys').values(row).execute();
    return row;
  }

  private async claim(record: PipelineAutoDeployRow, from: string, to: string): Promise<boolean> {
    const result = await this.o.db.updateTable('pipeline_auto_deploys').set({ status: to, updated_at: now() }).where('id', '=', record.id).where('status', '=', from).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  private async update(id: string, fields: Partial<PipelineAutoDeployRow>): Promise<void> {
    await this.o.db.updateTable('pipeline_auto_deploys').set({ ...fields, updated_at: now() }).where('id', '=', id).execute();
  }

  private project(id: string): Promise<ProjectRow | undefined> {
    return this.o.db.selectFrom('projects').selectAll().where('id', '=', id).executeTakeFirst();
  }
}

