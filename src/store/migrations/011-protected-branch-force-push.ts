import type { Kysely, Migration } from 'kysely';

/**
 * Protected branches may allow force pushes (GitLab's "Allowed to force push"): off by default,
 * so a protected branch only moves forward. Tags keep 0 (a protected tag never moves).
 */
export const protectedBranchForcePush: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('ci_protected_refs').addColumn('allow_force_push', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  },
};
