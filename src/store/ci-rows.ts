/** Rows of CI projects (server-mode CI): projects, their pipelines and their jobs. */

/** A CI project: a git repository at /<name>.git whose pushes run `.gitlab-ci.yml` pipelines. */
export interface ProjectRow {
  id: string;
  /** Unique among projects and apps (they share the git URL space). */
  name: string;
  owner_id: string;
  created_at: string;
  updated_at: string;
}

export interface CiPipelineRow {
  id: string;
  project_id: string;
  /** Per-project number (GitLab's pipeline iid), shown as `#N`. */
  number: number;
  /** Branch or tag name. */
  ref: string;
  /** 1 when ref is a tag. */
  tag: number;
  sha: string;
  before_sha: string | null;
  /** CI_PIPELINE_SOURCE: push, merge_request_event, web, api… */
  source: string;
  /** The merge request a merge_request_event pipeline runs for. */
  merge_request_id: string | null;
  /** created, running, success, failed, canceled or blocked. */
  status: string;
  /** config_error (invalid .gitlab-ci.yml) or runner_system_failure (Slipway stopped). */
  failure_reason: string | null;
  /** JSON array of `file:line: message` configuration errors. */
  errors: string;
  user_id: string | null;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
  /** JSON: the plan the pipeline was created with (jobs, merged configuration, context); null for config errors. */
  plan: string | null;
  /** The number of the newer pipeline that auto-canceled this one (interruptible jobs). */
  auto_canceled_by: string | null;
  /** A child pipeline (source parent_pipeline): the pipeline whose trigger job made it, and that job's row. */
  parent_pipeline_id: string | null;
  bridge_job_id: string | null;
}

export interface CiJobRow {
  id: string;
  project_id: string;
  pipeline_id: string;
  /** Per-project number (CI_JOB_ID). */
  number: number;
  /** Plan order within the pipeline. */
  position: number;
  name: string;
  stage: string;
  stage_index: number;
  run_when: string;
  allow_failure: number;
  /** GitLab's job statuses (created, pending, running, success, failed, canceled, skipped, manual…). */
  status: string;
  failure_reason: string | null;
  failure_message: string | null;
  exit_code: number | null;
  attempts: number;
  /** OutputStore key of the job's log. */
  log_key: string;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
  /** 1 once a newer attempt of the job exists (GitLab keeps retried jobs, hidden by default). */
  retried: number;
  /** When a delayed job is due. */
  scheduled_at: string | null;
  /** JSON: the job's stored artifacts ({files, dotenv, expire_in, expires_at}), or null. */
  artifacts: string | null;
  /** Who played or retried this attempt (GITLAB_USER_* for it). */
  user_id: string | null;
}
