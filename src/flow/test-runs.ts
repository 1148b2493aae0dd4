/**
 * Heroku CI test runs for projects without a .gitlab-ci.yml: app.json's
 * `environments.test.scripts.test` runs on a disposable test app set up from the commit with
 * the `test` environment's overrides; the result is recorded and the app destroyed.
 */
import type { Kysely } from 'kysely';
import { randomBytes } from 'node:crypto';
import type { AppRow, Database, FlowTestRunRow, ProjectRow, ReleaseRow, SlugRow } from '../store/schema.js';
import type { Account } from '../auth/accounts.js';
import type { AppService } from '../apps/apps.js';
import type { AppSetupService } from '../deploy/app-setups.js';
import type { ReleaseService } from '../release/releases.js';
import type { CommitSources } from './commit-sources.js';
import { AppJsonError, parseAppJson, resolveAppJson } from '../core/app-json.js';
import { newId, now } from '../core/ids.js';
import { appNameFrom, settledSetup } from './app-setup-wait.js';

/** Runs a script to completion on a one-off dyno of the test app (the runtime implements it). */
export interface TestScriptRunner {
  runTest(input: { app: AppRow; release: ReleaseRow; slug: SlugRow; command: string; size?: string; output: (line: string) => void }): Promise<{ exitCode: number | null; reason?: string }>;
}

export interface TestRunOptions {
  db: Kysely<Database>;
  apps: AppService;
  appSetups: AppSetupService;
  releases: ReleaseService;
  sources: CommitSources;
  runner: TestScriptRunner;
}

const MAX_OUTPUT = 32 * 1024;

export class TestRunService {
  private readonly listeners: Array<(run: FlowTestRunRow) => void> = [];
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly o: TestRunOptions) {}

  onFinished(listener: (run: FlowTestRunRow) => void): void {
    this.listeners.push(listener);
  }

  list(projectId: string, limit = 50): Promise<FlowTestRunRow[]> {
    return this.o.db.selectFrom('flow_test_runs').selectAll().where('project_id', '=', projectId).orderBy('created_at', 'desc').limit(limit).execute();
  }

  get(id: string): Promise<FlowTestRunRow | undefined> {
    return this.o.db.selectFrom('flow_test_runs').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /**
   * The test run gating a commit: an existing one, or a new one when the commit has no
   * .gitlab-ci.yml but an app.json test script; null when the commit has no tests of this kind.
   */
  async gateFor(actor: Account, project: ProjectRow, ref: string, sha: string): Promise<FlowTestRunRow | null> {
    const existing = await this.o.db.selectFrom('flow_test_runs').selectAll().where('project_id', '=', project.id).where('sha', '=', sha).orderBy('created_at', 'desc').executeTakeFirst();
    if (existing) return existing;
    if ((await this.o.sources.file(project, sha, '.gitlab-ci.yml')) !== null) return null;
    const text = await this.o.sources.file(project, sha, 'app.json');
    if (text === null) return null;
    let command: string | undefined;
    let problem: string | null = null;
    try {
      command = resolveAppJson(parseAppJson(text).manifest, 'test').scripts.test?.command;
    } catch (err) {
      problem = err instanceof AppJsonError ? err.errors.join('\n') : (err as Error).message;
    }
    if (!command && !problem) return null;
    const run = await this.insert(actor, project, ref, sha, command ?? null);
    if (problem) return this.finish(run, { status: 'errored', message: `app.json is invalid, so the tests could not run:\n${problem}` });
    const task: Promise<void> = this.execute(actor, project, run)
      .catch((err) => void this.finish(run, { status: 'errored', message: `The test run failed to run: ${(err as Error).message}` }).catch(() => undefined))
      .finally(() => this.running.delete(task));
    this.running.add(task);
    return run;
  }

  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  private async insert(actor: Account, project: ProjectRow, ref: string, sha: string, command: string | null): Promise<FlowTestRunRow> {
    const stamp = now();
    const row: FlowTestRunRow = {
      id: newId(),
      project_id: project.id,
      ref,
      sha,
      status: 'creating',
      app_name: appNameFrom(project.name, `test-${randomBytes(3).toString('hex')}`),
      app_id: null,
      command,
      exit_code: null,
      output: '',
      message: null,
      user_id: actor.id,
      created_at: stamp,
      updated_at: stamp,
      finished_at: null,
    };
    await this.o.db.insertInto('flow_test_runs').values(row).execute();
    return row;
  }

  /** Test app from the commit (environment "test") → test-setup and test scripts → destroy. */
  private async execute(actor: Account, project: ProjectRow, run: FlowTestRunRow): Promise<void> {
    const url = await this.o.sources.sourceUrl(actor, project, run.sha);
    const setup = await this.o.appSetups.create(actor, { app: { name: run.app_name }, source_blob: { url, version: run.sha }, environment: 'test' });
    await this.update(run.id, { app_id: setup.app_id });
    try {
      const done = await settledSetup(this.o.db, setup.id);
      if (done.status !== 'succeeded') {
        await this.finish(run, { status: 'errored', message: `The test app could not be set up: ${done.failure_message ?? 'see the app setup'}` });
        return;
      }
      const app = await this.o.apps.getById(setup.app_id);
      const release = app ? await this.o.releases.current(app.id) : undefined;
      const slug = await this.o.releases.slug(release?.slug_id ?? null);
      if (!app || !release || !slug) {
        await this.finish(run, { status: 'errored', message: 'The test app has no deployed release to run the tests on.' });
        return;
      }
      await this.update(run.id, { status: 'running' });
      let output = '';
      const keep = (line: string) => {
        output = `${output}${line}\n`;
        if (output.length > MAX_OUTPUT * 2) output = output.slice(-MAX_OUTPUT);
      };
      const scripts = (JSON.parse((await this.o.db.selectFrom('app_manifests').select('manifest').where('app_id', '=', app.id).executeTakeFirst())?.manifest ?? '{}') as { scripts?: Record<string, { command: string; size?: string }> }).scripts ?? {};
      for (const name of ['test-setup', 'test']) {
        const script = scripts[name];
        if (!script) continue;
        keep(`-----> Running ${name}: ${script.command}`);
        const result = await this.o.runner.runTest({ app, release, slug, command: script.command, ...(script.size ? { size: script.size } : {}), output: keep });
        if (result.exitCode !== 0) {
          const why = result.reason ?? `exit status ${result.exitCode}`;
          keep(`-----> ${name} failed (${why})`);
          await this.finish(run, { status: 'failed', exit_code: result.exitCode, output: output.slice(-MAX_OUTPUT), message: `${name} failed (${why})` });
          return;
        }
      }
      keep('-----> Tests passed');
      await this.finish(run, { status: 'succeeded', exit_code: 0, output: output.slice(-MAX_OUTPUT), message: 'Tests passed' });
    } finally {
      const app = await this.o.apps.getById(setup.app_id);
      if (app) await this.o.apps.destroy(actor, app.id).catch((err) => console.error(`[flow] destroying test app ${app.name} failed:`, err));
    }
  }

  private async update(id: string, fields: Partial<FlowTestRunRow>): Promise<void> {
    await this.o.db.updateTable('flow_test_runs').set({ ...fields, updated_at: now() }).where('id', '=', id).execute();
  }

  private async finish(run: FlowTestRunRow, fields: Partial<FlowTestRunRow> & { status: string }): Promise<FlowTestRunRow> {
    const stamp = now();
    await this.update(run.id, { ...fields, finished_at: stamp });
    const finished = (await this.get(run.id)) ?? { ...run, ...fields, finished_at: stamp };
    for (const listener of this.listeners) listener(finished);
    return finished;
  }
}
