/**
 * Server-mode CI: a push to a project's repository plans `.gitlab-ci.yml` at the pushed commit
 * with the CI engine, records the pipeline, its jobs and its plan, and hands it to a
 * PipelineRunner (pipeline-runner.ts), which runs the jobs with the same executor as
 * `slipway ci run` from the stored state. Job control (play, retry, cancel, auto-cancel of
 * redundant pipelines) is in ci-control.ts, start-up recovery in ci-recovery.ts. Job logs go to
 * the OutputStore; artifacts and caches live under <data>/ci/<project>/.
 */
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import { directoryFiles, formatCiError, loadPipeline, planPipeline, type CiError } from '../ci/index.js';
import type { CiJobRow, CiPipelineRow, Database, ProjectRow } from '../store/schema.js';
import type { OutputStore } from '../logs/output-store.js';
import type { EventBus } from '../core/events.js';
import { conflict } from '../core/errors.js';
import { newId, now } from '../core/ids.js';
import { artifactsArchive } from './ci-artifacts.js';
import type { CiExtensions } from './ci-extensions.js';
import { autoCancelRedundant, cancelJob, cancelPipeline, playJob, retryJob, retryPipeline, type ControlHost } from './ci-control.js';
import { nextNumber, plannedRows, ProjectLocks } from './ci-job-rows.js';
import { readPlan, serialisePlan } from './ci-plan-store.js';
import { failInterruptedJobs } from './ci-recovery.js';
import { JobSlots } from './ci-slots.js';
import { PipelineRunner, RunnerClosed, type RunnerHost } from './pipeline-runner.js';
import { startBridge, type ChildHost } from './ci-children.js';
import { commitFiles, extractCommit, git } from './repository.js';
import { fetchRemote, newPipelineContext, type ContextRequest } from './ci-context.js';
import { projectFileReader } from './project-includes.js';

export { ciJobLogKey } from './ci-job-rows.js';

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
  /** Project CI settings (protected refs, variables, job tokens, environments): see ci-extensions.ts. */
  extensions?: CiExtensions;
  /** A project's bare repository (default: <dataDir>/repos/projects/<name>.git). */
  repoDir?(project: ProjectRow): string;
  /** How many jobs run at once, across all pipelines (default: the number of CPUs). */
  concurrency?: number;
}

/** What a new pipeline runs for: a pushed branch or tag, or a merge request's source branch. */
export interface PipelineRequest extends ContextRequest {
  /** The commit (any revision git can resolve to a commit). */
  revision: string;
  /** Inputs for the pipeline file's `spec:inputs` header (a pipeline run's). */
  inputs?: Record<string, unknown>;
  /** false: an invalid configuration records no pipeline, only says why (GitLab's API and "Run pipeline"). */
  saveOnErrors?: boolean;
  userId: string;
  out(line: string): void;
}

const isZero = (sha: string) => /^0+$/.test(sha);

export class CiService {
  /** Per-project queue: numbers are allocated one at a time. Never wait for a runner while holding it. */
  private readonly locks = new ProjectLocks();
  private readonly runners = new Map<string, PipelineRunner>();
  private readonly host: RunnerHost;
  private readonly control: ControlHost;

  constructor(private readonly o: CiServiceOptions) {
    this.host = {
      db: o.db,
      outputs: o.outputs,
      dataDir: o.dataDir,
      sandbox: o.sandbox,
      ...(o.extensions ? { extensions: o.extensions } : {}),
      slots: new JobSlots(o.concurrency ?? Math.max(2, availableParallelism())),
      locks: this.locks,
      repoDir: (project) => o.repoDir?.(project) ?? join(o.dataDir, 'repos', 'projects', `${project.name}.git`),
      pipelineUrl: (project, number) => this.pipelineUrl(project, number),
      jobUrl: (project, number) => this.jobUrl(project, number),
      finished: (pipeline, status) => this.finished(pipeline, status),
      released: (runner) => {
        if (this.runners.get(runner.pipelineId) === runner) this.runners.delete(runner.pipelineId);
      },
      startBridge: (input) => startBridge(children, input),
      childOf: (bridge) => o.db.selectFrom('ci_pipelines').selectAll().where('bridge_job_id', '=', bridge.id).executeTakeFirst(),
      bridgeCanceled: (bridge) =>
        void this.host
          .childOf(bridge)
          .then((child) => child && cancelPipeline(this.control, child))
          .catch((err) => console.error(`[ci] canceling the child pipeline of job ${bridge.name} failed:`, (err as Error).message)),
    };
    const children: ChildHost = { ...this.host, readProjectFile: (repoDir, userId) => projectFileReader(o.db, repoDir, userId), start: async (pipeline) => (await this.runnerFor(pipeline)).kick() };
    this.control = { db: o.db, locks: this.locks, act: (pipeline, change) => this.act(pipeline, change) };
  }

  pipelineUrl(project: ProjectRow, number: number): string {
    return `${this.o.baseUrl()}/projects/${project.name}/pipelines/${number}`;
  }

  /** The project's bare repository. */
  repoDirOf(project: ProjectRow): string {
    return this.host.repoDir(project);
  }

  jobUrl(project: ProjectRow, number: number): string {
    return `${this.o.baseUrl()}/projects/${project.name}/jobs/${number}`;
  }

  /** A push to a project: one pipeline per pushed branch or tag (deletions make none, and stop a branch's environments). */
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
      } else if (!tag) {
        await this.o.extensions
          ?.branchDeleted?.({ project: input.project, branch: refName, userId: input.userId, out: input.out })
          .catch((err) => console.error(`[ci] stopping the environments of ${input.project.name}'s deleted branch ${refName} failed:`, (err as Error).message));
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
    try {
      await extractCommit(repoDir, sha, srcDir);
      const files = await commitFiles(repoDir, sha);
      if (!files.includes(ENTRY)) {
        out(`No ${ENTRY} in ${sha.slice(0, 8)} (${refName}): no pipeline.`);
        return undefined;
      }
      const context = await newPipelineContext(this.o.db, this.o.baseUrl(), input, sha, files);
      const setup = await this.o.extensions?.pipelineSetup?.({ project, context });
      if (setup) Object.assign(context, { refProtected: setup.refProtected, projectVariables: setup.variables });
      const readProjectFile = projectFileReader(this.o.db, repoDir, input.userId);
      const loaded = await loadPipeline({ files: directoryFiles(srcDir, async () => files), entry: ENTRY, context, fetchRemote, readProjectFile, ...(input.inputs ? { inputs: input.inputs } : {}) });
      const created = await this.locks.run(project.id, async () => {
        const number = await nextNumber(this.o.db, 'ci_pipelines', project.id);
        const plan = loaded.errors.length ? undefined : planPipeline(loaded, { ...context, pipelineIid: number });
        const errors: CiError[] = loaded.errors.length ? loaded.errors : (plan?.errors ?? []);
        if (plan && !errors.length && !plan.created) {
          out(`No pipeline for ${refName}: ${plan.reason ?? 'no jobs'}.`);
          return undefined;
        }
        if (errors.length && input.saveOnErrors === false) {
          out(`No pipeline for ${refName}: ${ENTRY} is invalid:`);
          for (const e of errors) out(formatCiError(e));
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
          plan: plan && !errors.length ? serialisePlan(plan, loaded.config ?? {}, { ...context, pipelineIid: number }, ENTRY) : null,
          auto_canceled_by: null,
          parent_pipeline_id: null,
          bridge_job_id: null,
        };
        await this.o.db.insertInto('ci_pipelines').values(pipeline).execute();
        const url = this.pipelineUrl(project, number);
        if (errors.length || !plan) {
          out(`Pipeline #${number} failed: ${ENTRY} is invalid (${url}):`);
          for (const e of errors) out(`  ${formatCiError(e)}`);
          this.finished(pipeline, 'failed');
          return { pipeline };
        }
        const jobs: CiJobRow[] = plannedRows(plan.jobs, { projectId: project.id, pipelineId: pipeline.id, firstNumber: await nextNumber(this.o.db, 'ci_jobs', project.id) });
        if (jobs.length) await this.o.db.insertInto('ci_jobs').values(jobs).execute();
        await this.o.extensions
          ?.pipelineCreated?.({ project, pipeline, context: { ...context, pipelineIid: number }, jobs: jobs.map((row, i) => ({ row, job: plan.jobs[i] })) })
          .catch((err) => console.error(`[ci] recording the environments of ${project.name}#${number} failed:`, (err as Error).message));
        out(`Pipeline #${number}: ${url}`);
        // The runner's checkout is the one planning used.
        const runDir = join(root, 'pipelines', pipeline.id);
        mkdirSync(runDir, { recursive: true });
        renameSync(srcDir, join(runDir, 'src'));
        return { pipeline, run: true };
      });
      if (!created?.run) return created?.pipeline;
      const canceled = await autoCancelRedundant(this.control, created.pipeline).catch((err) => {
        console.error(`[ci] auto-canceling pipelines older than ${project.name}#${created.pipeline.number} failed:`, err);
        return [];
      });
      if (canceled.length) out(`Auto-canceled redundant pipeline${canceled.length === 1 ? '' : 's'} ${canceled.map((n) => `#${n}`).join(', ')} (interruptible).`);
      (await this.runnerFor(created.pipeline)).kick();
      return created.pipeline;
    } finally {
      rmSync(srcDir, { recursive: true, force: true });
    }
  }

  /** Announces a pipeline's final status once it is stored (and a waiting trigger job looks at its child again). */
  private finished(pipeline: CiPipelineRow, status: string): void {
    if (pipeline.parent_pipeline_id) {
      const parent = pipeline.parent_pipeline_id;
      void this.pipelineById(parent)
        .then((row) => row && this.act(row, async () => undefined))
        .catch((err) => console.error(`[ci] the parent of ${pipeline.number} could not follow it:`, (err as Error).message));
    }
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

  /** Runs a change in the pipeline's runner (see PipelineRunner.act). */
  private async act<T>(pipeline: CiPipelineRow, change: (runner: PipelineRunner) => Promise<T>): Promise<T> {
    for (;;) {
      const runner = await this.runnerFor(pipeline);
      try {
        return await runner.act(() => change(runner));
      } catch (err) {
        if (!(err instanceof RunnerClosed)) throw err;
      }
    }
  }

  /** The pipeline's runner: the one at work, or a new one (from the stored plan). */
  private async runnerFor(pipeline: CiPipelineRow): Promise<PipelineRunner> {
    const existing = this.runners.get(pipeline.id);
    if (existing && !existing.closed) return existing;
    if (existing) await existing.done;
    const fresh = await this.pipelineById(pipeline.id);
    const project = await this.o.db.selectFrom('projects').selectAll().where('id', '=', pipeline.project_id).executeTakeFirst();
    const plan = fresh && readPlan(fresh);
    if (!fresh || !project || !plan) throw conflict(`Pipeline #${pipeline.number} cannot run jobs any more: it has no stored plan (it failed to load, or it predates job control). Push again for a new pipeline.`);
    const again = this.runners.get(pipeline.id);
    if (again) return again.closed ? this.runnerFor(pipeline) : again;
    const runner = new PipelineRunner(this.host, project, fresh, plan);
    this.runners.set(pipeline.id, runner);
    return runner;
  }

  /** Plays a manual job, or a delayed job now (a finished manual job runs again). */
  play(job: CiJobRow, userId: string): Promise<CiJobRow> {
    return playJob(this.control, job, userId);
  }

  /** A new attempt of a finished job (GitLab's retry): returns the new job. */
  retry(job: CiJobRow, userId: string): Promise<CiJobRow> {
    return retryJob(this.control, job, userId);
  }

  /** New attempts of the pipeline's failed and canceled jobs. */
  retryPipeline(pipeline: CiPipelineRow, userId: string): Promise<CiJobRow[]> {
    return retryPipeline(this.control, pipeline, userId);
  }

  cancel(job: CiJobRow): Promise<CiJobRow> {
    return cancelJob(this.control, job);
  }

  async cancelPipeline(pipeline: CiPipelineRow): Promise<void> {
    if (!readPlan(pipeline)) throw conflict(`Pipeline #${pipeline.number} is ${pipeline.status}: there is nothing to cancel.`);
    await cancelPipeline(this.control, pipeline);
  }

  /** The job's artifacts as a gzipped tarball; undefined when it has none (or they expired). */
  artifacts(job: CiJobRow): Readable | undefined {
    return artifactsArchive(this.o.dataDir, job);
  }

  /**
   * At start-up: jobs a dead Slipway was running failed with `runner_system_failure` (retried
   * when their `retry:` says so); see ci-recovery.ts. `resume()` then carries the pipelines on.
   */
  async failInterrupted(): Promise<void> {
    await failInterruptedJobs({ db: this.o.db, outputs: this.o.outputs, dataDir: this.o.dataDir, locks: this.locks });
  }

  /** Carries on the pipelines that were running when Slipway stopped (after failInterrupted). */
  async resume(): Promise<void> {
    const pipelines = await this.o.db.selectFrom('ci_pipelines').selectAll().where('status', 'in', ['created', 'running']).where('plan', 'is not', null).execute();
    for (const pipeline of pipelines) {
      try {
        (await this.runnerFor(pipeline)).kick();
      } catch (err) {
        console.error(`[ci] resuming pipeline ${pipeline.number} failed:`, (err as Error).message);
      }
    }
  }

  /** Waits until no pipeline has work left (tests and graceful shutdown). */
  async idle(): Promise<void> {
    while (this.runners.size) await Promise.all([...this.runners.values()].map((r) => r.done));
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
    return this.o.db.selectFrom('ci_jobs').selectAll().where('pipeline_id', '=', pipelineId).orderBy('position').orderBy('number').execute();
  }

  async job(projectId: string, number: number): Promise<CiJobRow | undefined> {
    return this.o.db.selectFrom('ci_jobs').selectAll().where('project_id', '=', projectId).where('number', '=', number).executeTakeFirst();
  }
}
