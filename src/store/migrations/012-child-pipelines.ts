import type { Kysely, Migration } from 'kysely';

/**
 * Child pipelines (`trigger:include`): a pipeline made by a trigger job (a "bridge") records
 * its parent pipeline and the bridge job that made it; the bridge finds its child through
 * `bridge_job_id`, and canceling a parent reaches its children through `parent_pipeline_id`.
 */
export const childPipelines: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('ci_pipelines').addColumn('parent_pipeline_id', 'text').execute();
    await db.schema.alterTable('ci_pipelines').addColumn('bridge_job_id', 'text').execute();
    await db.schema.createIndex('ci_pipelines_parent').on('ci_pipelines').column('parent_pipeline_id').execute();
    await db.schema.createIndex('ci_pipelines_bridge_job').on('ci_pipelines').column('bridge_job_id').execute();
  },
};
