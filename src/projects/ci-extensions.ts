/**
 * The one extension point of CiService: project settings that change what a pipeline plans
 * and what its jobs see (protected refs, CI/CD variables, job tokens, environments) plug in
 * here, so ci.ts only calls these hooks at a few moments. Every hook is optional.
 */
import type { PipelineContext, PlannedJob } from '../ci/index.js';
import type { CiJobRow, CiPipelineRow, ProjectRow } from '../store/schema.js';

/** Decided before `.gitlab-ci.yml` is loaded (rules and includes see it). */
export interface PipelineSetup {
  /** CI_COMMIT_REF_PROTECTED, and whether protected variables apply. */
  refProtected: boolean;
  /** Project variables every job sees (environment scope `*`). */
  variables: Record<string, string>;
}

/** Decided when a job attempt starts. */
export interface JobSetup {
  /** Added to the job's predefined variables (CI_JOB_TOKEN, SLIPWAY_API_URL…). */
  predefined?: Record<string, string>;
  /** Replaces the pipeline's project variables for this job (environment-scoped ones). */
  projectVariables?: Record<string, string>;
  /** Values replaced with [MASKED] in the job's log. */
  masked?: string[];
  /** File variables: absolute path → contents, written (mode 0600) before the job runs. */
  files?: Record<string, string>;
}

export interface JobRef {
  project: ProjectRow;
  pipeline: CiPipelineRow;
  row: CiJobRow;
  job: PlannedJob;
}

export interface CiExtensions {
  pipelineSetup?(input: { project: ProjectRow; context: PipelineContext }): Promise<PipelineSetup>;
  /** The pipeline and its jobs are stored (called inside the project's creation queue). */
  pipelineCreated?(input: { project: ProjectRow; pipeline: CiPipelineRow; context: PipelineContext; jobs: Array<{ row: CiJobRow; job: PlannedJob }> }): Promise<void>;
  /** Before each attempt; `predefined` is what the job would see without the extension. */
  jobStarting?(input: JobRef & { attempt: number; timeoutMs: number; predefined: Record<string, string> }): Promise<JobSetup>;
  /** Every job status change (fire and forget: the hook reports its own errors). */
  jobState?(input: JobRef & { status: string }): void;
  /** A push deleted a branch (its environments stop); `out` reaches the pusher. */
  branchDeleted?(input: { project: ProjectRow; branch: string; userId: string; out(line: string): void }): Promise<void>;
  /** Directories put first on every job's PATH and bound read-only into job sandboxes (the `slipway` CLI). */
  jobTools?: { path: string[]; binds: string[] };
}
