import type { Kysely } from 'kysely';
import type { Database, PipelinePromotionRow } from '../store/schema.js';

type Ref = { id: string; name: string | null };
type UserRef = { id: string; email: string | null };

/** A promotion as Slipway's own API shows it: names, versions, requester and approval. */
export interface PromotionView {
  id: string;
  pipeline: Ref;
  /** pending (running or waiting for approval) or completed. */
  status: string;
  source: { app: Ref; release: { id: string; version: number | null }; commit: string | null };
  requested_by: UserRef;
  /** null when no stage it promotes into requires approval. */
  approval: null | {
    policy: string;
    /** awaiting, approved or rejected. */
    status: string;
    decided_by: UserRef | null;
    decided_at: string | null;
  };
  targets: Array<{
    app: Ref;
    stage: string | null;
    /** awaiting_approval, pending, succeeded or failed. */
    status: string;
    release: { id: string; version: number | null } | null;
    error_message: string | null;
  }>;
  created_at: string;
  updated_at: string;
}

/** Builds the Slipway view of promotion rows (one query per referenced row; lists are short). */
export class PromotionViews {
  constructor(private readonly db: Kysely<Database>) {}

  async describe(p: PipelinePromotionRow): Promise<PromotionView> {
    const pipeline = await this.db.selectFrom('pipelines').select('name').where('id', '=', p.pipeline_id).executeTakeFirst();
    const sourceRelease = await this.db.selectFrom('releases').select(['version', 'slug_id']).where('id', '=', p.source_release_id).executeTakeFirst();
    const slug = sourceRelease?.slug_id ? await this.db.selectFrom('slugs').select('commit').where('id', '=', sourceRelease.slug_id).executeTakeFirst() : undefined;
    const targets = await this.db.selectFrom('pipeline_promotion_targets').selectAll().where('promotion_id', '=', p.id).orderBy('created_at').orderBy('id').execute();
    return {
      id: p.id,
      pipeline: { id: p.pipeline_id, name: pipeline?.name ?? null },
      status: p.status,
      source: {
        app: await this.appRef(p.source_app_id),
        release: { id: p.source_release_id, version: sourceRelease?.version ?? null },
        commit: slug?.commit ?? null,
      },
      requested_by: await this.userRef(p.user_id),
      approval: p.approval_policy
        ? {
            policy: p.approval_policy,
            status: p.approval_status ?? 'awaiting',
            decided_by: p.decided_by ? await this.userRef(p.decided_by) : null,
            decided_at: p.decided_at,
          }
        : null,
      targets: await Promise.all(
        targets.map(async (t) => {
          const coupling = await this.db.selectFrom('pipeline_couplings').select('stage').where('app_id', '=', t.app_id).executeTakeFirst();
          const release = t.release_id ? await this.db.selectFrom('releases').select('version').where('id', '=', t.release_id).executeTakeFirst() : undefined;
          return {
            app: await this.appRef(t.app_id),
            stage: coupling?.stage ?? null,
            status: t.status,
            release: t.release_id ? { id: t.release_id, version: release?.version ?? null } : null,
            error_message: t.error_message,
          };
        }),
      ),
      created_at: p.created_at,
      updated_at: p.updated_at,
    };
  }

  private async appRef(id: string): Promise<Ref> {
    const app = await this.db.selectFrom('apps').select('name').where('id', '=', id).executeTakeFirst();
    return { id, name: app?.name ?? null };
  }

  private async userRef(id: string): Promise<UserRef> {
    const account = await this.db.selectFrom('accounts').select('email').where('id', '=', id).executeTakeFirst();
    return { id, email: account?.email ?? null };
  }
}
