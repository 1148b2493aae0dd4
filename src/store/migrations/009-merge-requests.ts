import type { Kysely, Migration } from 'kysely';

/**
 * Merge requests on CI projects: a source branch proposed for a target branch. `id` is an
 * instance-wide number kept as text (it is CI_MERGE_REQUEST_ID, and ci_pipelines.merge_request_id
 * points at it); `iid` is the per-project number users see (`!3`).
 */
export const mergeRequests: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('merge_requests')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
      .addColumn('iid', 'integer', (c) => c.notNull())
      .addColumn('title', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('labels', 'text', (c) => c.notNull())
      .addColumn('source_branch', 'text', (c) => c.notNull())
      .addColumn('target_branch', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('author_id', 'text', (c) => c.notNull())
      .addColumn('head_sha', 'text', (c) => c.notNull())
      .addColumn('merge_commit_sha', 'text')
      .addColumn('merged_by_id', 'text')
      .addColumn('merged_at', 'text')
      .addColumn('closed_by_id', 'text')
      .addColumn('closed_at', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('merge_requests_project_iid', ['project_id', 'iid'])
      .execute();
    await db.schema.createIndex('merge_requests_source').on('merge_requests').columns(['project_id', 'source_branch']).execute();
    await db.schema.createIndex('ci_pipelines_merge_request').on('ci_pipelines').column('merge_request_id').execute();
  },
};
