import type { Kysely, Migration } from 'kysely';

/** Pipeline trigger tokens: outside systems run a ref's pipeline with a token instead of an API key. */
export const ciTriggerTokens: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('ci_trigger_tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
      .addColumn('number', 'integer', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('token_hint', 'text', (c) => c.notNull())
      .addColumn('owner_id', 'text', (c) => c.notNull())
      .addColumn('last_used_at', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('ci_trigger_tokens_project_number', ['project_id', 'number'])
      .execute();
  },
};
