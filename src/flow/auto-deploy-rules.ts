/**
 * Auto-deploy rules of a pipeline: a stage follows a branch of the connected CI project,
 * either at once or once the commit's CI succeeded (`pipelines:autodeploy`).
 */
import type { Kysely } from 'kysely';
import type { Database, PipelineAutoDeployRuleRow, PipelineRow } from '../store/schema.js';
import type { Account } from '../auth/accounts.js';
import type { PipelineService } from './pipelines.js';
import { PROMOTION_ORDER } from './pipelines.js';
import { invalidParams, notFound } from '../core/errors.js';
import { newId, now } from '../core/ids.js';

const BRANCH = /^(?!-)(?!.*\.\.)[A-Za-z0-9._/-]{1,200}$/;

export interface RuleView {
  id: string;
  pipeline: { id: string; name: string };
  stage: string;
  branch: string;
  wait_for_ci: boolean;
  created_by: { id: string };
  created_at: string;
  updated_at: string;
}

export const ruleView = (rule: PipelineAutoDeployRuleRow, pipeline: PipelineRow): RuleView => ({
  id: rule.id,
  pipeline: { id: pipeline.id, name: pipeline.name },
  stage: rule.stage,
  branch: rule.branch,
  wait_for_ci: rule.wait_for_ci === 1,
  created_by: { id: rule.created_by },
  created_at: rule.created_at,
  updated_at: rule.updated_at,
});

export class AutoDeployRules {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly pipelines: PipelineService,
  ) {}

  async list(actor: Account, pipelineIdOrName: string): Promise<RuleView[]> {
    const pipeline = await this.pipelines.resolve(actor, pipelineIdOrName);
    return (await this.forPipeline(pipeline.id)).map((r) => ruleView(r, pipeline));
  }

  forPipeline(pipelineId: string): Promise<PipelineAutoDeployRuleRow[]> {
    return this.db.selectFrom('pipeline_auto_deploy_rules').selectAll().where('pipeline_id', '=', pipelineId).orderBy('created_at').execute();
  }

  async forStage(pipelineId: string, stage: string): Promise<PipelineAutoDeployRuleRow | undefined> {
    return this.db.selectFrom('pipeline_auto_deploy_rules').selectAll().where('pipeline_id', '=', pipelineId).where('stage', '=', stage).executeTakeFirst();
  }

  /** Creates or changes the rule of a stage. */
  async set(actor: Account, pipelineIdOrName: string, stage: string, body: { branch?: unknown; wait_for_ci?: unknown }): Promise<RuleView> {
    const pipeline = await this.pipelines.resolveOwned(actor, pipelineIdOrName);
    if (!PROMOTION_ORDER.includes(stage)) {
      throw invalidParams(`Auto-deploy targets one of ${PROMOTION_ORDER.join(', ')}, not ${JSON.stringify(stage)} (review apps follow branches by themselves).`);
    }
    if (typeof body.branch !== 'string' || !BRANCH.test(body.branch)) throw invalidParams('branch must be the name of a branch of the connected project, e.g. "main".');
    if (body.wait_for_ci !== undefined && typeof body.wait_for_ci !== 'boolean') throw invalidParams('wait_for_ci must be true or false.');
    if (!pipeline.project_id) {
      throw invalidParams(`${pipeline.name} is not connected to a CI project; connect it first: slipway pipelines:connect ${pipeline.name} --project PROJECT`);
    }
    const waitForCi = body.wait_for_ci === false ? 0 : 1;
    const stamp = now();
    const existing = await this.forStage(pipeline.id, stage);
    if (existing) {
      await this.db
        .updateTable('pipeline_auto_deploy_rules')
        .set({ branch: body.branch, wait_for_ci: waitForCi, created_by: actor.id, updated_at: stamp })
        .where('id', '=', existing.id)
        .execute();
      return ruleView({ ...existing, branch: body.branch, wait_for_ci: waitForCi, created_by: actor.id, updated_at: stamp }, pipeline);
    }
    const row: PipelineAutoDeployRuleRow = { id: newId(), pipeline_id: pipeline.id, stage, branch: body.branch, wait_for_ci: waitForCi, created_by: actor.id, created_at: stamp, updated_at: stamp };
    await this.db.insertInto('pipeline_auto_deploy_rules').values(row).execute();
    return ruleView(row, pipeline);
  }

  async remove(actor: Account, pipelineIdOrName: string, stage: string): Promise<RuleView> {
    const pipeline = await this.pipelines.resolveOwned(actor, pipelineIdOrName);
    const existing = await this.forStage(pipeline.id, stage);
    if (!existing) throw notFound('auto-deploy-rule', `${pipeline.name} does not auto-deploy to ${stage}.`);
    await this.db.deleteFrom('pipeline_auto_deploy_rules').where('id', '=', existing.id).execute();
    return ruleView(existing, pipeline);
  }
}
