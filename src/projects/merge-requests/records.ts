/** Stored merge requests: lookups, numbering and updates (no rules here; see service.ts). */
import { sql, type Kysely } from 'kysely';
import type { CiPipelineRow, Database, MergeRequestRow, ProjectRow } from '../../store/schema.js';

export type MergeRequestState = 'opened' | 'merged' | 'closed';
export const STATES: readonly MergeRequestState[] = ['opened', 'merged', 'closed'];

export class MergeRequestRecords {
  constructor(private readonly db: Kysely<Database>) {}

  /** The next instance-wide id and per-project iid (callers serialise creation). */
  async nextNumbers(projectId: string): Promise<{ id: string; iid: number }> {
    const all = await this.db
      .selectFrom('merge_requests')
      .select(sql<number | string | null>`max(cast(id as integer))`.as('max'))
      .executeTakeFirst();
    const mine = await this.db.selectFrom('merge_requests').select((eb) => eb.fn.max('iid').as('max')).where('project_id', '=', projectId).executeTakeFirst();
    return { id: String(Number(all?.max ?? 0) + 1), iid: Number(mine?.max ?? 0) + 1 };
  }

  async insert(row: MergeRequestRow): Promise<void> {
    await this.db.insertInto('merge_requests').values(row).execute();
  }

  async update(id: string, patch: Partial<MergeRequestRow>): Promise<MergeRequestRow> {
    await this.db.updateTable('merge_requests').set(patch).where('id', '=', id).execute();
    return (await this.byId(id))!;
  }

  async byId(id: string): Promise<MergeRequestRow | undefined> {
    return this.db.selectFrom('merge_requests').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async byIid(projectId: string, iid: number): Promise<MergeRequestRow | undefined> {
    return this.db.selectFrom('merge_requests').selectAll().where('project_id', '=', projectId).where('iid', '=', iid).executeTakeFirst();
  }

  /** Newest first; every state unless one is given. */
  async list(projectId: string, state?: MergeRequestState): Promise<MergeRequestRow[]> {
    let query = this.db.selectFrom('merge_requests').selectAll().where('project_id', '=', projectId);
    if (state) query = query.where('state', '=', state);
    return query.orderBy('iid', 'desc').execute();
  }

  /** Open merge requests whose source (or target) is the branch. */
  async openWith(projectId: string, side: 'source_branch' | 'target_branch', branch: string): Promise<MergeRequestRow[]> {
    return this.db.selectFrom('merge_requests').selectAll().where('project_id', '=', projectId).where('state', '=', 'opened').where(side, '=', branch).orderBy('iid').execute();
  }

  async openFor(projectId: string, source: string, target: string, except?: string): Promise<MergeRequestRow | undefined> {
    let query = this.db
      .selectFrom('merge_requests')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('state', '=', 'opened')
      .where('source_branch', '=', source)
      .where('target_branch', '=', target);
    if (except) query = query.where('id', '!=', except);
    return query.executeTakeFirst();
  }

  /** Pipelines run for the merge request (merge_request_event), newest first; their child pipelines are the trigger jobs' business. */
  async pipelines(mr: MergeRequestRow): Promise<CiPipelineRow[]> {
    return this.db.selectFrom('ci_pipelines').selectAll().where('merge_request_id', '=', mr.id).where('parent_pipeline_id', 'is', null).orderBy('number', 'desc').execute();
  }

  /**
   * The pipeline GitLab calls the head pipeline: the newest one for this merge request at its
   * head commit, else the newest branch pipeline of the source branch at that commit.
   */
  async headPipeline(mr: MergeRequestRow): Promise<CiPipelineRow | undefined> {
    const own = await this.db
      .selectFrom('ci_pipelines')
      .selectAll()
      .where('merge_request_id', '=', mr.id)
      .where('parent_pipeline_id', 'is', null)
      .where('sha', '=', mr.head_sha)
      .orderBy('number', 'desc')
      .executeTakeFirst();
    if (own) return own;
    return this.db
      .selectFrom('ci_pipelines')
      .selectAll()
      .where('project_id', '=', mr.project_id)
      .where('merge_request_id', 'is', null)
      .where('parent_pipeline_id', 'is', null)
      .where('ref', '=', mr.source_branch)
      .where('tag', '=', 0)
      .where('sha', '=', mr.head_sha)
      .orderBy('number', 'desc')
      .executeTakeFirst();
  }

  async project(id: string): Promise<ProjectRow | undefined> {
    return this.db.selectFrom('projects').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async account(accountId: string): Promise<{ email: string; name: string | null } | undefined> {
    return this.db.selectFrom('accounts').select(['email', 'name']).where('id', '=', accountId).executeTakeFirst();
  }
}
