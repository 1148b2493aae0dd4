/**
 * Runs one server-mode pipeline from its stored state, for as long as it has work: after every
 * change (a job ends, is played, retried or canceled, Slipway restarts) it decides the waiting
 * jobs with the engine's progress rules, starts pending ones in the server's job slots (each
 * attempt on the shell executor in a fresh copy of the commit, with its dependencies' stored
 * artifacts), retries failed attempts as `retry:` says, and when nothing is left to do stores
 * the pipeline's final status and announces it. Trigger jobs take no slot: they create a child
 * pipeline (through the host) and, with `strategy: depend`, stay running until it ends. The
 * database is the source of truth: a runner
 * holds only what cannot be stored (running processes, timers), so a new one can pick up
 * where a dead Slipway left off.
 */
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { isBridge, type PlannedJob } from '../ci/index.js';
import { createJobRunner, parseDuration, pipelineStatus, progress, type JobResult, type JobRunner } from '../ci/run/index.js';
import { now } from '../core/ids.js';
import type { OutputStore, OutputWriter } from '../logs/output-store.js';
import type { CiJobRow, CiPipelineRow, Database, ProjectRow } from '../store/schema.js';
import { pipelineArtifacts } from './ci-artifacts.js';
import type { CiExtensions } from './ci-extensions.js';
import { CANCELABLE_JOB_STATUSES, earlierAttempts, insertAttempt, retryWanted, type ProjectLocks } from './ci-job-rows.js';
import { jobStates, type StoredPlan } from './ci-plan-store.js';
import type { JobSlots, Slot } from './ci-slots.js';
import { bridgeOutcome, type BridgeStart } from './ci-children.js';
import { commitFiles, extractCommit } from './repository.js';

export interface RunnerHost {
  db: Kysely<Database>;
  outputs: OutputStore;
  dataDir: string;
  sandbox: 'auto' | 'on' | 'off';
  extensions?: CiExtensions;
  slots: JobSlots;
  locks: ProjectLocks;
  repoDir(project: ProjectRow): string;
  pipelineUrl(project: ProjectRow, number: number): string;
  jobUrl(project: ProjectRow, number: number): string;
  /** The pipeline reached a final status (stored). */
  finished(pipeline: CiPipelineRow, status: string): void;
  /** The runner has nothing left to do. */
  released(runner: PipelineRunner): void;
  /** A trigger job starts: makes its child pipeline; its result if decided now, undefined while it waits. */
  startBridge(input: BridgeStart): Promise<JobResult | undefined>;
  /** The child pipeline a trigger job made (undefined before it was made). */
  childOf(bridge: CiJobRow): Promise<CiPipelineRow | undefined>;
  /** A trigger job was canceled: its child pipeline is canceled too (in the background). */
  bridgeCanceled(bridge: CiJobRow): void;
}

interface Attempt {
  controller: AbortController;
  slot?: Slot;
  writer?: OutputWriter;
}

const ENTRY_DEFAULT = '.gitlab-ci.yml';

/** The runner finished (its pipeline has nothing left to do): ask for a new one. */
export class RunnerClosed extends Error {}

export class PipelineRunner {
  closed = false;
  private chain: Promise<unknown> = Promise.resolve();
  private queued = 0;
  private kickQueued = false;
  private readonly attempts = new Map<string, Attempt>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Logs of trigger jobs that wait for their child pipeline, by row id. */
  private readonly bridgeLogs = new Map<string, OutputWriter>();
  /** The row of each job's attempt that is running now, by job name. */
  private readonly current = new Map<string, CiJobRow>();
  private readonly jobsByName: Map<string, PlannedJob>;
  private jobRunner?: Promise<JobRunner>;
  private resolveDone!: () => void;
  readonly done = new Promise<void>((resolve) => (this.resolveDone = resolve));

  constructor(
    private readonly host: RunnerHost,
    readonly project: ProjectRow,
    private pipeline: CiPipelineRow,
    readonly plan: StoredPlan,
  ) {
    this.jobsByName = new Map(plan.jobs.map((j) => [j.name, j]));
  }

  get pipelineId(): string {
    return this.pipeline.id;
  }

  /**
   * Runs a change (play, retry, cancel…) in this runner's queue, then looks at the pipeline
   * again before answering (so the pipeline's status already reflects the change). A closed
   * runner refuses (RunnerClosed): the caller asks for a new one.
   */
  act<T>(change: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new RunnerClosed());
    const result = this.enqueue(change);
    const processed = this.enqueue(() => this.process());
    return result.then(async (value) => {
      await processed.catch(() => undefined);
      return value;
    });
  }

  /** Looks at the pipeline again (soon, once). */
  kick(): void {
    if (this.kickQueued || this.closed) return;
    this.kickQueued = true;
    void this.enqueue(async () => {
      this.kickQueued = false;
      await this.process();
    }).catch((err) => console.error(`[ci] pipeline ${this.project.name}#${this.pipeline.number}:`, err));
  }

  /** Cancels jobs of this pipeline: running ones are killed (whole process tree), the others canceled at once. */
  async cancelJobs(rows: readonly CiJobRow[]): Promise<void> {
    for (const row of rows) {
      if (!CANCELABLE_JOB_STATUSES.includes(row.status)) continue;
      const attempt = this.attempts.get(row.id);
      if (row.status === 'running' && attempt) {
        attempt.controller.abort();
        continue;
      }
      if (row.status === 'running' && this.isBridgeRow(row)) {
        await this.endBridge(row, { status: 'canceled' });
        this.host.bridgeCanceled(row);
        continue;
      }
      attempt?.slot?.cancel();
      attempt?.controller.abort();
      this.attempts.delete(row.id);
      this.clearTimer(row.id);
      await this.setJob(row, { status: 'canceled', finished_at: now() });
    }
  }

  /** A delayed job's timer is no longer needed (played now, or canceled). */
  clearTimer(rowId: string): void {
    const timer = this.timers.get(rowId);
    if (timer) clearTimeout(timer);
    this.timers.delete(rowId);
  }

  /** Writes a job's change and tells the extensions about a new status. */
  async setJob(row: CiJobRow, patch: Partial<CiJobRow>): Promise<CiJobRow> {
    const updated = { ...row, ...patch, updated_at: now() };
    await this.host.db.updateTable('ci_jobs').set({ ...patch, updated_at: updated.updated_at }).where('id', '=', row.id).execute();
    const job = this.jobsByName.get(row.name);
    if (patch.status && patch.status !== row.status && job) this.host.extensions?.jobState?.({ project: this.project, pipeline: this.pipeline, row: updated, job, status: patch.status });
    return updated;
  }

  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    this.queued++;
    const run = this.chain.then(fn).finally(() => this.queued--);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async rows(): Promise<CiJobRow[]> {
    return this.host.db.selectFrom('ci_jobs').selectAll().where('pipeline_id', '=', this.pipeline.id).execute();
  }

  private async process(): Promise<void> {
    if (this.closed) return;
    const states = jobStates(await this.rows(), this.plan);
    const decided = progress(states);
    for (const t of decided) {
      const { row } = states[t.index];
      const patch: Partial<CiJobRow> = { status: t.status };
      if (t.status === 'skipped') patch.finished_at = now();
      if (t.status === 'scheduled') patch.scheduled_at = new Date(Date.now() + (parseDuration(states[t.index].job.startIn) ?? 0) * 1000).toISOString();
      states[t.index].row = await this.setJob(row, patch);
    }
    for (const { row, job, status } of states) {
      if (isBridge(job.config)) {
        if (status === 'pending' || status === 'waiting_for_resource') await this.startBridge(row, job);
        // Waiting for its child pipeline (also after a restart): done when the child is.
        else if (status === 'running') await this.followChild(row, job);
        continue;
      }
      if (status === 'scheduled' && !this.timers.has(row.id)) this.schedule(row);
      if ((status === 'pending' || status === 'waiting_for_resource') && !this.attempts.has(row.id)) await this.request(row, job);
      if (status === 'running' && !this.attempts.has(row.id)) {
        // Not ours (cannot happen after failInterrupted): nobody will finish it.
        await this.setJob(row, { status: 'failed', failure_reason: 'runner_system_failure', failure_message: 'the job was running without a runner', finished_at: now() });
        return this.kick();
      }
    }
    const status = pipelineStatus(states);
    if (status === 'running' || this.attempts.size > 0 || this.timers.size > 0) {
      if (this.pipeline.status !== 'running') await this.setPipeline({ status: 'running', started_at: this.pipeline.started_at ?? now(), finished_at: null });
      return;
    }
    if (this.queued > 1) return; // a change is waiting: look again after it
    this.closed = true; // from now on, changes go to a new runner (which waits for `done`)
    try {
      if (this.pipeline.status !== status) {
        await this.setPipeline({ status, finished_at: now(), started_at: this.pipeline.started_at ?? now() });
        this.host.finished(this.pipeline, status);
      }
      await this.release();
    } finally {
      this.host.released(this);
      this.resolveDone();
    }
  }

  private async setPipeline(patch: Partial<CiPipelineRow>): Promise<void> {
    const stamp = now();
    await this.host.db.updateTable('ci_pipelines').set({ ...patch, updated_at: stamp }).where('id', '=', this.pipeline.id).execute();
    this.pipeline = { ...this.pipeline, ...patch, updated_at: stamp };
  }

  private schedule(row: CiJobRow): void {
    const due = row.scheduled_at ? Date.parse(row.scheduled_at) : Date.now();
    const timer = setTimeout(() => {
      this.timers.delete(row.id);
      this.act(async () => {
        await this.host.db.updateTable('ci_jobs').set({ status: 'pending', updated_at: now() }).where('id', '=', row.id).where('status', '=', 'scheduled').execute();
      }).catch((err) => console.error(`[ci] starting delayed job ${row.name} failed:`, err));
    }, Math.max(0, Math.min(due - Date.now(), 2_147_000_000)));
    timer.unref();
    this.timers.set(row.id, timer);
  }

  private isBridgeRow(row: CiJobRow): boolean {
    const job = this.jobsByName.get(row.name);
    return job !== undefined && isBridge(job.config);
  }

  /** Starts a trigger job: no slot, no process; the host makes its child pipeline. */
  private async startBridge(row: CiJobRow, job: PlannedJob): Promise<void> {
    const number = (await earlierAttempts(this.host.db, row)) + 1;
    const running = await this.setJob(row, { status: 'running', started_at: now(), attempts: number });
    const writer = this.host.outputs.open(row.log_key);
    this.bridgeLogs.set(row.id, writer);
    writer.line(`Trigger job on Slipway, commit ${this.pipeline.sha.slice(0, 8)} (${this.pipeline.ref}), attempt ${number}`);
    let result: JobResult | undefined;
    this.current.set(job.name, running); // its CI_JOB_ID, for the variables it passes down
    try {
      result = await this.host.startBridge({ project: this.project, parent: this.pipeline, plan: this.plan, row: running, job, runner: await this.runner(), log: (line) => writer.line(line) });
    } catch (err) {
      result = { status: 'failed', failureReason: 'runner_system_failure', message: `could not create the child pipeline: ${(err as Error).message}` };
    } finally {
      this.current.delete(job.name);
    }
    if (result) await this.endBridge(running, result);
  }

  /** A trigger job that waits: ends it when its child pipeline has ended. */
  private async followChild(row: CiJobRow, job: PlannedJob): Promise<void> {
    const result = bridgeOutcome(job, await this.host.childOf(row));
    if (result) await this.endBridge(row, result);
  }

  private async endBridge(row: CiJobRow, result: JobResult): Promise<void> {
    const failed = result.status === 'failed';
    await this.setJob(row, { status: result.status, failure_reason: failed ? (result.failureReason ?? 'unknown_failure') : null, failure_message: result.message ?? null, finished_at: now() });
    const writer = this.bridgeLogs.get(row.id) ?? this.host.outputs.open(row.log_key);
    this.bridgeLogs.delete(row.id);
    writer.line(result.status === 'success' ? 'Job succeeded' : `ERROR: Job ${result.status === 'canceled' ? 'canceled' : 'failed'}${result.message ? `: ${result.message}` : ''}`);
    await writer.close();
    this.kick();
  }

  /** Asks for a job slot; the job starts when it gets one (and is still pending then). */
  private async request(row: CiJobRow, job: PlannedJob): Promise<void> {
    const attempt: Attempt = { controller: new AbortController() };
    this.attempts.set(row.id, attempt);
    let group: string | undefined;
    try {
      group = (await this.runner()).resourceGroup(job);
    } catch (err) {
      this.attempts.delete(row.id);
      await this.setJob(row, { status: 'failed', failure_reason: 'runner_system_failure', failure_message: `could not prepare the pipeline: ${(err as Error).message}`, finished_at: now() });
      return this.kick();
    }
    const slot = this.host.slots.acquire({
      ...(group ? { group: `${this.project.id}:${group}` } : {}),
      onWaitingForResource: () =>
        void this.enqueue(async () => {
          await this.host.db.updateTable('ci_jobs').set({ status: 'waiting_for_resource', updated_at: now() }).where('id', '=', row.id).where('status', '=', 'pending').execute();
        }).catch(() => undefined),
    });
    attempt.slot = slot;
    void slot.granted.then((release) => this.enqueue(() => this.launch(row.id, job, attempt, release)));
  }

  private async launch(rowId: string, job: PlannedJob, attempt: Attempt, release: () => void): Promise<void> {
    const row = await this.host.db.selectFrom('ci_jobs').selectAll().where('id', '=', rowId).executeTakeFirst();
    if (!row || this.attempts.get(rowId) !== attempt || attempt.controller.signal.aborted || !['pending', 'waiting_for_resource'].includes(row.status)) {
      release();
      if (this.attempts.get(rowId) === attempt) this.attempts.delete(rowId);
      return this.kick();
    }
    const number = (await earlierAttempts(this.host.db, row)) + 1;
    const running = await this.setJob(row, { status: 'running', started_at: now(), attempts: number });
    this.current.set(job.name, running);
    attempt.writer = this.host.outputs.open(row.log_key);
    attempt.writer.line(`Running on Slipway, commit ${this.pipeline.sha.slice(0, 8)} (${this.pipeline.ref}), attempt ${number}`);
    const runner = await this.runner();
    void runner
      .runAttempt(job, { attempt: number, signal: attempt.controller.signal, record: { played: job.when === 'manual' } })
      .catch((e: unknown): JobResult => ({ status: 'failed', failureReason: 'runner_system_failure', message: e instanceof Error ? e.message : String(e) }))
      .then((result) => this.enqueue(() => this.ended(running, job, attempt, attempt.controller.signal.aborted && result.status !== 'success' ? { ...result, status: 'canceled' } : result, release)))
      .catch((err) => console.error(`[ci] recording job ${row.name} of ${this.project.name}#${this.pipeline.number} failed:`, err));
  }

  private async ended(row: CiJobRow, job: PlannedJob, attempt: Attempt, result: JobResult, release: () => void): Promise<void> {
    release();
    this.attempts.delete(row.id);
    if (this.current.get(job.name)?.id === row.id) this.current.delete(job.name);
    const failed = result.status === 'failed';
    const finished = await this.setJob(row, {
      status: result.status,
      failure_reason: failed ? (result.failureReason ?? 'unknown_failure') : null,
      failure_message: failed ? (result.message ?? null) : null,
      exit_code: result.exitCode ?? null,
      finished_at: now(),
    });
    const retry = failed && retryWanted(job, { reason: finished.failure_reason, exitCode: finished.exit_code }, (finished.attempts || 1) - 1);
    if (result.status === 'success') attempt.writer?.line('Job succeeded');
    if (result.status === 'canceled') attempt.writer?.line('ERROR: Job canceled');
    if (retry) attempt.writer?.line(`The job will be retried (retry: ${finished.failure_reason}).`);
    await attempt.writer?.close();
    if (retry) await this.host.locks.run(this.project.id, () => insertAttempt(this.host.db, finished, 'pending', finished.user_id));
    this.kick();
  }

  /** The job runner of this pipeline (source checkout, caches, variables), made on first use. */
  private runner(): Promise<JobRunner> {
    return (this.jobRunner ??= this.makeRunner());
  }

  private async makeRunner(): Promise<JobRunner> {
    const { project, pipeline, plan, host } = this;
    const dir = this.workDir();
    const src = join(dir, 'src');
    const repoDir = host.repoDir(project);
    if (!existsSync(src)) {
      const tmp = `${src}.tmp`;
      rmSync(tmp, { recursive: true, force: true });
      mkdirSync(tmp, { recursive: true });
      await extractCommit(repoDir, pipeline.sha, tmp);
      renameSync(tmp, src);
    }
    const files = await commitFiles(repoDir, pipeline.sha);
    const setup = await host.extensions?.pipelineSetup?.({ project, context: plan.context });
    const context = { ...plan.context, ...(setup ? { refProtected: setup.refProtected, projectVariables: setup.variables } : {}) };
    const ext = host.extensions;
    return createJobRunner(
      {
        projectDir: src,
        files,
        plan: { created: true, stages: plan.stages, jobs: plan.jobs, errors: [], globalVariables: {} },
        config: plan.config,
        context,
        entry: plan.entry ?? ENTRY_DEFAULT,
        stateDir: join(host.dataDir, 'ci', project.id, 'state'),
        workDir: join(dir, 'run'),
        sandbox: host.sandbox,
        runnerDescription: 'Slipway server',
        artifactStore: pipelineArtifacts(host.db, host.dataDir, pipeline.id, (job) => this.current.get(job.name)!),
        ids: {
          pipelineId: pipeline.number,
          pipelineIid: pipeline.number,
          pipelineUrl: host.pipelineUrl(project, pipeline.number),
          createdAt: pipeline.created_at.replace(/\.\d{3}Z$/, 'Z'),
          job: (job) => {
            const number = this.current.get(job.name)?.number ?? 0;
            return { id: number, url: host.jobUrl(project, number) };
          },
        },
        ...(ext?.jobStarting ? { prepareJob: (job: PlannedJob, info: { attempt: number; timeoutMs: number; predefined: Record<string, string> }) => ext.jobStarting!({ project, pipeline: this.pipeline, row: this.current.get(job.name)!, job, ...info }) } : {}),
        ...(ext?.jobTools ? { jobTools: ext.jobTools } : {}),
        onOutput: (job, text) => {
          const row = this.current.get(job.name);
          if (row) this.attempts.get(row.id)?.writer?.line(text.replace(/\n$/, ''));
        },
      },
      plan.jobs,
    );
  }

  private workDir(): string {
    return join(this.host.dataDir, 'ci', this.project.id, 'pipelines', this.pipeline.id);
  }

  /** Nothing left to run: the checkout and job directories go (artifacts and caches stay). */
  private async release(): Promise<void> {
    const runner = this.jobRunner;
    this.jobRunner = undefined;
    await runner?.then((r) => r.close()).catch(() => undefined);
    rmSync(this.workDir(), { recursive: true, force: true });
  }
}
