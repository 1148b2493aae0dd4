// The contracts of job execution, shared by the local runner (`slipway ci run`) and the server:
// an Executor runs one attempt of one planned job in a prepared directory; the scheduler
// decides which job runs when and reports every state change through hooks. Nothing here
// knows about transports or storage.
import type { PlannedJob } from '../plan/plan.js';

/** GitLab's job statuses, plus `created` for jobs that never became runnable (blocked). */
export type JobStatus =
  | 'created'
  | 'pending'
  | 'waiting_for_resource'
  | 'scheduled'
  | 'running'
  | 'success'
  | 'failed'
  | 'canceled'
  | 'skipped'
  | 'manual';

/** GitLab's failure reasons that Slipway produces (and that `retry:when` can name). */
export type FailureReason =
  | 'script_failure'
  | 'job_execution_timeout'
  | 'stuck_or_timeout_failure'
  | 'runner_system_failure'
  | 'runner_unsupported'
  | 'unmet_prerequisites'
  | 'data_integrity_failure'
  | 'unknown_failure'
  // trigger jobs (bridges)
  | 'downstream_pipeline_creation_failed'
  | 'reached_max_descendant_pipelines_depth'
  | 'invalid_bridge_trigger';

/** How one attempt ended. */
export interface JobResult {
  /**
   * `waiting`: only for a trigger job with `strategy: depend` whose child pipeline ended
   * blocked behind a manual job; the job stays `running`, as on GitLab.
   */
  status: 'success' | 'failed' | 'canceled' | 'waiting';
  /** The exit code of the failing command (script failures only). */
  exitCode?: number;
  failureReason?: FailureReason;
  /** A one-line explanation for failures that are not the script's own. */
  message?: string;
}

/** Everything an executor needs to run one attempt: no YAML, no pipeline, no storage. */
export interface ExecutionRequest {
  job: PlannedJob;
  /** 1 for the first run, 2 for the first retry… */
  attempt: number;
  /** `before_script` + `script` run in one shell; `after_script` in another. */
  beforeScript: string[];
  script: string[];
  afterScript: string[];
  /** The job's directory (CI_PROJECT_DIR); it exists and holds the checkout, caches and artifacts. */
  workdir: string;
  /** The final, expanded variable set: the job's environment is exactly this. */
  variables: Record<string, string>;
  /** Values replaced with `[MASKED]` in the output. */
  masked: readonly string[];
  /** The job timeout; `after_script` has its own (`afterScriptTimeoutMs`). */
  timeoutMs: number;
  afterScriptTimeoutMs: number;
  /** Output, masked, in whole lines (each ends with `\n`). */
  onOutput(text: string): void;
  /** Aborting cancels the job: the whole process tree is killed. */
  signal: AbortSignal;
}

export interface Executor {
  readonly name: string;
  run(request: ExecutionRequest): Promise<JobResult>;
}

/** One job of a pipeline as the scheduler tracks it. */
export interface JobRecord {
  job: PlannedJob;
  status: JobStatus;
  /** The number of attempts started so far. */
  attempts: number;
  /** The last attempt's result. */
  result?: JobResult;
  /** Failed, but allowed to (allow_failure or allow_failure:exit_codes). */
  allowedFailure: boolean;
  /** Played with `--manual` (or named on the command line). */
  played: boolean;
  startedAt?: number;
  finishedAt?: number;
  /** Wall time of all attempts, ms. */
  durationMs: number;
  /** Why the job is skipped or still created, for people. */
  note?: string;
}

export interface SchedulerHooks {
  /** Called on every status change, after the record is updated. */
  onJobState?(record: JobRecord, previous: JobStatus): void;
  /** Called before a retry starts (the failed attempt's result is in record.result). */
  onRetry?(record: JobRecord): void;
}

export type PipelineStatus = 'success' | 'failed' | 'canceled' | 'blocked';

export interface PipelineResult {
  status: PipelineStatus;
  jobs: JobRecord[];
  durationMs: number;
}
