import type { Kysely, Migration } from 'kysely';

const ts = (t: any) => t.notNull();

export const coreSchema: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('accounts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('email', 'text', (c) => c.notNull().unique())
      .addColumn('name', 'text')
      .addColumn('password_hash', 'text')
      .addColumn('admin', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'text', ts)
      .addColumn('updated_at', 'text', ts)
      .execute();

    await db.schema
      .createTable('api_keys')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', ts)
      .addColumn('last_used_at', 'text')
      .addColumn('expires_at', 'text')
      .execute();

    await db.schema
      .createTable('apps')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('owner_id', 'text', (c) => c.notNull().references('accounts.id'))
      .addColumn('region', 'text', (c) => c.notNull())
      .addColumn('stack', 'text', (c) => c.notNull())
      .addColumn('build_stack', 'text', (c) => c.notNull())
      .addColumn('maintenance', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('config', 'text', (c) => c.notNull())
      .addColumn('buildpacks', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', ts)
      .addColumn('updated_at', 'text', ts)
      .addColumn('released_at', 'text')
      .execute();

    await db.schema
      .createTable('collaborators')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
      .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', ts)
      .addColumn('updated_at', 'text', ts)
      .addUniqueConstraint('collaborators_app_account', ['app_id', 'account_id'])
      .execute();

    await db.schema
      .createTable('slugs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
      .addColumn('path', 'text', (c) => c.notNull())
      .addColumn('size', 'bigint', (c) => c.notNull())
      .addColumn('checksum', 'text', (c) => c.notNull())
      .addColumn('commit', 'text')
      .addColumn('commit_description', 'text')
      .addColumn('process_types', 'text', (c) => c.notNull())
      .addColumn('buildpack_provided_description', 'text')
      .addColumn('stack', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', ts)
      .addColumn('updated_at', 'text', ts)
      .execute();

    await db.schema
      .createTable('builds')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('source_url', 'text')
      .addColumn('source_version', 'text')
      .addColumn('slug_id', 'text')
      .addColumn('release_id', 'text')
      .addColumn('buildpacks', 'text', (c) => c.notNull())
      .addColumn('output_token', 'text', (c) => c.notNull())
      .addColumn('failure_message', 'text')
      .addColumn('created_at', 'text', ts)
      .addColumn('updated_at', 'text', ts)
      .execute();
    await db.schema.createIndex('builds_app').on('builds').columns(['app_id', 'created_at']).execute();

    await db.schema
      .createTable('sources')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('path', 'text', (c) => c.notNull())
      .addColumn('size', 'bigint')
      .addColumn('token', 'text', (c) => c.notNull())
      .addColumn('account_id', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', ts)
      .execute();

    await db.schema
      .createTable('releases')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('slug_id', 'text')
      .addColumn('config', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('release_command', 'text')
      .addColumn('output_token', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', ts)
      .addColumn('updated_at', 'text', ts)
      .addUniqueConstraint('releases_app_version', ['app_id', 'version'])
      .execute();

    await db.schema
      .createTable('formations')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('quantity', 'integer', (c) => c.notNull())
      .addColumn('size', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', ts)
      .addColumn('updated_at', 'text', ts)
      .addUniqueConstraint('formations_app_type', ['app_id', 'type'])
      .execute();

    await db.schema
      .createTable('domains')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
      .addColumn('hostname', 'text', (c) => c.notNull().unique())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', ts)
      .addColumn('updated_at', 'text', ts)
      .execute();

    await db.schema
      .createTable('app_features')
      .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('enabled', 'integer', (c) => c.notNull())
      .addColumn('updated_at', 'text', ts)
      .addPrimaryKeyConstraint('app_features_pk', ['app_id', 'name'])
      .execute();

    await db.schema
      .createTable('settings')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .execute();
  },
};
