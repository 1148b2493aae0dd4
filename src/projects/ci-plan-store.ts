/**
 * What a pipeline keeps of its planning (ci_pipelines.plan), so a job can run, be played or
 * retried later (after a restart too) without loading `.gitlab-ci.yml` again: the planned jobs,
 * the merged configuration, and the serialisable part of the context. Project variables are not
 * stored (they are read again when a job starts, as GitLab does for retried jobs).
 */
import type { PipelineContext, Plan, PlannedJob } from '../ci/index.js';
import { failureAllowed, type JobState, type JobStatus } from '../ci/run/index.js';
import type { CiJobRow, CiPipelineRow } from '../store/schema.js';

export interface StoredPlan {
  entry: string;
  stages: string[];
  jobs: PlannedJob[];
  config: Record<string, unknown>;
  context: PipelineContext;
}

export function serialisePlan(plan: Plan, config: Record<string, unknown>, context: PipelineContext, entry: string): string {
  const { changes: _changes, repositoryFiles: _files, projectVariables: _vars, ...kept } = context;
  const stored: StoredPlan = { entry, stages: plan.stages, jobs: plan.jobs, config, context: kept };
  return JSON.stringify(stored);
}

export function readPlan(pipeline: Pick<CiPipelineRow, 'plan'>): StoredPlan | undefined {
  if (!pipeline.plan) return undefined;
  return JSON.parse(pipeline.plan) as StoredPlan;
}

/** The newest attempt of each job (GitLab hides retried jobs), in plan order. */
export const latestJobs = (rows: readonly CiJobRow[]): CiJobRow[] => rows.filter((r) => r.retried !== 1).sort((a, b) => a.position - b.position);

/** Stored rows as the progress rules see them (rows whose job the plan does not know are left out). */
export function jobStates(rows: readonly CiJobRow[], plan: StoredPlan): Array<JobState & { row: CiJobRow }> {
  const byName = new Map(plan.jobs.map((j) => [j.name, j]));
  return latestJobs(rows).flatMap((row) => {
    const job = byName.get(row.name);
    if (!job) return [];
    return [{ row, job, status: row.status as JobStatus, allowedFailure: row.status === 'failed' && failureAllowed(job, row.exit_code) }];
  });
}

/** Artifacts as stored in ci_jobs.artifacts. */
export interface StoredArtifactsInfo {
  files: string[];
  dotenv: Record<string, string>;
  expire_in?: string;
  /** ISO time, absent when they never expire. */
  expires_at?: string;
}

export const readArtifacts = (row: Pick<CiJobRow, 'artifacts'>): StoredArtifactsInfo | undefined => (row.artifacts ? (JSON.parse(row.artifacts) as StoredArtifactsInfo) : undefined);
