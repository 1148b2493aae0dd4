import type { Kysely, Migration } from 'kysely';

/**
 * Pipeline automation on connected CI projects: auto-deploy rules (branch → stage, optionally
 * after green CI) and the record of every auto-deploy; Heroku CI test runs (a disposable test
 * app running app.json's test script); review app settings per pipeline and the review apps.
 */
export const flowAutomation: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('pipeline_auto_deploy_rules')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('pipeline_id', 'text', (c) => c.notNull().references('pipelines.id').onDelete('cascade'))
      .addColumn('stage', 'text', (c) => c.notNull())
      .addColumn('branch', 'text', (c) => c.notNull())
      .addColumn('wait_for_ci', 'integer', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('pipeline_auto_deploy_rules_stage', ['pipeline_id', 'stage'])
      .execute();

    await db.schema
      .createTable('pipeline_auto_deploys')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('pipeline_id', 'text', (c) => c.notNull().references('pipelines.id').onDelete('cascade'))
      .addColumn('stage', 'text', (c) => c.notNull())
      .addColumn('branch', 'text', (c) => c.notNull())
      .addColumn('sha', 'text', (c) => c.notNull())
      .addColumn('ci_pipeline_id', 'text')
      .addColumn('test_run_id', 'text')
      .addColumn('app_id', 'text')
      .addColumn('build_id', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('message', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('pipeline_auto_deploys_pipeline').on('pipeline_auto_deploys').columns(['pipeline_id', 'created_at']).execute();

    await db.schema
      .createTable('flow_test_runs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
      .addColumn('ref', 'text', (c) => c.notNull())
      .addColumn('sha', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('app_name', 'text', (c) => c.notNull())
      .addColumn('app_id', 'text')
      .addColumn('command', 'text')
      .addColumn('exit_code', 'integer')
      .addColumn('output', 'text', (c) => c.notNull())
      .addColumn('message', 'text')
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('finished_at', 'text')
      .execute();
    await db.schema.createIndex('flow_test_runs_sha').on('flow_test_runs').columns(['project_id', 'sha']).execute();

    await db.schema
      .createTable('review_app_configs')
      .addColumn('pipeline_id', 'text', (c) => c.primaryKey().references('pipelines.id').onDelete('cascade'))
      .addColumn('automatic', 'integer', (c) => c.notNull())
      .addColumn('destroy_stale', 'integer', (c) => c.notNull())
      .addColumn('stale_seconds', 'integer', (c) => c.notNull())
      .addColumn('wait_for_ci', 'integer', (c) => c.notNull())
      .addColumn('base_name', 'text')
      .addColumn('created_by', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('review_apps')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('pipeline_id', 'text', (c) => c.notNull().references('pipelines.id').onDelete('cascade'))
      .addColumn('project_id', 'text')
      .addColumn('branch', 'text', (c) => c.notNull())
      .addColumn('pr_number', 'integer')
      .addColumn('merge_request_id', 'text')
      .addColumn('app_id', 'text')
      .addColumn('app_name', 'text', (c) => c.notNull())
      .addColumn('app_setup_id', 'text')
      .addColumn('sha', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('message', 'text')
      .addColumn('error_status', 'text')
      .addColumn('creator_id', 'text', (c) => c.notNull())
      .addColumn('wait_for_ci', 'integer', (c) => c.notNull())
      .addColumn('environment', 'text', (c) => c.notNull())
      .addColumn('last_deployed_at', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('review_apps_branch').on('review_apps').columns(['pipeline_id', 'branch']).execute();
  },
};
