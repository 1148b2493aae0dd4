import type { Kysely, Migration } from 'kysely';

const ts = (t: any) => t.notNull();

/** Pipelines (couplings, promotions) and app webhooks (subscriptions, events, deliveries). */
export const pipelinesWebhooks: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('pipelines')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('owner_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('owner_type', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', ts)
      .addColumn('updated_at', 'text', ts)
      .addUniqueConstraint('pipelines_owner_name', ['owner_id', 'name'])
      .execute();

    await db.schema
      .createTable('pipeline_couplings')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('pipeline_id', 'text', (c) => c.notNull().references('pipelines.id').onDelete('cascade'))
      // An app is in at most one pipeline.
      .addColumn('app_id', 'text', (c) => c.notNull().unique().references('apps.id').onDelete('cascade'))
      .addColumn('stage', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', ts)
      .addColumn('updated_at', 'text', ts)
      .execute();
    await db.schema.createIndex('pipeline_couplings_pipeline').on('pipeline_couplings').column('pipeline_id').execute();

    await db.schema
      .createTable('pipeline_promotions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('pipeline_id', 'text', (c) => c.notNull().references('pipelines.id').onDelete('cascade'))
      .addColumn('source_app_id', 'text', (c) => c.notNull())
      .addColumn('source_release_id', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', ts)
      .addColumn('updated_at', 'text', ts)
      .execute();

    await db.schema
      .createTable('pipeline_promotion_targets')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('promotion_id', 'text', (c) => c.notNull().references('pipeline_promotions.id').onDelete('cascade'))
      .addColumn('app_id', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('error_message', 'text')
      .addColumn('release_id', 'text')
      .addColumn('created_at', 'text', ts)
      .addColumn('updated_at', 'text', ts)
      .execute();
    await db.schema.createIndex('pipeline_promotion_targets_promotion').on('pipeline_promotion_targets').column('promotion_id').execute();

    await db.schema
      .createTable('app_webhooks')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
      .addColumn('url', 'text', (c) => c.notNull())
      .addColumn('include', 'text', (c) => c.notNull())
      .addColumn('level', 'text', (c) => c.notNull())
      .addColumn('secret', 'text', (c) => c.notNull())
      .addColumn('authorization', 'text')
      .addColumn('created_at', 'text', ts)
      .addColumn('updated_at', 'text', ts)
      .execute();
    await db.schema.createIndex('app_webhooks_app').on('app_webhooks').column('app_id').execute();

    await db.schema
      .createTable('app_webhook_events')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
      .addColumn('include', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('seq', 'bigint', (c) => c.notNull())
      .addColumn('created_at', 'text', ts)
      .addColumn('updated_at', 'text', ts)
      .execute();
    await db.schema.createIndex('app_webhook_events_app').on('app_webhook_events').columns(['app_id', 'seq']).execute();

    await db.schema
      .createTable('app_webhook_deliveries')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
      .addColumn('webhook_id', 'text', (c) => c.notNull().references('app_webhooks.id').onDelete('cascade'))
      .addColumn('event_id', 'text', (c) => c.notNull().references('app_webhook_events.id').onDelete('cascade'))
      .addColumn('seq', 'bigint', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('num_attempts', 'integer', (c) => c.notNull())
      .addColumn('next_attempt_at', 'text')
      .addColumn('last_attempt', 'text')
      .addColumn('created_at', 'text', ts)
      .addColumn('updated_at', 'text', ts)
      .execute();
    await db.schema.createIndex('app_webhook_deliveries_app').on('app_webhook_deliveries').columns(['app_id', 'seq']).execute();
    await db.schema.createIndex('app_webhook_deliveries_status').on('app_webhook_deliveries').column('status').execute();
  },
};
