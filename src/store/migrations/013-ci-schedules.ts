import type { Kysely, Migration } from 'kysely';

/** Pipeline schedules: a cron line (in a time zone) that runs a ref's pipeline with its variables and inputs. */
export const ciSchedules: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('ci_schedules')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
      .addColumn('number', 'integer', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('ref', 'text', (c) => c.notNull())
      .addColumn('cron', 'text', (c) => c.notNull())
      .addColumn('cron_timezone', 'text', (c) => c.notNull())
      .addColumn('active', 'integer', (c) => c.notNull())
      .addColumn('variables', 'text', (c) => c.notNull())
      .addColumn('inputs', 'text')
      .addColumn('owner_id', 'text', (c) => c.notNull())
      .addColumn('next_run_at', 'text')
      .addColumn('last_pipeline_id', 'text')
      .addColumn('last_error', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('ci_schedules_project_number', ['project_id', 'number'])
      .execute();
    await db.schema.createIndex('ci_schedules_due').on('ci_schedules').columns(['active', 'next_run_at']).execute();
  },
};
