import type { Kysely, Migration } from 'kysely';

/**
 * Approvals for pipeline promotions: a per-stage policy on a pipeline (a stage may require
 * an approval before a promotion releases into it, optionally from a user other than the one
 * who asked), and on each promotion the policy it was created under, its approval status,
 * who decided and when.
 */
export const promotionApprovals: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('pipeline_stage_policies')
      .addColumn('pipeline_id', 'text', (c) => c.notNull().references('pipelines.id').onDelete('cascade'))
      .addColumn('stage', 'text', (c) => c.notNull())
      // any_user or different_user
      .addColumn('approver', 'text', (c) => c.notNull())
      .addColumn('updated_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('pipeline_stage_policies_pk', ['pipeline_id', 'stage'])
      .execute();

    // SQLite adds one column per statement.
    await db.schema.alterTable('pipeline_promotions').addColumn('approval_policy', 'text').execute();
    await db.schema.alterTable('pipeline_promotions').addColumn('approval_status', 'text').execute();
    await db.schema.alterTable('pipeline_promotions').addColumn('decided_by', 'text').execute();
    await db.schema.alterTable('pipeline_promotions').addColumn('decided_at', 'text').execute();
    await db.schema.createIndex('pipeline_promotions_pipeline').on('pipeline_promotions').columns(['pipeline_id', 'created_at']).execute();
  },
};
