import type { Migration, MigrationProvider } from 'kysely';
import { coreSchema } from './001-core.js';
import { pipelinesWebhooks } from './002-pipelines-webhooks.js';
import { appManifests } from './003-app-manifests.js';
import { ciProjects } from './004-ci-projects.js';
import { flowCiLinks } from './005-flow-ci-links.js';

/** Every migration, in order. Append only: a migration that has shipped never changes. */
const MIGRATIONS: Record<string, Migration> = {
  '001-core': coreSchema,
  '002-pipelines-webhooks': pipelinesWebhooks,
  '003-app-manifests': appManifests,
  '004-ci-projects': ciProjects,
  '005-flow-ci-links': flowCiLinks,
};

export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return MIGRATIONS;
  },
};
