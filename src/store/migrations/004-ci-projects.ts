import type { Kysely, Migration } from 'kysely';

const ts = (t: any) => t.notNull();

/**
 * Server-mode CI: projects (git repositories whose pushes run `.gitlab-ci.yml` pipelines; names
 * share the `/<name>.git` URL space with apps), their pipelines and jobs. Pipelines and jobs are
 * numbered per project (`number`), as GitLab's pipeline iid; `id` is the row's UUID.
 */
export const ciProjects: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('projects')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('owner_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('created_at', 'text', ts)
      .addColumn('updated_at', 'text', ts)
      .execute();

    await db.schema
      .createTable('ci_pipelines')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
      .addColumn('number', 'integer', (c) => c.notNull())
      .addColumn('ref', 'text', (c) => c.notNull())
      .addColumn('tag', 'integer', (c) => c.notNull())
      .addColumn('sha', 'text', (c) => c.notNull())
      .addColumn('before_sha', 'text')
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('failure_reason', 'text')
      .addColumn('errors', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text')
      .addColumn('created_at', 'text', ts)
      .addColumn('updated_at', 'text', ts)
      .addColumn('started_at', 'text')
      .addColumn('finished_at', 'text')
      .addUniqueConstraint('ci_pipelines_project_number', ['project_id', 'number'])
      .execute();

    await db.schema
      .createTable('ci_jobs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
      .addColumn('pipeline_id', 'text', (c) => c.notNull().references('ci_pipelines.id').onDelete('cascade'))
      .addColumn('number', 'integer', (c) => c.notNull())
      .addColumn('position', 'integer', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('stage', 'text', (c) => c.notNull())
      .addColumn('stage_index', 'integer', (c) => c.notNull())
      .addColumn('run_when', 'text', (c) => c.notNull())
      .addColumn('allow_failure', 'integer', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('failure_reason', 'text')
      .addColumn('failure_message', 'text')
      .addColumn('exit_code', 'integer')
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('log_key', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', ts)
      .addColumn('updated_at', 'text', ts)
      .addColumn('started_at', 'text')
      .addColumn('finished_at', 'text')
      .addUniqueConstraint('ci_jobs_project_number', ['project_id', 'number'])
      .execute();
    await db.schema.createIndex('ci_jobs_pipeline').on('ci_jobs').column('pipeline_id').execute();
    await db.schema.createIndex('ci_jobs_status').on('ci_jobs').column('status').execute();
  },
};
