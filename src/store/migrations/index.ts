import type { Migration, MigrationProvider } from 'kysely';
import { coreSchema } from './001-core.js';
import { pipelinesWebhooks } from './002-pipelines-webhooks.js';
import { appManifests } from './003-app-manifests.js';
import { ciProjects } from './004-ci-projects.js';
import { flowCiLinks } from './005-flow-ci-links.js';
import { promotionApprovals } from './006-promotion-approvals.js';
import { ciSettings } from './007-ci-settings.js';
import { ciJobControl } from './008-ci-job-control.js';
import { mergeRequests } from './009-merge-requests.js';
import { flowAutomation } from './010-flow-automation.js';
import { protectedBranchForcePush } from './011-protected-branch-force-push.js';
import { childPipelines } from './012-child-pipelines.js';
import { ciSchedules } from './013-ci-schedules.js';
import { ciTriggerTokens } from './014-ci-trigger-tokens.js';

/** Every migration, in order. Append only: a migration that has shipped never changes. */
const MIGRATIONS: Record<string, Migration> = {
  '001-core': coreSchema,
  '002-pipelines-webhooks': pipelinesWebhooks,
  '003-app-manifests': appManifests,
  '004-ci-projects': ciProjects,
  '005-flow-ci-links': flowCiLinks,
  '006-promotion-approvals': promotionApprovals,
  '007-ci-settings': ciSettings,
  '008-ci-job-control': ciJobControl,
  '009-merge-requests': mergeRequests,
  '010-flow-automation': flowAutomation,
  '011-protected-branch-force-push': protectedBranchForcePush,
  '012-child-pipelines': childPipelines,
  '013-ci-schedules': ciSchedules,
  '014-ci-trigger-tokens': ciTriggerTokens,
};

export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return MIGRATIONS;
  },
};
