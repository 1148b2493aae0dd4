import type { Migration, MigrationProvider } from 'kysely';
import { coreSchema } from './001-core.js';
import { pipelinesWebhooks } from './002-pipelines-webhooks.js';

/** Every migration, in order. Append only: a migration that has shipped never changes. */
const MIGRATIONS: Record<string, Migration> = {
  '001-core': coreSchema,
  '002-pipelines-webhooks': pipelinesWebhooks,
};

export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return MIGRATIONS;
  },
};
