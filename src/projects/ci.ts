/**
 * Server-mode CI: a push to a project's repository plans `.gitlab-ci.yml` at the pushed commit
 * with the CI engine, records the pipeline and its jobs, and runs them in the background with
 * the same scheduler and shell executor as `slipway ci run` (each job attempt in a fresh copy
 * of the commit). Job logs go to the OutputStore, so they stream live and survive restarts.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { directoryFiles, formatCiError, loadPipeline, planPipeline, type CiError, type MergeRequestContext, type PipelineContext, type PipelineSource, type Plan, type PlannedJob } from '../ci/index.js';
import { runLocalPipeline, type JobRecord } from '../ci/run/index.js';
import type { CiJobRow, CiPipelineRow, Database, ProjectRow } from '../store/schema.js';
import type { OutputStore, OutputWriter } from '../logs/output-store.js';
import type { EventBus } from '../core/events.js';
import { newId, now } from '../core/ids.js';
import { changedPaths, commitFiles, commitInfo, defaultBranch, extractCommit, git } from './repository.js';

export const ciJobLogKey = (jobId: string) => `ci-job-${jobId}`;

/** Statuses a job or pipeline never leaves. */
const TERMINAL = new Set(['success', 'failed', 'canceled', 'skipped']);
/** Job statuses that mean "Slipway was looking after it". */
const ACTIVE = ['pending', 'running', 'waiting_for_resource', 'scheduled'];
const ENTRY = '.gitlab-ci.yml';

export interface RefUpdate {
  ref: string;
  oldSha: string;
  newSha: string;
}

export interface CiServiceOptions {
  db: Kysely<Database>;
  outputs: OutputStore;
  /** Announces pushes to projects and finished pipelines (auto-deploy and review apps listen). */
  events: EventBus;
  /** Work directories (commit checkouts) and CI state (caches) live under <dataDir>/ci. */
  dataDir: string;
  /** The base URL pipelines and jobs are shown under (…/projects/<name>/pipelines/<n>). */
  baseUrl(): string;
  sandbox: 'auto' | 'on' | 'off';
}

/** What a new pipeline runs for: a pushed branch or tag, or a merge request's source branch. */
export interface PipelineRequest {
  project: ProjectRow;
  repoDir: string;
  /** The commit (any revision git can resolve to a commit). */
  revision: string;
  /** The branch (or tag, with tag: true) the pipeline is for; an MR pipeline's source branch. */
  refName: string;
  tag?: boolean;
  /** The previous tip of the ref, for `changes` (push pipelines). */
  beforeSha?: string;
  source: PipelineSource;
  mergeRequest?: MergeRequestContext;
  /** Pipeline variables (highest precedence). */
  variables?: Record<string, string>;
  userId: string;
  userEmail: string;
  out(line: string): void;
}

const isZero = (sha: string) => /^0+$/.test(sha);

export class CiService {
  /** Per-project queue: numbers are allocated one push at a time. */
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly active = new Set<Promise<void>>();

  constructor(private readonly o: CiServiceOptions) {}

  pipelineUrl(project: ProjectRow, number: number): string {
    return `${this.o.baseUrl()}/projects/${project.name}/pipelines/${number}`;
  }

  jobUrl(project: ProjectRow, number: number): string {
    return `${this.o.baseUrl()}/projects/${project.name}/jobs/${number}`;
  }

  /** A push to a project: one pipeline per pushed branch or tag (deletions make none). */
  async onPush(input: { project: ProjectRow; repoDir: string; userId: string; userEmail: string; updates: RefUpdate[]; out(line: string): void }): Promise<void> {
    for (const update of input.updates) {
      if (!/^refs\/(heads|tags)\//.test(update.ref)) continue;
      const tag = update.ref.startsWith('refs/tags/');
      const refName = update.ref.replace(/^refs\/(heads|tags)\//, '');
      if (!isZero(update.newSha)) {
        await this.createPipeline({
          project: input.project,
          repoDir: input.repoDir,
          revision: update.newSha,
          refName,
          tag,
          ...(isZero(update.oldSha) ? {} : { beforeSha: update.oldSha }),
          source: 'push',
          userId: input.userId,
          userEmail: input.userEmail,
          out: input.out,
        });
      }
      this.o.events.emit('project.pushed', {
        projectId: input.project.id,
        ref: update.ref,
        refName,
        tag,
        oldSha: update.oldSha,
        newSha: update.newSha,
        deleted: isZero(update.newSha),
        userId: input.userId,
      });
    }
  }

  /** Plans, records and starts a pipeline; undefined when rules create none (or no CI file). */
  async createPipeline(input: PipelineRequest): Promise<CiPipelineRow | undefined> {
    const { project, repoDir, refName, out } = input;
    const tag = input.tag === true;
    const sha = (await git(repoDir, ['rev-parse', `${input.revision}^{commit}`])).trim();
    const root = join(this.o.dataDir, 'ci', project.id);
    mkdirSync(root, { recursive: true });
    const srcDir = await mkdtemp(join(root, 'src-'));
    let keep = false;
    try {
      await extractCommit(repoDir, sha, srcDir);
      const files = await commitFiles(repoDir, sha);
      if (!files.includes(ENTRY)) {
        out(`No ${ENTRY} in ${sha.slice(0, 8)} (${refName}): no pipeline.`);
        return undefined;
      }
      const context = await this.context(input, sha, files);
      const stateDir = join(root, 'state');
      const loaded = await loadPipeline({ files: directoryFiles(srcDir, async () => files), entry: ENTRY, context, fetchRemote });
      return await this.serialised(project.id, async () => {
        const number = await this.nextNumber('ci_pipelines', project.id);
        const plan = loaded.errors.length ? undefined : planPipeline(loaded, { ...context, pipelineIid: number });
        const errors: CiError[] = loaded.errors.length ? loaded.errors : (plan?.errors ?? []);
        if (plan && !errors.length && !plan.created) {
          out(`No pipeline for ${refName}: ${plan.reason ?? 'no jobs'}.`);
          return undefined;
        }
        const stamp = now();
        const pipeline: CiPipelineRow = {
          id: newId(),
          project_id: project.id,
          number,
          ref: refName,
          tag: tag ? 1 : 0,
          sha,
          before_sha: input.beforeSha ?? null,
          source: input.source,
          merge_request_id: input.mergeRequest?.id !== undefined ? String(input.mergeRequest.id) : null,
          status: errors.length ? 'failed' : 'created',
          failure_reason: errors.length ? 'config_error' : null,
          errors: JSON.stringify(errors.map(formatCiError)),
          user_id: input.userId,
          created_at: stamp,
          updated_at: stamp,
          started_at: null,
          finished_at: errors.length ? stamp : null,
        };
        await this.o.db.insertInto('ci_pipelines').values(pipeline).execute();
        const url = this.pipelineUrl(project, number);
        if (errors.length || !plan) {
          out(`Pipeline #${number} failed: ${ENTRY} is invalid (${url}):`);
          for (const e of errors) out(`  ${formatCiError(e)}`);
          this.finished(pipeline, 'failed');
          return pipeline;
        }
        let jobNumber = await this.nextNumber('ci_jobs', project.id);
        const jobs: CiJobRow[] = plan.jobs.map((job, position) => {
          const id = newId();
          return {
            id,
            project_id: project.id,
            pipeline_id: pipeline.id,
            number: jobNumber++,
            position,
            name: job.name,
            stage: job.stage,
            stage_index: job.stageIndex,
            run_when: job.when,
            allow_failure: job.allowFailure ? 1 : 0,
            status: 'created',
            failure_reason: null,
            failure_message: null,
            exit_code: null,
            attempts: 0,
            log_key: ciJobLogKey(id),
            created_at: stamp,
            updated_at: stamp,
            started_at: null,
            finished_at: null,
          };
        });
        if (jobs.length) await this.o.db.insertInto('ci_jobs').values(jobs).execute();
        out(`Pipeline #${number}: ${url}`);
        keep = true;
        const run = this.run(project, pipeline, jobs, { plan, config: loaded.config ?? {}, context: { ...context, pipelineIid: number }, srcDir, files, stateDir })
          .catch((err) => console.error(`[ci] pipeline ${project.name}#${number} failed to run:`, err))
          .finally(() => {
            rmSync(srcDir, { recursive: true, force: true });
            this.active.delete(run);
          });
        this.active.add(run);
        return pipeline;
      });
    } finally {
      if (!keep) rmSync(srcDir, { recursive: true, force: true });
    }
  }

  private async context(input: PipelineRequest, sha: string, files: string[]): Promise<PipelineContext> {
    const { project, repoDir, refName } = input;
    const commit = await commitInfo(repoDir, sha);
    const before = input.beforeSha;
    const mr = input.mergeRequest;
    return {
      source: input.source,
      ...(mr ? {} : input.tag ? { tag: refName } : { branch: refName }),
      ...(mr ? { mergeRequest: mr } : {}),
      sha,
      beforeSha: before ?? '0000000000000000000000000000000000000000',
      defaultBranch: await defaultBranch(repoDir),
      projectPath: `projects/${project.name}`,
      serverUrl: this.o.baseUrl(),
      commitMessage: commit.message,
      commitAuthor: commit.author,
      commitTimestamp: commit.timestamp,
      user: { login: input.userEmail, email: input.userEmail },
      repositoryFiles: files,
      ...(input.variables ? { variables: input.variables } : {}),
      changes: (compareTo?: string) =>
        compareTo ? changedPaths(repoDir, [`${compareTo}...${sha}`]) : mr?.diffBaseSha ? changedPaths(repoDir, [mr.diffBaseSha, sha]) : before && !input.tag ? changedPaths(repoDir, [before, sha]) : null,
    };
  }

  /** Announces a pipeline's final status once it is stored. */
  private finished(pipeline: CiPipelineRow, status: string): void {
    this.o.events.emit('ci.pipeline.finished', {
      projectId: pipeline.project_id,
      pipelineId: pipeline.id,
      number: pipeline.number,
      ref: pipeline.ref,
      sha: pipeline.sha,
      source: pipeline.source,
      mergeRequestId: pipeline.merge_request_id,
      status,
    });
  }

  private serialised<T>(projectId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(projectId) ?? Promise.resolve();
    const next = previous.then(fn, fn);
    this.locks.set(projectId, next.catch(() => undefined));
    return next;
  }

  private async nextNumber(table: 'ci_pipelines' | 'ci_jobs', projectId: string): Promise<number> {
    const row = await this.o.db.selectFrom(table).select((eb) => eb.fn.max('number').as('max')).where('project_id', '=', projectId).executeTakeFirst();
    return Number(row?.max ?? 0) + 1;
  }

  /** Runs a recorded pipeline; every job state change is written to the store as it happens. */
  private async run(
    project: ProjectRow,
    pipeline: CiPipelineRow,
    jobs: CiJobRow[],
    input: { plan: Plan; config: Record<string, unknown>; context: PipelineContext; srcDir: string; files: string[]; stateDir: string },
  ): Promise<void> {
    const { db, outputs } = this.o;
    const byName = new Map(jobs.map((j) => [j.name, j]));
    const writers = new Map<string, OutputWriter>();
    let writes: Promise<unknown> = Promise.resolve();
    const write = (fn: () => Promise<unknown>) => {
      writes = writes.then(fn).catch((err) => console.error(`[ci] recording ${project.name}#${pipeline.number} failed:`, err));
    };
    const writer = (job: PlannedJob): OutputWriter | undefined => {
      const row = byName.get(job.name);
      if (!row) return undefined;
      let w = writers.get(row.id);
      if (!w) writers.set(row.id, (w = outputs.open(row.log_key)));
      return w;
    };
    const onJobState = (record: JobRecord) => {
      const row = byName.get(record.job.name);
      if (!row) return;
      const status = record.status;
      if (status === 'running') {
        writer(record.job)?.line(`Running on Slipway (shell executor), commit ${pipeline.sha.slice(0, 8)} (${pipeline.ref}), attempt ${record.attempts}`);
      } else if (TERMINAL.has(status)) {
        const w = writers.get(row.id);
        if (w) {
          if (status === 'success') w.line('Job succeeded');
          writers.delete(row.id);
          void w.close();
        }
      }
      const stamp = now();
      const patch: Partial<CiJobRow> = {
        status,
        attempts: record.attempts,
        updated_at: stamp,
        failure_reason: status === 'failed' ? (record.result?.failureReason ?? 'unknown_failure') : null,
        failure_message: status === 'failed' ? (record.result?.message ?? null) : null,
        exit_code: record.result?.exitCode ?? null,
      };
      if (status === 'running') patch.started_at = new Date(record.startedAt ?? Date.now()).toISOString();
      if (TERMINAL.has(status)) patch.finished_at = stamp;
      write(() => db.updateTable('ci_jobs').set(patch).where('id', '=', row.id).execute());
    };

    const started = now();
    write(() => db.updateTable('ci_pipelines').set({ status: 'running', started_at: started, updated_at: started }).where('id', '=', pipeline.id).execute());
    let status: string;
    try {
      const result = await runLocalPipeline({
        projectDir: input.srcDir,
        files: input.files,
        plan: input.plan,
        config: input.config,
        context: input.context,
        entry: ENTRY,
        stateDir: input.stateDir,
        sandbox: this.o.sandbox,
        runnerDescription: 'Slipway server',
        ids: {
          pipelineId: pipeline.number,
          pipelineIid: pipeline.number,
          pipelineUrl: this.pipelineUrl(project, pipeline.number),
          job: (job) => {
            const number = byName.get(job.name)?.number ?? 0;
            return { id: number, url: this.jobUrl(project, number) };
          },
        },
        hooks: { onJobState },
        onOutput: (job, text) => writer(job)?.line(text.replace(/\n$/, '')),
      });
      status = result.status;
    } catch (err) {
      status = 'failed';
      const message = `the runner failed: ${(err as Error).message}`;
      write(() =>
        db
          .updateTable('ci_jobs')
          .set({ status: 'failed', failure_reason: 'runner_system_failure', failure_message: message, finished_at: now(), updated_at: now() })
          .where('pipeline_id', '=', pipeline.id)
          .where('status', 'in', ['created', ...ACTIVE])
          .execute(),
      );
    }
    for (const w of writers.values()) await w.close();
    const finished = now();
    write(() => db.updateTable('ci_pipelines').set({ status, finished_at: finished, updated_at: finished }).where('id', '=', pipeline.id).execute());
    await writes;
    this.finished(pipeline, status);
  }

  /**
   * At start-up: jobs a dead Slipway was running (or about to run) failed with
   * `runner_system_failure`; jobs still waiting behind them are skipped; their pipelines failed.
   */
  async failInterrupted(): Promise<void> {
    const { db, outputs } = this.o;
    for (const dir of safeReaddir(join(this.o.dataDir, 'ci'))) {
      for (const entry of safeReaddir(join(this.o.dataDir, 'ci', dir))) if (entry.startsWith('src-')) rmSync(join(this.o.dataDir, 'ci', dir, entry), { recursive: true, force: true });
    }
    const stamp = now();
    const pipelines = await db.selectFrom('ci_pipelines').select('id').where('status', 'in', ['created', 'running']).execute();
    if (pipelines.length === 0) return;
    const ids = pipelines.map((p) => p.id);
    const message = 'Slipway stopped while this job was running (system failure)';
    const interrupted = await db.selectFrom('ci_jobs').select(['id', 'log_key', 'status']).where('pipeline_id', 'in', ids).where('status', 'in', ACTIVE).execute();
    for (const job of interrupted) {
      if (job.status !== 'running') continue;
      const w = outputs.open(job.log_key);
      w.line(`ERROR: Job failed (system failure): ${message}`);
      await w.close();
    }
    await db
      .updateTable('ci_jobs')
      .set({ status: 'failed', failure_reason: 'runner_system_failure', failure_message: message, finished_at: stamp, updated_at: stamp })
      .where('pipeline_id', 'in', ids)
      .where('status', 'in', ACTIVE)
      .execute();
    await db.updateTable('ci_jobs').set({ status: 'skipped', finished_at: stamp, updated_at: stamp }).where('pipeline_id', 'in', ids).where('status', '=', 'created').execute();
    await db.updateTable('ci_pipelines').set({ status: 'failed', failure_reason: 'runner_system_failure', finished_at: stamp, updated_at: stamp }).where('id', 'in', ids).execute();
  }

  /** Waits for running pipelines (tests and graceful shutdown). */
  async idle(): Promise<void> {
    await Promise.all([...this.active]);
  }

  async pipelines(projectId: string): Promise<CiPipelineRow[]> {
    return this.o.db.selectFrom('ci_pipelines').selectAll().where('project_id', '=', projectId).orderBy('number', 'desc').execute();
  }

  async pipeline(projectId: string, number: number): Promise<CiPipelineRow | undefined> {
    return this.o.db.selectFrom('ci_pipelines').selectAll().where('project_id', '=', projectId).where('number', '=', number).executeTakeFirst();
  }

  async pipelineById(id: string): Promise<CiPipelineRow | undefined> {
    return this.o.db.selectFrom('ci_pipelines').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async jobs(pipelineId: string): Promise<CiJobRow[]> {
    return this.o.db.selectFrom('ci_jobs').selectAll().where('pipeline_id', '=', pipelineId).orderBy('position').execute();
  }

  async job(projectId: string, number: number): Promise<CiJobRow | undefined> {
    return this.o.db.selectFrom('ci_jobs').selectAll().where('project_id', '=', projectId).where('number', '=', number).executeTakeFirst();
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** include:remote over HTTP(S). */
async function fetchRemote(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  return res.text();
}
