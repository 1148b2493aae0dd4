// Row types of pipeline automation (src/flow: auto-deploy, test runs, review apps), kept apart
// so schema.ts stays small.

/** A pipeline stage that follows a branch of the connected CI project. */
export interface PipelineAutoDeployRuleRow {
  id: string;
  pipeline_id: string;
  stage: string;
  branch: string;
  /** 1: deploy only once the commit's CI pipeline (or test run) succeeded. */
  wait_for_ci: number;
  /** Who set the rule up; deploys run as this account. */
  created_by: string;
  created_at: string;
  updated_at: string;
}

/** One auto-deploy of a commit to a stage. */
export interface PipelineAutoDeployRow {
  id: string;
  pipeline_id: string;
  stage: string;
  branch: string;
  sha: string;
  ci_pipeline_id: string | null;
  test_run_id: string | null;
  /** The app the commit was built on (the others got the same slug). */
  app_id: string | null;
  build_id: string | null;
  /** waiting_for_ci, testing, building, releasing, succeeded, failed or skipped. */
  status: string;
  message: string | null;
  created_at: string;
  updated_at: string;
}

/** A Heroku CI test run: app.json's test script on a disposable test app. */
export interface FlowTestRunRow {
  id: string;
  project_id: string;
  ref: string;
  sha: string;
  /** creating, running, succeeded, failed or errored (the test app could not be made). */
  status: string;
  app_name: string;
  app_id: string | null;
  command: string | null;
  exit_code: number | null;
  /** The end of the test output. */
  output: string;
  message: string | null;
  user_id: string;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
}

/** Review app settings of a pipeline (a row means review apps are enabled). */
export interface ReviewAppConfigRow {
  pipeline_id: string;
  /** 1: pushes to branches and opened merge requests create review apps by themselves. */
  automatic: number;
  /** 1: review apps not deployed for stale_seconds are destroyed. */
  destroy_stale: number;
  stale_seconds: number;
  wait_for_ci: number;
  /** Prefix of review app names (default: the pipeline's name). */
  base_name: string | null;
  created_by: string;
  created_at: string;
  updated_at: string;
}

export interface ReviewAppRow {
  id: string;
  pipeline_id: string;
  project_id: string | null;
  branch: string;
  /** The merge request's iid (`!N`), when it is for one. */
  pr_number: number | null;
  merge_request_id: string | null;
  app_id: string | null;
  app_name: string;
  app_setup_id: string | null;
  /** The commit it runs (or is being built). */
  sha: string | null;
  /** pending, creating, created, deleting, deleted or errored (Heroku's). */
  status: string;
  message: string | null;
  error_status: string | null;
  creator_id: string;
  wait_for_ci: number;
  /** JSON object of extra config vars given when it was created. */
  environment: string;
  last_deployed_at: string | null;
  created_at: string;
  updated_at: string;
}
