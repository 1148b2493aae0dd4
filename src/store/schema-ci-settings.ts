/**
 * Row types of a CI project's settings (migration 007): CI/CD variables, protected refs, job
 * tokens, environments and deployments. Conventions as in schema.ts.
 */
/** A project's CI/CD variable (GitLab: key unique per environment scope). */
export interface CiVariableRow {
  id: string;
  project_id: string;
  key: string;
  value: string;
  /** env_var or file. */
  variable_type: string;
  masked: number;
  protected: number;
  /** 1: the value is not expanded ($ is literal). */
  raw: number;
  /** `*`, an environment name, or a pattern with `*` (review/*). */
  environment_scope: string;
  description: string | null;
  created_at: string;
  updated_at: string;
}

/** A protected branch or tag name (wildcards allowed). */
export interface CiProtectedRefRow {
  id: string;
  project_id: string;
  /** branch or tag. */
  kind: string;
  name: string;
  /** 1: pushes may rewrite the branch (GitLab's "Allowed to force push"; migration 011). Always 0 for tags. */
  allow_force_push: number;
  created_at: string;
}

/** Per-project CI settings; a row means the defaults (default branch protected) were applied. */
export interface CiSettingsRow {
  project_id: string;
  defaults_applied_at: string;
}

/** CI_JOB_TOKEN of a running job attempt, stored hashed; removed when the attempt ends. */
export interface CiJobTokenRow {
  id: string;
  token_hash: string;
  job_id: string;
  project_id: string;
  /** The pipeline's user, whom the token acts as (scoped). */
  user_id: string;
  created_at: string;
  expires_at: string;
}

/** An environment of a project (made by the first job that names it). */
export interface CiEnvironmentRow {
  id: string;
  project_id: string;
  name: string;
  slug: string;
  external_url: string | null;
  /** production, staging, testing, development or other. */
  tier: string;
  /** available or stopped. */
  state: string;
  /** The stop job's name (environment:on_stop) of the last deployment. */
  on_stop: string | null;
  auto_stop_in: string | null;
  auto_stop_at: string | null;
  created_at: string;
  updated_at: string;
}

/** One environment job: its action, and a status that follows the job's. */
export interface CiDeploymentRow {
  id: string;
  project_id: string;
  environment_id: string;
  /** Per-project number (GitLab's deployment iid). */
  number: number;
  job_id: string;
  pipeline_id: string;
  ref: string;
  tag: number;
  sha: string;
  user_id: string | null;
  /** start, prepare, stop, verify or access. */
  action: string;
  tier: string;
  url: string | null;
  /** created, running, success, failed, canceled, skipped or blocked. */
  status: string;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
}
