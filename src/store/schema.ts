/**
 * Row types of Slipway's state store. Booleans are stored as 0/1 integers, timestamps as
 * ISO-8601 text and structured values as JSON text, so that SQLite and PostgreSQL hold
 * exactly the same data through the same migrations.
 */
import type { CiVariableRow, CiProtectedRefRow, CiSettingsRow, CiJobTokenRow, CiEnvironmentRow, CiDeploymentRow } from './schema-ci-settings.js';

/** CI project settings (CI/CD variables, protected refs, job tokens, environments). */
export type { CiVariableRow, CiProtectedRefRow, CiSettingsRow, CiJobTokenRow, CiEnvironmentRow, CiDeploymentRow };

import type { MergeRequestRow } from './merge-request-rows.js';
import type { ProjectRow, CiPipelineRow, CiJobRow } from './ci-rows.js';
import type { CiScheduleRow, CiTriggerTokenRow } from './schedule-rows.js';

/** CI projects, their pipelines and jobs. */
export type { ProjectRow, CiPipelineRow, CiJobRow };

/** CI pipeline schedules and trigger tokens. */
export type { CiScheduleRow, CiTriggerTokenRow };

export type { MergeRequestRow };
import type { PipelineAutoDeployRuleRow, PipelineAutoDeployRow, FlowTestRunRow, ReviewAppConfigRow, ReviewAppRow } from './flow-automation-rows.js';

export type { PipelineAutoDeployRuleRow, PipelineAutoDeployRow, FlowTestRunRow, ReviewAppConfigRow, ReviewAppRow };

export interface AccountRow {
  id: string;
  email: string;
  name: string | null;
  password_hash: string | null;
  admin: number;
  created_at: string;
  updated_at: string;
}

export interface ApiKeyRow {
  id: string;
  account_id: string;
  token_hash: string;
  description: string;
  created_at: string;
  last_used_at: string | null;
  expires_at: string | null;
}

export interface AppRow {
  id: string;
  name: string;
  owner_id: string;
  region: string;
  stack: string;
  build_stack: string;
  maintenance: number;
  /** JSON object of the current config vars. */
  config: string;
  /** JSON array of buildpack URLs set on the app (empty = detect). */
  buildpacks: string;
  created_at: string;
  updated_at: string;
  released_at: string | null;
}

export interface CollaboratorRow {
  id: string;
  app_id: string;
  account_id: string;
  role: string;
  created_at: string;
  updated_at: string;
}

export interface SlugRow {
  id: string;
  app_id: string;
  path: string;
  size: number;
  checksum: string;
  commit: string | null;
  commit_description: string | null;
  /** JSON object: process type → command. */
  process_types: string;
  buildpack_provided_description: string | null;
  stack: string;
  created_at: string;
  updated_at: string;
}

export interface BuildRow {
  id: string;
  app_id: string;
  status: string;
  user_id: string;
  source_url: string | null;
  source_version: string | null;
  slug_id: string | null;
  release_id: string | null;
  /** JSON array of buildpack URLs that ran or were requested. */
  buildpacks: string;
  output_token: string;
  failure_message: string | null;
  created_at: string;
  updated_at: string;
}

export interface SourceRow {
  id: string;
  path: string;
  size: number | null;
  token: string;
  account_id: string;
  created_at: string;
}

export interface ReleaseRow {
  id: string;
  app_id: string;
  version: number;
  description: string;
  status: string;
  slug_id: string | null;
  /** JSON object: the config-var snapshot this release runs with. */
  config: string;
  user_id: string;
  release_command: string | null;
  output_token: string;
  created_at: string;
  updated_at: string;
}

export interface FormationRow {
  id: string;
  app_id: string;
  type: string;
  quantity: number;
  size: string;
  created_at: string;
  updated_at: string;
}

export interface DomainRow {
  id: string;
  app_id: string;
  hostname: string;
  kind: string;
  created_at: string;
  updated_at: string;
}

export interface AppFeatureRow {
  app_id: string;
  name: string;
  enabled: number;
  updated_at: string;
}

export interface SettingRow {
  key: string;
  value: string;
}

export interface PipelineRow {
  id: string;
  name: string;
  owner_id: string;
  /** `user` (teams are not supported yet). */
  owner_type: string;
  /** The CI project this pipeline is connected to (pipelines:connect), if any. */
  project_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface PipelineCouplingRow {
  id: string;
  pipeline_id: string;
  app_id: string;
  /** review, development, staging or production. */
  stage: string;
  created_at: string;
  updated_at: string;
}

export interface PipelinePromotionRow {
  id: string;
  pipeline_id: string;
  source_app_id: string;
  source_release_id: string;
  /** Who asked for the promotion. */
  user_id: string;
  /** `pending` until every target has finished (or it was rejected), then `completed`. */
  status: string;
  /** The approval policy it was created under: null (none), any_user or different_user. */
  approval_policy: string | null;
  /** null (no approval needed), awaiting, approved or rejected. */
  approval_status: string | null;
  /** The account that approved or rejected it, and when. */
  decided_by: string | null;
  decided_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface PipelinePromotionTargetRow {
  id: string;
  promotion_id: string;
  app_id: string;
  /** awaiting_approval, pending, succeeded or failed. */
  status: string;
  error_message: string | null;
  release_id: string | null;
  created_at: string;
  updated_at: string;
}

/** A stage of a pipeline that needs an approval before a promotion releases into it. */
export interface PipelineStagePolicyRow {
  pipeline_id: string;
  stage: string;
  /** any_user, or different_user (not the one who asked for the promotion). */
  approver: string;
  updated_by: string;
  created_at: string;
  updated_at: string;
}

export interface AppWebhookRow {
  id: string;
  app_id: string;
  url: string;
  /** JSON array of entities, e.g. ["api:release"]. */
  include: string;
  /** `notify` (one attempt) or `sync` (retries). */
  level: string;
  /** HMAC key for Heroku-Webhook-Hmac-SHA256; never leaves the server except in the create response header. */
  secret: string;
  authorization: string | null;
  created_at: string;
  updated_at: string;
}

export interface AppWebhookEventRow {
  id: string;
  app_id: string;
  /** The entity, e.g. `api:release`. */
  include: string;
  /** JSON: {action, actor, data, previous_data, resource, version}. */
  payload: string;
  seq: number;
  created_at: string;
  updated_at: string;
}

export interface AppWebhookDeliveryRow {
  id: string;
  app_id: string;
  webhook_id: string;
  event_id: string;
  seq: number;
  /** pending, scheduled, retrying, failed or succeeded. */
  status: string;
  num_attempts: number;
  next_attempt_at: string | null;
  /** JSON of the last attempt {id, code, error_class, status, created_at, updated_at}, or null. */
  last_attempt: string | null;
  created_at: string;
  updated_at: string;
}

export interface AppManifestRow {
  app_id: string;
  /** The app.json environment it was resolved for (review, test, …), or null for the root keys. */
  environment: string | null;
  /** JSON of the resolved manifest (core/app-json ResolvedAppJson). */
  manifest: string;
  /** JSON array of the add-ons app.json asked for: recorded, not provisioned (no add-ons yet). */
  addons: string;
  postdeploy_command: string | null;
  postdeploy_size: string | null;
  /** null (no script), pending (until the first deploy), running, succeeded or failed. */
  postdeploy_status: string | null;
  postdeploy_exit_code: number | null;
  /** The script's output (the end of it, when long). */
  postdeploy_output: string | null;
  postdeploy_release_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface AppSetupRow {
  id: string;
  account_id: string;
  /** The app it created; not a foreign key: a failed setup removes its app but stays readable. */
  app_id: string;
  app_name: string;
  environment: string | null;
  /** pending, succeeded or failed. */
  status: string;
  failure_message: string | null;
  /** JSON array of app.json problems. */
  manifest_errors: string;
  build_id: string | null;
  source_url: string | null;
  resolved_success_url: string | null;
  created_at: string;
  updated_at: string;
}

export interface Database {
  accounts: AccountRow;
  api_keys: ApiKeyRow;
  apps: AppRow;
  collaborators: CollaboratorRow;
  slugs: SlugRow;
  builds: BuildRow;
  sources: SourceRow;
  releases: ReleaseRow;
  formations: FormationRow;
  domains: DomainRow;
  app_features: AppFeatureRow;
  settings: SettingRow;
  pipelines: PipelineRow;
  pipeline_couplings: PipelineCouplingRow;
  pipeline_promotions: PipelinePromotionRow;
  pipeline_promotion_targets: PipelinePromotionTargetRow;
  pipeline_stage_policies: PipelineStagePolicyRow;
  app_webhooks: AppWebhookRow;
  app_webhook_events: AppWebhookEventRow;
  app_webhook_deliveries: AppWebhookDeliveryRow;
  app_manifests: AppManifestRow;
  app_setups: AppSetupRow;
  projects: ProjectRow;
  ci_pipelines: CiPipelineRow;
  ci_jobs: CiJobRow;
  ci_variables: CiVariableRow;
  ci_protected_refs: CiProtectedRefRow;
  ci_settings: CiSettingsRow;
  ci_job_tokens: CiJobTokenRow;
  ci_environments: CiEnvironmentRow;
  ci_deployments: CiDeploymentRow;
  ci_schedules: CiScheduleRow;
  ci_trigger_tokens: CiTriggerTokenRow;
  merge_requests: MergeRequestRow;
  pipeline_auto_deploy_rules: PipelineAutoDeployRuleRow;
  pipeline_auto_deploys: PipelineAutoDeployRow;
  flow_test_runs: FlowTestRunRow;
  review_app_configs: ReviewAppConfigRow;
  review_apps: ReviewAppRow;
}
