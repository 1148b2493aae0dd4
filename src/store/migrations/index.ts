import type { Migration, MigrationProvider } from 'kysely';
import { coreSchema } from './001-core.js';

/** Every migration, in order. Append only: a migration that has shipped never changes. */
const MIGRATIONS: Record<string, Migration> = {
  '001-core': coreSchema,
};

export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return MIGRATIONS;
  },
};
