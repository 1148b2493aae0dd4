// Slipway extensions to Heroku's pipelines (not in the Heroku Platform API schema): approval
// policies per stage, approving or rejecting a promotion, promotion records with requester and
// approver, pipelines:info with releases and commits, and pipelines:diff.
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../context.js';
import { actorOf, appOf } from '../context.js';
import { sendList } from '../respond.js';
import { invalidParams } from '../../core/errors.js';

const body = (request: { body?: unknown }) => {
  const b = request.body ?? {};
  if (typeof b !== 'object' || Array.isArray(b)) throw invalidParams('Send a JSON object.');
  return b as Record<string, unknown>;
};

export function pipelineFlowRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { policies, info, diff, views } = deps.pipelineFlow;

  // ---- pipelines:info: stages, apps, current releases, commits, statuses
  app.get('/pipelines/:pipeline/overview', async (request) => {
    const actor = await actorOf(deps, request);
    return info.overview(actor, (request.params as { pipeline: string }).pipeline);
  });

  // ---- approval policies
  app.get('/pipelines/:pipeline/approval-policies', async (request) => {
    const actor = await actorOf(deps, request);
    return policies.list(actor, (request.params as { pipeline: string }).pipeline);
  });

  app.patch('/pipelines/:pipeline/approval-policies/:stage', async (request) => {
    const actor = await actorOf(deps, request);
    const { pipeline, stage } = request.params as { pipeline: string; stage: string };
    return policies.set(actor, pipeline, stage, body(request));
  });

  // ---- promotion records (newest first), approve, reject
  app.get('/pipelines/:pipeline/promotions', async (request, reply) => {
    const actor = await actorOf(deps, request);
    const rows = await deps.promotions.list(actor, (request.params as { pipeline: string }).pipeline);
    const list = await Promise.all(rows.map((p) => views.describe(p)));
    return sendList(request, reply, list, { defaultField: 'created_at', fields: { created_at: (p) => p.created_at, id: (p) => p.id } });
  });

  app.get('/pipeline-promotions/:promotion/record', async (request) => {
    const actor = await actorOf(deps, request);
    return views.describe(await deps.promotions.get(actor, (request.params as { promotion: string }).promotion));
  });

  app.post('/pipeline-promotions/:promotion/actions/approve', async (request) => {
    const actor = await actorOf(deps, request);
    return views.describe(await deps.promotions.approve(actor, (request.params as { promotion: string }).promotion));
  });

  app.post('/pipeline-promotions/:promotion/actions/reject', async (request) => {
    const actor = await actorOf(deps, request);
    return views.describe(await deps.promotions.reject(actor, (request.params as { promotion: string }).promotion));
  });

  // ---- pipelines:diff
  app.get('/apps/:app/pipeline-diff', async (request) => {
    const { actor, app: row } = await appOf(deps, request);
    return diff.diff(actor, row.id);
  });
}
