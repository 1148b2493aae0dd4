import type { Kysely } from 'kysely';
import type { Database, PipelineStagePolicyRow } from '../store/schema.js';
import type { Account } from '../auth/accounts.js';
import { now } from '../core/ids.js';
import { invalidParams } from '../core/errors.js';
import { PROMOTION_ORDER, type PipelineService } from './pipelines.js';

/** Who may approve a promotion into a stage that requires approval. */
export const APPROVERS = ['any_user', 'different_user'] as const;
export type Approver = (typeof APPROVERS)[number];

/** A stage's approval policy as the API shows it. */
export interface StagePolicy {
  stage: string;
  approval_required: boolean;
  /** null when no approval is required. */
  approver: Approver | null;
  updated_by: string | null;
  updated_at: string | null;
}

/** The stages a promotion can release into, so the stages a policy can be set on. */
export const POLICY_STAGES: readonly string[] = PROMOTION_ORDER;

/**
 * Per-stage approval policies of a pipeline. A stage with a policy holds every promotion
 * into it until an authorised user approves it; `different_user` also requires that user
 * not to be the one who asked for the promotion. Only the pipeline's owner changes them.
 */
export class StagePolicyService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly pipelines: PipelineService,
  ) {}

  /** The policies of every promotion stage of a pipeline the caller can see. */
  async list(actor: Account, pipelineIdOrName: string): Promise<StagePolicy[]> {
    const pipeline = await this.pipelines.resolve(actor, pipelineIdOrName);
    const rows = await this.rows(pipeline.id);
    return POLICY_STAGES.map((stage) => view(stage, rows.get(stage)));
  }

  /** stage → approver, for the stages of a pipeline that require approval. */
  async forPipeline(pipelineId: string): Promise<Map<string, Approver>> {
    const rows = await this.rows(pipelineId);
    return new Map([...rows].map(([stage, row]) => [stage, row.approver as Approver]));
  }

  /** Sets (or, with `approval_required: false`, removes) a stage's policy. */
  async set(actor: Account, pipelineIdOrName: string, stage: string, body: { approval_required?: unknown; approver?: unknown }): Promise<StagePolicy> {
    if (!POLICY_STAGES.includes(stage)) throw invalidParams(`Approvals apply to the stages promotions release into: ${POLICY_STAGES.join(', ')} (not ${JSON.stringify(stage)}).`);
    if (body.approval_required !== undefined && typeof body.approval_required !== 'boolean') throw invalidParams('approval_required must be true or false.');
    if (body.approver !== undefined && body.approver !== null && !APPROVERS.includes(body.approver as Approver)) {
      throw invalidParams(`approver must be one of ${APPROVERS.join(', ')}.`);
    }
    const pipeline = await this.pipelines.resolveOwned(actor, pipelineIdOrName);
    const existing = (await this.rows(pipeline.id)).get(stage);
    const required = body.approval_required ?? (body.approver !== undefined && body.approver !== null ? true : existing !== undefined);
    if (!required) {
      if (body.approver !== undefined && body.approver !== null) throw invalidParams('approver has no meaning with approval_required false; leave it out.');
      await this.db.deleteFrom('pipeline_stage_policies').where('pipeline_id', '=', pipeline.id).where('stage', '=', stage).execute();
      return view(stage, undefined);
    }
    const approver = (body.approver as Approver | undefined | null) ?? (existing?.approver as Approver | undefined) ?? 'any_user';
    const stamp = now();
    if (existing) {
      await this.db
        .updateTable('pipeline_stage_policies')
        .set({ approver, updated_by: actor.id, updated_at: stamp })
        .where('pipeline_id', '=', pipeline.id)
        .where('stage', '=', stage)
        .execute();
      return view(stage, { ...existing, approver, updated_by: actor.id, updated_at: stamp });
    }
    const row: PipelineStagePolicyRow = { pipeline_id: pipeline.id, stage, approver, updated_by: actor.id, created_at: stamp, updated_at: stamp };
    await this.db.insertInto('pipeline_stage_policies').values(row).execute();
    return view(stage, row);
  }

  private async rows(pipelineId: string): Promise<Map<string, PipelineStagePolicyRow>> {
    const rows = await this.db.selectFrom('pipeline_stage_policies').selectAll().where('pipeline_id', '=', pipelineId).execute();
    return new Map(rows.map((r) => [r.stage, r]));
  }
}

function view(stage: string, row: PipelineStagePolicyRow | undefined): StagePolicy {
  return {
    stage,
    approval_required: row !== undefined,
    approver: (row?.approver as Approver | undefined) ?? null,
    updated_by: row?.updated_by ?? null,
    updated_at: row?.updated_at ?? null,
  };
}

/**
 * The policy a promotion into these stages falls under: none when no stage requires
 * approval; `different_user` when any stage asks for it (the strictest wins).
 */
export function policyForStages(stages: string[], policies: Map<string, Approver>): Approver | null {
  const found = stages.map((s) => policies.get(s)).filter((p): p is Approver => p !== undefined);
  if (found.length === 0) return null;
  return found.includes('different_user') ? 'different_user' : 'any_user';
}
