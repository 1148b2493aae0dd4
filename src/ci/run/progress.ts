// Pipeline progress from stored job states, as GitLab's pipeline processing does it: whenever
// something changes (a job ends, is played, retried or canceled, or the server restarts), every
// `created` job whose prerequisites are complete is decided (pending, manual, scheduled or
// skipped), and the pipeline's status follows from its jobs. The server-mode runner keeps its
// state in the database and calls this after each change; the local Scheduler keeps the same
// rules in memory. One pass is linear in jobs + needs.
import type { PlannedJob } from '../plan/plan.js';
import type { JobStatus, PipelineStatus } from './contract.js';

/** The newest attempt of one planned job, as stored. */
export interface JobState {
  job: PlannedJob;
  status: JobStatus;
  /** Failed, but allowed to (allow_failure, or an exit code in allow_failure:exit_codes). */
  allowedFailure: boolean;
}

export interface Transition {
  index: number;
  status: 'pending' | 'manual' | 'scheduled' | 'skipped';
  note: string;
}

const TERMINAL = new Set<JobStatus>(['success', 'failed', 'canceled', 'skipped']);
/** Statuses in which Slipway is still looking after the job. */
export const ACTIVE_STATUSES: readonly JobStatus[] = ['pending', 'running', 'waiting_for_resource', 'scheduled'];

/** Whether a failed job's failure is allowed (allow_failure, allow_failure:exit_codes). */
export function failureAllowed(job: PlannedJob, exitCode: number | null | undefined): boolean {
  const codes = job.allowFailureExitCodes;
  return codes ? exitCode !== undefined && exitCode !== null && codes.includes(exitCode) : job.allowFailure;
}

/** Done, as far as later stages care: terminal, or an optional manual job nobody played. */
const completeForStage = (s: JobState) => TERMINAL.has(s.status) || (s.status === 'manual' && s.job.allowFailure);
const failed = (s: JobState) => s.status === 'failed' && !s.allowedFailure;

/**
 * Decides the `created` jobs whose prerequisites are complete, repeating until nothing more
 * changes (a skipped job completes its dependents' prerequisites). `states` is updated in place.
 */
export function progress(states: JobState[]): Transition[] {
  const byName = new Map(states.map((s, i) => [s.job.name, i]));
  const stageKeys = [...new Set(states.map((s) => s.job.stageIndex))].sort((a, b) => a - b);
  const out: Transition[] = [];
  for (let changed = true; changed; ) {
    changed = false;
    // Per stage: are all earlier stages complete, and did anything in them fail or get canceled?
    const summary = new Map<number, { complete: boolean; failed: boolean; canceled: boolean }>();
    const perStage = new Map<number, { complete: boolean; failed: boolean; canceled: boolean }>();
    for (const s of states) {
      const entry = perStage.get(s.job.stageIndex) ?? { complete: true, failed: false, canceled: false };
      entry.complete &&= completeForStage(s);
      entry.failed ||= failed(s);
      entry.canceled ||= s.status === 'canceled' && !s.job.allowFailure;
      perStage.set(s.job.stageIndex, entry);
    }
    let before = { complete: true, failed: false, canceled: false };
    for (const key of stageKeys) {
      summary.set(key, before);
      const own = perStage.get(key)!;
      before = { complete: before.complete && own.complete, failed: before.failed || own.failed, canceled: before.canceled || own.canceled };
    }
    states.forEach((s, index) => {
      if (s.status !== 'created') return;
      let anyFailed: boolean;
      let anyCanceled: boolean;
      let skippedNeed = false;
      if (s.job.needs === null) {
        const prior = summary.get(s.job.stageIndex)!;
        if (!prior.complete) return;
        anyFailed = prior.failed;
        anyCanceled = prior.canceled;
      } else {
        const needed = s.job.needs.map((n) => byName.get(n.job)).filter((i): i is number => i !== undefined && i !== index).map((i) => states[i]);
        if (!needed.every((n) => TERMINAL.has(n.status))) return;
        anyFailed = needed.some(failed);
        anyCanceled = needed.some((n) => n.status === 'canceled');
        skippedNeed = needed.some((n) => n.status === 'skipped');
      }
      const decision = decide(s.job, anyFailed, anyCanceled, skippedNeed);
      s.status = decision.status;
      out.push({ index, ...decision });
      changed = true;
    });
  }
  return out;
}

function decide(job: PlannedJob, anyFailed: boolean, anyCanceled: boolean, skippedNeed: boolean): Omit<Transition, 'index'> {
  const blocked = anyFailed || anyCanceled || skippedNeed;
  const why = skippedNeed ? 'a needed job was skipped' : anyFailed ? 'an earlier job failed' : 'an earlier job was canceled';
  switch (job.when) {
    case 'on_failure':
      if (anyFailed && !skippedNeed) return { status: 'pending', note: 'an earlier job failed (when: on_failure)' };
      return { status: 'skipped', note: skippedNeed ? why : 'nothing failed before it (when: on_failure)' };
    case 'always':
      return { status: 'pending', note: 'when: always' };
    case 'manual':
      if (blocked) return { status: 'skipped', note: why };
      return { status: 'manual', note: job.allowFailure ? 'manual job, not played' : 'manual job, not played: it blocks later stages' };
    case 'delayed':
      if (blocked) return { status: 'skipped', note: why };
      return { status: 'scheduled', note: `starts in ${job.startIn ?? '0'}` };
    default:
      if (blocked) return { status: 'skipped', note: why };
      return { status: 'pending', note: '' };
  }
}

/**
 * The pipeline's status from its jobs' newest attempts: `running` while anything may still
 * run by itself, else failed > canceled > blocked (a manual job that blocks) > success.
 */
export function pipelineStatus(states: readonly JobState[]): PipelineStatus | 'running' {
  if (states.some((s) => (ACTIVE_STATUSES as readonly string[]).includes(s.status))) return 'running';
  if (states.some(failed)) return 'failed';
  if (states.some((s) => s.status === 'canceled' && !s.job.allowFailure)) return 'canceled';
  if (states.some((s) => s.status === 'created' || (s.status === 'manual' && !s.job.allowFailure))) return 'blocked';
  return 'success';
}
