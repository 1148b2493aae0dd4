import type { AppRow, PipelinePromotionRow, PipelineRow } from '../store/schema.js';
import type { Account } from '../auth/accounts.js';
import { conflict, forbidden, invalidParams } from '../core/errors.js';

export type Decision = 'approve' | 'reject';

export interface DecisionInput {
  promotion: PipelinePromotionRow;
  pipeline: PipelineRow;
  targetApps: AppRow[];
  actor: Account;
  decision: Decision;
  /** Whether the actor can access (owns or collaborates on) every target app. */
  canAccessAll: boolean;
  /** Email of whoever already decided, if someone did. */
  deciderEmail: string | null;
}

/**
 * Who may decide on a promotion that waits for approval, as a pure rule:
 * - approve: the pipeline's owner, an admin, or a user with access to every target app; with
 *   the `different_user` policy, never the user who asked for the promotion;
 * - reject: the same users, and the one who asked (who thereby cancels it).
 * A promotion is decided once; one that needed no approval cannot be decided at all.
 */
export function checkDecision(input: DecisionInput): void {
  const { promotion, pipeline, targetApps, actor, decision, canAccessAll, deciderEmail } = input;
  const verb = decision === 'approve' ? 'approve' : 'reject';
  if (!promotion.approval_policy) {
    throw invalidParams(`Promotion ${promotion.id} needs no approval: no stage it promotes into requires one, so it started when it was created.`);
  }
  if (promotion.approval_status !== 'awaiting') throw conflict(decisionNote(promotion, deciderEmail));
  const requester = promotion.user_id === actor.id;
  const allowed = actor.admin || pipeline.owner_id === actor.id || canAccessAll || (decision === 'reject' && requester);
  if (!allowed) {
    const apps = targetApps.map((a) => a.name).join(', ');
    throw forbidden(`Only the owner of pipeline ${pipeline.name} or a user with access to every target app (${apps}) can ${verb} this promotion.`);
  }
  if (decision === 'approve' && promotion.approval_policy === 'different_user' && requester) {
    throw forbidden(
      `This promotion must be approved by someone other than the user who asked for it (you). ` +
        `Ask another collaborator to run: slipway pipelines:approve ${promotion.id}`,
    );
  }
}

/** What already happened to a decided promotion, in words. */
export function decisionNote(promotion: PipelinePromotionRow, deciderEmail: string | null = null): string {
  const by = deciderEmail ? ` by ${deciderEmail}` : '';
  const at = promotion.decided_at ? ` at ${promotion.decided_at}` : '';
  if (promotion.approval_status === 'approved') return `Promotion ${promotion.id} was already approved${by}${at}; it has been released.`;
  if (promotion.approval_status === 'rejected') return `Promotion ${promotion.id} was already rejected${by}${at}; nothing was released. Promote again to start over.`;
  return `Promotion ${promotion.id} is not waiting for approval.`;
}
