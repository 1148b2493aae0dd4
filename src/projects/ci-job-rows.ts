/**
 * Job rows: creating the rows of a planned pipeline, new attempts of a job (GitLab's retry: a
 * new job with a new number; the old one is kept, marked retried), per-project numbering under
 * a per-project lock, and `retry:` decisions for a failed attempt.
 */
import type { Kysely } from 'kysely';
import type { PlannedJob } from '../ci/index.js';
import { retryMatches, retryPolicy, type FailureReason } from '../ci/run/index.js';
import { newId, now } from '../core/ids.js';
import type { CiJobRow, Database } from '../store/schema.js';

export const ciJobLogKey = (jobId: string) => `ci-job-${jobId}`;

/** Statuses a job does not leave by itself. */
export const FINAL_JOB_STATUSES = ['success', 'failed', 'canceled', 'skipped'];
/** Statuses `cancel` applies to (GitLab's cancelable statuses). */
export const CANCELABLE_JOB_STATUSES = ['created', 'pending', 'waiting_for_resource', 'scheduled', 'running'];

/** One queue per project: numbers are allocated one at a time. */
export class ProjectLocks {
  private readonly locks = new Map<string, Promise<unknown>>();

  run<T>(projectId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(projectId) ?? Promise.resolve();
    const next = previous.then(fn, fn);
    this.locks.set(projectId, next.catch(() => undefined));
    return next;
  }
}

/** Tables whose rows are numbered per project (`#3`, schedule 2…). */
type NumberedTable = 'ci_pipelines' | 'ci_jobs' | 'ci_schedules' | 'ci_trigger_tokens';

export async function nextNumber(db: Kysely<Database>, table: NumberedTable, projectId: string): Promise<number> {
  const row = await db.selectFrom(table).select((eb) => eb.fn.max('number').as('max')).where('project_id', '=', projectId).executeTakeFirst();
  return Number(row?.max ?? 0) + 1;
}

/**
 * Inserts a row under the project's next number, outside any project lock: an insert that
 * lost the number to a racing one (the unique constraint) tries the next. Returns the number.
 */
export async function insertNumbered(db: Kysely<Database>, table: NumberedTable, projectId: string, insert: (number: number) => Promise<unknown>): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const number = await nextNumber(db, table, projectId);
    try {
      await insert(number);
      return number;
    } catch (err) {
      if (attempt > 3 || !/unique|duplicate/i.test(String(err))) throw err;
    }
  }
}

/** The rows of a new pipeline's jobs, numbered from `firstNumber`. */
export function plannedRows(jobs: readonly PlannedJob[], input: { projectId: string; pipelineId: string; firstNumber: number }): CiJobRow[] {
  const stamp = now();
  return jobs.map((job, position) => {
    const id = newId();
    return {
      id,
      project_id: input.projectId,
      pipeline_id: input.pipelineId,
      number: input.firstNumber + position,
      position,
      name: job.name,
      stage: job.stage,
      stage_index: job.stageIndex,
      run_when: job.when,
      allow_failure: job.allowFailure ? 1 : 0,
      ...freshAttempt(id, stamp, 'created', null),
    };
  });
}

/** The state of a job attempt that has not run yet: no result, a log of its own. */
function freshAttempt(id: string, stamp: string, status: string, userId: string | null) {
  return {
    status,
    failure_reason: null,
    failure_message: null,
    exit_code: null,
    attempts: 0,
    log_key: ciJobLogKey(id),
    created_at: stamp,
    updated_at: stamp,
    started_at: null,
    finished_at: null,
    retried: 0,
    scheduled_at: null,
    artifacts: null,
    user_id: userId,
  };
}

/**
 * Marks `old` retried and inserts its next attempt (a new number, a new log) with `status`;
 * returns the new row. Call it inside the project's lock.
 */
export async function insertAttempt(db: Kysely<Database>, old: CiJobRow, status: 'pending' | 'created', userId: string | null): Promise<CiJobRow> {
  const stamp = now();
  const id = newId();
  const row: CiJobRow = {
    ...old,
    id,
    number: await nextNumber(db, 'ci_jobs', old.project_id),
    ...freshAttempt(id, stamp, status, userId),
  };
  await db.transaction().execute(async (tx) => {
    await tx.updateTable('ci_jobs').set({ retried: 1, updated_at: stamp }).where('id', '=', old.id).execute();
    await tx.insertInto('ci_jobs').values(row).execute();
  });
  return row;
}

/** Whether `retry:` asks for another attempt after this failure (`earlier`: attempts before this one). */
export function retryWanted(job: PlannedJob, failure: { reason: string | null; exitCode: number | null }, earlier: number): boolean {
  const policy = retryPolicy(job.config.retry);
  if (earlier >= policy.max) return false;
  return retryMatches(policy, { status: 'failed', failureReason: (failure.reason ?? 'unknown_failure') as FailureReason, ...(failure.exitCode !== null ? { exitCode: failure.exitCode } : {}) });
}

/** How many earlier attempts of the job (same pipeline, same name) there are. */
export async function earlierAttempts(db: Kysely<Database>, row: Pick<CiJobRow, 'pipeline_id' | 'name'>): Promise<number> {
  const found = await db.selectFrom('ci_jobs').select((eb) => eb.fn.countAll().as('n')).where('pipeline_id', '=', row.pipeline_id).where('name', '=', row.name).where('retried', '=', 1).executeTakeFirst();
  return Number(found?.n ?? 0);
}
