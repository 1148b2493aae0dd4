import type { Kysely, Migration } from 'kysely';

const ts = (t: any) => t.notNull();

/**
 * CI settings of a project: CI/CD variables (GitLab's key + environment scope), protected
 * branches and tags, job tokens (hashes only, one per running job attempt), and environments
 * with their deployments. `ci_settings` remembers that a project's defaults (its default
 * branch protected) were applied once, so unprotecting it later sticks.
 */
export const ciSettings: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('ci_variables')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('value', 'text', (c) => c.notNull())
      .addColumn('variable_type', 'text', (c) => c.notNull())
      .addColumn('masked', 'integer', (c) => c.notNull())
      .addColumn('protected', 'integer', (c) => c.notNull())
      .addColumn('raw', 'integer', (c) => c.notNull())
      .addColumn('environment_scope', 'text', (c) => c.notNull())
      .addColumn('description', 'text')
      .addColumn('created_at', 'text', ts)
      .addColumn('updated_at', 'text', ts)
      .addUniqueConstraint('ci_variables_project_key_scope', ['project_id', 'key', 'environment_scope'])
      .execute();

    await db.schema
      .createTable('ci_protected_refs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', ts)
      .addUniqueConstraint('ci_protected_refs_project_kind_name', ['project_id', 'kind', 'name'])
      .execute();

    await db.schema
      .createTable('ci_settings')
      .addColumn('project_id', 'text', (c) => c.primaryKey().references('projects.id').onDelete('cascade'))
      .addColumn('defaults_applied_at', 'text', ts)
      .execute();

    await db.schema
      .createTable('ci_job_tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('job_id', 'text', (c) => c.notNull().references('ci_jobs.id').onDelete('cascade'))
      .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', ts)
      .addColumn('expires_at', 'text', ts)
      .execute();
    await db.schema.createIndex('ci_job_tokens_job').on('ci_job_tokens').column('job_id').execute();

    await db.schema
      .createTable('ci_environments')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('slug', 'text', (c) => c.notNull())
      .addColumn('external_url', 'text')
      .addColumn('tier', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('on_stop', 'text')
      .addColumn('auto_stop_in', 'text')
      .addColumn('auto_stop_at', 'text')
      .addColumn('created_at', 'text', ts)
      .addColumn('updated_at', 'text', ts)
      .addUniqueConstraint('ci_environments_project_name', ['project_id', 'name'])
      .execute();

    await db.schema
      .createTable('ci_deployments')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
      .addColumn('environment_id', 'text', (c) => c.notNull().references('ci_environments.id').onDelete('cascade'))
      .addColumn('number', 'integer', (c) => c.notNull())
      .addColumn('job_id', 'text', (c) => c.notNull().references('ci_jobs.id').onDelete('cascade'))
      .addColumn('pipeline_id', 'text', (c) => c.notNull())
      .addColumn('ref', 'text', (c) => c.notNull())
      .addColumn('tag', 'integer', (c) => c.notNull())
      .addColumn('sha', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text')
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('tier', 'text', (c) => c.notNull())
      .addColumn('url', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', ts)
      .addColumn('updated_at', 'text', ts)
      .addColumn('finished_at', 'text')
      .addUniqueConstraint('ci_deployments_project_number', ['project_id', 'number'])
      .execute();
    await db.schema.createIndex('ci_deployments_job').on('ci_deployments').column('job_id').execute();
  },
};
