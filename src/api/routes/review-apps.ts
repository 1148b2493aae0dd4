// Heroku's review apps API: review-app (POST /review-apps, GET/DELETE /review-apps/{id},
// GET /pipelines/{id}/review-apps, GET /apps/{app}/review-app) and review-app-config
// (GET/POST/PATCH/DELETE /pipelines/{id}/review-app-config).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiDeps } from '../context.js';
import { actorOf } from '../context.js';
import { sendList } from '../respond.js';
import { invalidParams } from '../../core/errors.js';
import { formatIdle } from '../../flow/review-app-config.js';
import type { PipelineRow, ProjectRow, ReviewAppConfigRow, ReviewAppRow } from '../../store/schema.js';

const body = (request: FastifyRequest) => {
  const b = request.body ?? {};
  if (typeof b !== 'object' || Array.isArray(b)) throw invalidParams('Send a JSON object.');
  return b as Record<string, unknown>;
};
const param = (request: FastifyRequest, name: string) => (request.params as Record<string, string>)[name];

/** The Heroku review-app resource; the app's name rides along in `app` (Slipway). */
export const reviewAppView = (r: ReviewAppRow) => ({
  id: r.id,
  app: r.app_id ? { id: r.app_id, name: r.app_name } : null,
  app_setup: r.app_setup_id ? { id: r.app_setup_id } : null,
  branch: r.branch,
  pr_number: r.pr_number,
  pipeline: { id: r.pipeline_id },
  status: r.status,
  message: r.message,
  error_status: r.error_status,
  creator: { id: r.creator_id },
  wait_for_ci: r.wait_for_ci === 1,
  fork_repo: null,
  created_at: r.created_at,
  updated_at: r.updated_at,
});

/** Heroku's review-app-config, plus Slipway's project, idle time and web URL pattern. */
const configView = (pipeline: PipelineRow, project: ProjectRow | null, c: ReviewAppConfigRow) => ({
  pipeline_id: pipeline.id,
  automatic_review_apps: c.automatic === 1,
  destroy_stale_apps: c.destroy_stale === 1,
  stale_days: Math.max(1, Math.round(c.stale_seconds / 86_400)),
  destroy_after_idle: formatIdle(c.stale_seconds),
  wait_for_ci: c.wait_for_ci === 1,
  base_name: c.base_name,
  deploy_target: null,
  project: project ? { id: project.id, name: project.name } : null,
});

export function reviewAppRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { reviewApps, reviewAppConfigs, connections } = deps.flowAutomation;

  app.post('/review-apps', async (request, reply) => {
    const actor = await actorOf(deps, request);
    const row = await reviewApps.createFromApi(actor, body(request));
    reply.code(201);
    return reviewAppView(row);
  });

  app.get('/review-apps/:id', async (request) => {
    const actor = await actorOf(deps, request);
    return reviewAppView(await reviewApps.get(actor, param(request, 'id')));
  });

  app.delete('/review-apps/:id', async (request) => {
    const actor = await actorOf(deps, request);
    return reviewAppView(await reviewApps.destroyFromApi(actor, param(request, 'id')));
  });

  app.get('/pipelines/:pipeline/review-apps', async (request, reply) => {
    const actor = await actorOf(deps, request);
    const rows = (await reviewApps.list(actor, param(request, 'pipeline'))).map(reviewAppView);
    return sendList(request, reply, rows, { defaultField: 'id', fields: { id: (r) => r.id, created_at: (r) => r.created_at } });
  });

  app.get('/apps/:app/review-app', async (request) => {
    const actor = await actorOf(deps, request);
    return reviewAppView(await reviewApps.forApp(actor, param(request, 'app')));
  });

  const respond = async ({ pipeline, config }: { pipeline: PipelineRow; config: ReviewAppConfigRow }) => configView(pipeline, await connections.projectOf(pipeline), config);

  app.get('/pipelines/:pipeline/review-app-config', async (request) => {
    const actor = await actorOf(deps, request);
    return respond(await reviewAppConfigs.get(actor, param(request, 'pipeline')));
  });

  app.post('/pipelines/:pipeline/review-app-config', async (request, reply) => {
    const actor = await actorOf(deps, request);
    const result = await reviewAppConfigs.enable(actor, param(request, 'pipeline'), body(request));
    reply.code(201);
    return respond(result);
  });

  app.patch('/pipelines/:pipeline/review-app-config', async (request) => {
    const actor = await actorOf(deps, request);
    return respond(await reviewAppConfigs.update(actor, param(request, 'pipeline'), body(request)));
  });

  app.delete('/pipelines/:pipeline/review-app-config', async (request) => {
    const actor = await actorOf(deps, request);
    return respond(await reviewAppConfigs.disable(actor, param(request, 'pipeline')));
  });
}
