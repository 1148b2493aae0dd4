import type { Kysely, Migration } from 'kysely';

/**
 * Job control for server-mode CI (play, retry, cancel, auto-cancel, resuming after a restart):
 * a pipeline keeps the plan it was created with (jobs, merged configuration, context), so any
 * job can run later without planning again; a retried job stays as it was (`retried` = 1) next
 * to its new attempt; a delayed job remembers when it is due; a job's artifacts are described
 * here and stored under <data>/ci/<project>/artifacts/<job>.
 */
export const ciJobControl: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('ci_pipelines').addColumn('plan', 'text').execute();
    await db.schema.alterTable('ci_pipelines').addColumn('auto_canceled_by', 'text').execute();
    await db.schema.alterTable('ci_jobs').addColumn('retried', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    await db.schema.alterTable('ci_jobs').addColumn('scheduled_at', 'text').execute();
    await db.schema.alterTable('ci_jobs').addColumn('artifacts', 'text').execute();
    await db.schema.alterTable('ci_jobs').addColumn('user_id', 'text').execute();
    await db.schema.createIndex('ci_pipelines_project_ref').on('ci_pipelines').columns(['project_id', 'ref']).execute();
  },
};
