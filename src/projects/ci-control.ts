/**
 * Job control, as GitLab does it: play a manual job (or a delayed one now), retry a finished
 * job (a new job with a new number; the old one stays, marked retried; jobs skipped because of
 * it wait again), retry a pipeline's failed and canceled jobs, cancel a job or a pipeline, and
 * auto-cancel redundant pipelines when a newer one starts on the same ref (`interruptible`).
 * Every change runs in the pipeline's runner queue, which then carries the pipeline on.
 */
import type { Kysely } from 'kysely';
import { conflict } from '../core/errors.js';
import { now } from '../core/ids.js';
import type { CiJobRow, CiPipelineRow, Database } from '../store/schema.js';
import { CANCELABLE_JOB_STATUSES, insertAttempt, type ProjectLocks } from './ci-job-rows.js';
import { latestJobs, readPlan, type StoredPlan } from './ci-plan-store.js';
import type { PipelineRunner } from './pipeline-runner.js';

export interface ControlHost {
  db: Kysely<Database>;
  locks: ProjectLocks;
  /** Runs a change in the pipeline's runner queue (a new runner when none is at work). */
  act<T>(pipeline: CiPipelineRow, change: (runner: PipelineRunner) => Promise<T>): Promise<T>;
}

const RETRYABLE = ['success', 'failed', 'canceled'];

async function reload(db: Kysely<Database>, id: string): Promise<CiJobRow> {
  return db.selectFrom('ci_jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

async function pipelineOf(db: Kysely<Database>, job: CiJobRow): Promise<CiPipelineRow> {
  return db.selectFrom('ci_pipelines').selectAll().where('id', '=', job.pipeline_id).executeTakeFirstOrThrow();
}

async function newestAttempt(db: Kysely<Database>, job: CiJobRow): Promise<string> {
  const row = await db.selectFrom('ci_jobs').select('number').where('pipeline_id', '=', job.pipeline_id).where('name', '=', job.name).where('retried', '=', 0).executeTakeFirst();
  return row ? `#${row.number}` : 'the newest one';
}

/** Plays a manual job, starts a delayed job now, or runs a finished manual job again. */
export async function playJob(host: ControlHost, job: CiJobRow, userId: string): Promise<CiJobRow> {
  return host.act(await pipelineOf(host.db, job), async (runner) => {
    const row = await reload(host.db, job.id);
    if (row.retried) throw conflict(`Job #${row.number} (${row.name}) was retried: play its newest attempt, ${await newestAttempt(host.db, row)}.`);
    if (row.status === 'manual' || row.status === 'scheduled') {
      runner.clearTimer(row.id);
      return runner.setJob(row, { status: 'pending', user_id: userId, scheduled_at: null });
    }
    if ((row.run_when === 'manual' || row.run_when === 'delayed') && RETRYABLE.includes(row.status)) return retryRow(host, runner, row, userId);
    throw conflict(`Job #${row.number} (${row.name}) is ${row.status}: only manual jobs and delayed jobs that wait can be played.`);
  });
}

/** Retries a finished job: a new attempt with a new number, pending at once. */
export async function retryJob(host: ControlHost, job: CiJobRow, userId: string): Promise<CiJobRow> {
  return host.act(await pipelineOf(host.db, job), async (runner) => {
    const row = await reload(host.db, job.id);
    if (row.retried) throw conflict(`Job #${row.number} (${row.name}) was already retried: its newest attempt is ${await newestAttempt(host.db, row)}.`);
    if (!RETRYABLE.includes(row.status)) throw conflict(`Job #${row.number} (${row.name}) is ${row.status}: only finished jobs (success, failed, canceled) can be retried.`);
    return retryRow(host, runner, row, userId);
  });
}

async function retryRow(host: ControlHost, runner: PipelineRunner, row: CiJobRow, userId: string): Promise<CiJobRow> {
  const attempt = await host.locks.run(row.project_id, () => insertAttempt(host.db, row, 'pending', userId));
  await resetSkipped(host.db, runner.plan, row.pipeline_id, [row]);
  return attempt;
}

/** Retries every failed or canceled job of a pipeline; they run in stage and `needs` order again. */
export async function retryPipeline(host: ControlHost, pipeline: CiPipelineRow, userId: string): Promise<CiJobRow[]> {
  return host.act(pipeline, async (runner) => {
    const rows = latestJobs(await jobsOf(host.db, pipeline.id)).filter((r) => r.status === 'failed' || r.status === 'canceled');
    if (rows.length === 0) throw conflict(`Pipeline #${pipeline.number} has no failed or canceled jobs to retry.`);
    const attempts: CiJobRow[] = [];
    for (const row of rows) attempts.push(await host.locks.run(row.project_id, () => insertAttempt(host.db, row, 'created', userId)));
    await resetSkipped(host.db, runner.plan, pipeline.id, rows);
    await host.db.updateTable('ci_pipelines').set({ auto_canceled_by: null }).where('id', '=', pipeline.id).execute();
    return attempts;
  });
}

/** Cancels a job: killed if it runs, canceled at once if it waits. */
export async function cancelJob(host: ControlHost, job: CiJobRow): Promise<CiJobRow> {
  return host.act(await pipelineOf(host.db, job), async (runner) => {
    const row = await reload(host.db, job.id);
    if (!CANCELABLE_JOB_STATUSES.includes(row.status)) throw conflict(`Job #${row.number} (${row.name}) is ${row.status}: only created, pending, scheduled and running jobs can be canceled.`);
    await runner.cancelJobs([row]);
    return reload(host.db, job.id);
  });
}

/**
 * Cancels every job of the pipeline that has not finished (manual jobs stay playable), then its
 * child pipelines that still run, whether their trigger jobs wait for them or not (as GitLab).
 */
export async function cancelPipeline(host: ControlHost, pipeline: CiPipelineRow, canceledBy?: string): Promise<void> {
  await host.act(pipeline, async (runner) => {
    if (canceledBy) await host.db.updateTable('ci_pipelines').set({ auto_canceled_by: canceledBy, updated_at: now() }).where('id', '=', pipeline.id).execute();
    await runner.cancelJobs(latestJobs(await jobsOf(host.db, pipeline.id)));
  });
  const children = await host.db.selectFrom('ci_pipelines').selectAll().where('parent_pipeline_id', '=', pipeline.id).where('status', 'in', ['created', 'running', 'blocked']).execute();
  for (const child of children) if (readPlan(child)) await cancelPipeline(host, child);
}

/**
 * GitLab's auto-cancel of redundant pipelines: older pipelines of the same ref (and merge
 * request) still running are canceled when a newer commit gets a pipeline. `conservative`
 * (default): only while no job with `interruptible` unset or false has started;
 * `interruptible`: only the interruptible jobs; `none`: never. Returns the canceled numbers.
 */
export async function autoCancelRedundant(host: ControlHost, pipeline: CiPipelineRow): Promise<number[]> {
  let query = host.db
    .selectFrom('ci_pipelines')
    .selectAll()
    .where('project_id', '=', pipeline.project_id)
    .where('ref', '=', pipeline.ref)
    .where('tag', '=', pipeline.tag)
    .where('number', '<', pipeline.number)
    .where('sha', '!=', pipeline.sha)
    .where('status', 'in', ['created', 'running', 'pending', 'scheduled'])
    .where('parent_pipeline_id', 'is', null); // child pipelines go with their parent
  query = pipeline.merge_request_id === null ? query.where('merge_request_id', 'is', null) : query.where('merge_request_id', '=', pipeline.merge_request_id);
  const canceled: number[] = [];
  for (const older of await query.execute()) {
    const plan = readPlan(older);
    if (!plan) continue;
    const mode = autoCancelMode(plan);
    if (mode === 'none') continue;
    const interruptible = new Set(plan.jobs.filter((j) => j.interruptible === true).map((j) => j.name));
    const rows = await jobsOf(host.db, older.id);
    if (mode === 'conservative') {
      if (rows.some((r) => r.started_at !== null && !interruptible.has(r.name))) continue;
      await cancelPipeline(host, older, String(pipeline.number));
    } else {
      await host.act(older, async (runner) => {
        await host.db.updateTable('ci_pipelines').set({ auto_canceled_by: String(pipeline.number) }).where('id', '=', older.id).execute();
        await runner.cancelJobs(latestJobs(await jobsOf(host.db, older.id)).filter((r) => interruptible.has(r.name)));
      });
    }
    canceled.push(older.number);
  }
  return canceled;
}

function autoCancelMode(plan: StoredPlan): string {
  const workflow = plan.config.workflow as { auto_cancel?: { on_new_commit?: unknown } } | undefined;
  const mode = workflow?.auto_cancel?.on_new_commit;
  return mode === 'interruptible' || mode === 'none' ? mode : 'conservative';
}

function jobsOf(db: Kysely<Database>, pipelineId: string): Promise<CiJobRow[]> {
  return db.selectFrom('ci_jobs').selectAll().where('pipeline_id', '=', pipelineId).execute();
}

/**
 * Jobs skipped because of the retried ones wait again (`created`): later stages, and jobs that
 * need them (transitively). The runner decides them afresh once the new attempts end.
 */
async function resetSkipped(db: Kysely<Database>, plan: StoredPlan, pipelineId: string, retried: readonly CiJobRow[]): Promise<void> {
  const firstStage = Math.min(...retried.map((r) => r.stage_index));
  const dependents = new Set<string>();
  const stack = retried.map((r) => r.name);
  while (stack.length) {
    const name = stack.pop()!;
    for (const job of plan.jobs) {
      if (dependents.has(job.name) || !job.needs?.some((n) => n.job === name)) continue;
      dependents.add(job.name);
      stack.push(job.name);
    }
  }
  const byName = new Map(plan.jobs.map((j) => [j.name, j]));
  const reset = latestJobs(await jobsOf(db, pipelineId)).filter((r) => {
    if (r.status !== 'skipped') return false;
    const job = byName.get(r.name);
    return dependents.has(r.name) || (job?.needs === null && r.stage_index > firstStage);
  });
  if (reset.length === 0) return;
  await db.updateTable('ci_jobs').set({ status: 'created', finished_at: null, updated_at: now() }).where('id', 'in', reset.map((r) => r.id)).execute();
}
