import type { Kysely, Migration } from 'kysely';

/**
 * Links Heroku-style pipelines to CI projects: a pipeline connected to a project gets its
 * commits from that project's repository (auto-deploy, review apps, pipelines:diff), and jobs
 * of that project may deploy to the pipeline's apps with their job token. A CI pipeline run for
 * a merge request remembers which one.
 */
export const flowCiLinks: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('pipelines').addColumn('project_id', 'text').execute();
    await db.schema.alterTable('ci_pipelines').addColumn('merge_request_id', 'text').execute();
  },
};
