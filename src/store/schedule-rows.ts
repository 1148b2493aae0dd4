/** Rows of CI pipeline schedules and trigger tokens: the ways a pipeline runs without a push. */

export interface CiScheduleRow {
  id: string;
  project_id: string;
  /** Per-project number, as GitLab's schedule id is shown. */
  number: number;
  description: string;
  /** Branch or tag name. */
  ref: string;
  cron: string;
  /** IANA zone the cron line is read in. */
  cron_timezone: string;
  /** 1 when the schedule runs. */
  active: number;
  /** JSON: [{key, value}], pipeline variables of every run. */
  variables: string;
  /** JSON: inputs for the entry file's spec:inputs, or null. */
  inputs: string | null;
  /** The account pipelines run as (GitLab's schedule owner). */
  owner_id: string;
  /** When it runs next (ISO); null while inactive. */
  next_run_at: string | null;
  last_pipeline_id: string | null;
  /** Why the last due run made no pipeline, or null. */
  last_error: string | null;
  created_at: string;
  updated_at: string;
}

/** A pipeline trigger token: lets outside systems run a project's pipelines (source `trigger`). */
export interface CiTriggerTokenRow {
  id: string;
  project_id: string;
  /** Per-project number. */
  number: number;
  description: string;
  /** SHA-256 of the token; the token itself is shown once, when made. */
  token_hash: string;
  /** The token's last 4 characters, to tell tokens apart. */
  token_hint: string;
  /** The account pipelines run as. */
  owner_id: string;
  last_used_at: string | null;
  created_at: string;
}
