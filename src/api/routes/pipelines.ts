import type { FastifyInstance } from 'fastify';
import type { AppRow, PipelineCouplingRow, PipelinePromotionRow, PipelinePromotionTargetRow, PipelineRow } from '../../store/schema.js';
import type { ApiDeps } from '../context.js';
import { actorOf, appOf } from '../context.js';
import { sendList } from '../respond.js';
import { GENERATION } from '../serializers.js';
import { appJson } from './apps.js';
import { invalidParams } from '../../core/errors.js';
import { isUuid } from '../../core/ids.js';
import { pipelineFlowRoutes } from './pipelines-slipway.js';

export function pipelineJson(p: PipelineRow) {
  return {
    created_at: p.created_at,
    generation: GENERATION,
    id: p.id,
    name: p.name,
    owner: { id: p.owner_id, type: p.owner_type },
    updated_at: p.updated_at,
  };
}

async function couplingJson(deps: ApiDeps, c: PipelineCouplingRow) {
  const app = await deps.apps.getById(c.app_id);
  const pipeline = await deps.pipelines.getById(c.pipeline_id);
  return {
    app: { id: c.app_id, name: app?.name ?? null },
    created_at: c.created_at,
    id: c.id,
    pipeline: { id: c.pipeline_id, name: pipeline?.name ?? null },
    stage: c.stage,
    updated_at: c.updated_at,
  };
}

export function promotionJson(p: PipelinePromotionRow) {
  return {
    created_at: p.created_at,
    id: p.id,
    pipeline: { id: p.pipeline_id },
    source: { app: { id: p.source_app_id }, release: { id: p.source_release_id } },
    status: p.status,
    updated_at: p.updated_at,
  };
}

/**
 * A target in Heroku's shape. Heroku knows no approvals: a target waiting for one is
 * `pending` (so `heroku pipelines:promote` keeps waiting) with a note saying what it waits for.
 */
export function promotionTargetJson(t: PipelinePromotionTargetRow) {
  const awaiting = t.status === 'awaiting_approval';
  return {
    app: { id: t.app_id },
    error_message: awaiting ? `Waiting for approval: slipway pipelines:approve ${t.promotion_id}` : t.error_message,
    id: t.id,
    pipeline_promotion: { id: t.promotion_id },
    release: t.release_id ? { id: t.release_id } : null,
    status: awaiting ? 'pending' : t.status,
  };
}

/** An app in the `team-app` shape that `POST /filters/apps` answers with. */
async function filteredAppJson(deps: ApiDeps, app: AppRow) {
  const a = await appJson(deps, app);
  return {
    archived_at: a.archived_at,
    buildpack_provided_description: a.buildpack_provided_description,
    build_stack: a.build_stack,
    created_at: a.created_at,
    git_url: a.git_url,
    id: a.id,
    internal_routing: a.internal_routing,
    joined: false,
    locked: false,
    maintenance: a.maintenance,
    name: a.name,
    team: null,
    owner: a.owner,
    region: a.region,
    released_at: a.released_at,
    repo_size: a.repo_size,
    slug_size: a.slug_size,
    space: null,
    stack: a.stack,
    updated_at: a.updated_at,
    web_url: a.web_url,
  };
}

const body = (request: { body?: unknown }) => {
  const b = request.body ?? {};
  if (typeof b !== 'object' || Array.isArray(b)) throw invalidParams('Send a JSON object.');
  return b as Record<string, unknown>;
};

export function pipelineRoutes(app: FastifyInstance, deps: ApiDeps): void {
  // ---- pipelines: `?eq[name]=P` is how the heroku CLI finds a pipeline by name.
  app.get('/pipelines', async (request, reply) => {
    const actor = await actorOf(deps, request);
    const query = request.query as Record<string, unknown>;
    const name = query['eq[name]'] ?? (query.eq as Record<string, unknown> | undefined)?.name;
    const list = (await deps.pipelines.list(actor, typeof name === 'string' ? name : undefined)).map(pipelineJson);
    return sendList(request, reply, list, { defaultField: 'name', fields: { name: (p) => p.name, id: (p) => p.id, created_at: (p) => p.created_at } });
  });

  app.post('/pipelines', async (request, reply) => {
    const actor = await actorOf(deps, request);
    const created = await deps.pipelines.create(actor, body(request));
    reply.code(201);
    return pipelineJson(created);
  });

  app.get('/pipelines/:pipeline', async (request) => {
    const actor = await actorOf(deps, request);
    return pipelineJson(await deps.pipelines.resolve(actor, (request.params as { pipeline: string }).pipeline));
  });

  app.patch('/pipelines/:pipeline', async (request) => {
    const actor = await actorOf(deps, request);
    return pipelineJson(await deps.pipelines.rename(actor, (request.params as { pipeline: string }).pipeline, body(request)));
  });

  app.delete('/pipelines/:pipeline', async (request) => {
    const actor = await actorOf(deps, request);
    return pipelineJson(await deps.pipelines.destroy(actor, (request.params as { pipeline: string }).pipeline));
  });

  // ---- couplings
  app.get('/pipelines/:pipeline/pipeline-couplings', async (request, reply) => {
    const actor = await actorOf(deps, request);
    const rows = await deps.pipelines.couplingsOf(actor, (request.params as { pipeline: string }).pipeline);
    const list = await Promise.all(rows.map((c) => couplingJson(deps, c)));
    return sendList(request, reply, list, { defaultField: 'id', fields: { id: (c) => c.id, created_at: (c) => c.created_at } });
  });

  app.get('/pipeline-couplings', async (request, reply) => {
    const actor = await actorOf(deps, request);
    const list = await Promise.all((await deps.pipelines.listCouplings(actor)).map((c) => couplingJson(deps, c)));
    return sendList(request, reply, list, { defaultField: 'id', fields: { id: (c) => c.id, created_at: (c) => c.created_at } });
  });

  app.post('/pipeline-couplings', async (request, reply) => {
    const actor = await actorOf(deps, request);
    const created = await deps.pipelines.couple(actor, body(request));
    reply.code(201);
    return couplingJson(deps, created);
  });

  app.get('/pipeline-couplings/:coupling', async (request) => {
    const actor = await actorOf(deps, request);
    return couplingJson(deps, await deps.pipelines.coupling(actor, (request.params as { coupling: string }).coupling));
  });

  app.patch('/pipeline-couplings/:coupling', async (request) => {
    const actor = await actorOf(deps, request);
    return couplingJson(deps, await deps.pipelines.updateCoupling(actor, (request.params as { coupling: string }).coupling, body(request)));
  });

  app.delete('/pipeline-couplings/:coupling', async (request) => {
    const actor = await actorOf(deps, request);
    const removed = await deps.pipelines.uncouple(actor, (request.params as { coupling: string }).coupling);
    return couplingJson(deps, removed);
  });

  app.get('/apps/:app/pipeline-couplings', async (request) => {
    const { app: row } = await appOf(deps, request);
    return couplingJson(deps, await deps.pipelines.couplingOfApp(row));
  });

  // ---- apps by id, as `pipelines:info` and `pipelines:promote` list a pipeline's apps.
  app.post('/filters/apps', async (request, reply) => {
    const actor = await actorOf(deps, request);
    const ids = (body(request).in as { id?: unknown } | undefined)?.id;
    if (!Array.isArray(ids)) throw invalidParams('Send {"in": {"id": ["<app id>", …]}}.');
    const apps: AppRow[] = [];
    for (const id of new Set(ids.filter((x): x is string => typeof x === 'string' && isUuid(x)))) {
      const found = await deps.apps.getById(id);
      if (found && (await deps.apps.canAccess(actor, found))) apps.push(found);
    }
    const list = await Promise.all(apps.map((a) => filteredAppJson(deps, a)));
    return sendList(request, reply, list, { defaultField: 'id', fields: { id: (a) => a.id, name: (a) => a.name } });
  });

  // ---- promotions
  app.post('/pipeline-promotions', async (request, reply) => {
    const actor = await actorOf(deps, request);
    const promotion = await deps.promotions.create(actor, body(request));
    reply.code(201);
    return promotionJson(promotion);
  });

  app.get('/pipeline-promotions/:promotion', async (request) => {
    const actor = await actorOf(deps, request);
    return promotionJson(await deps.promotions.get(actor, (request.params as { promotion: string }).promotion));
  });

  app.get('/pipeline-promotions/:promotion/promotion-targets', async (request, reply) => {
    const actor = await actorOf(deps, request);
    const list = (await deps.promotions.targets(actor, (request.params as { promotion: string }).promotion)).map(promotionTargetJson);
    return sendList(request, reply, list, { defaultField: 'id', fields: { id: (t) => t.id } });
  });

  pipelineFlowRoutes(app, deps);
}
