import type { Kysely, Migration } from 'kysely';

const ts = (t: any) => t.notNull();

/**
 * app.json: what an app was created with (`app_manifests`, one per app, with the postdeploy
 * script's state) and app setups (`app_setups`, Heroku's POST /app-setups). A setup outlives
 * its app (a failed setup removes the app it created), so `app_setups.app_id` is no foreign key.
 */
export const appManifests: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('app_manifests')
      .addColumn('app_id', 'text', (c) => c.primaryKey().references('apps.id').onDelete('cascade'))
      .addColumn('environment', 'text')
      .addColumn('manifest', 'text', (c) => c.notNull())
      .addColumn('addons', 'text', (c) => c.notNull())
      .addColumn('postdeploy_command', 'text')
      .addColumn('postdeploy_size', 'text')
      .addColumn('postdeploy_status', 'text')
      .addColumn('postdeploy_exit_code', 'integer')
      .addColumn('postdeploy_output', 'text')
      .addColumn('postdeploy_release_id', 'text')
      .addColumn('created_at', 'text', ts)
      .addColumn('updated_at', 'text', ts)
      .execute();

    await db.schema
      .createTable('app_setups')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('app_id', 'text', (c) => c.notNull())
      .addColumn('app_name', 'text', (c) => c.notNull())
      .addColumn('environment', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('failure_message', 'text')
      .addColumn('manifest_errors', 'text', (c) => c.notNull())
      .addColumn('build_id', 'text')
      .addColumn('source_url', 'text')
      .addColumn('resolved_success_url', 'text')
      .addColumn('created_at', 'text', ts)
      .addColumn('updated_at', 'text', ts)
      .execute();
    await db.schema.createIndex('app_setups_account').on('app_setups').column('account_id').execute();
  },
};
