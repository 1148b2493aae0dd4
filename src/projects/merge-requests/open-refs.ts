/**
 * CI_OPEN_MERGE_REQUESTS as GitLab computes it: the open merge requests whose source is the
 * pipeline's branch, newest first, at most four, each as `<project path>!<iid>`.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';

const MAX_LISTED = 4;

export async function openMergeRequestRefs(db: Kysely<Database>, projectId: string, branch: string, projectPath: string): Promise<string[]> {
  const rows = await db
    .selectFrom('merge_requests')
    .select('iid')
    .where('project_id', '=', projectId)
    .where('state', '=', 'opened')
    .where('source_branch', '=', branch)
    .orderBy('iid', 'desc')
    .limit(MAX_LISTED)
    .execute();
  return rows.map((r) => `${projectPath}!${r.iid}`);
}
