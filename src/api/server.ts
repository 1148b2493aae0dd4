import Fastify, { type FastifyInstance, type FastifyServerFactory } from 'fastify';
import type { ApiDeps } from './context.js';
import { isPlatformError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { accountRoutes } from './routes/account.js';
import { appRoutes } from './routes/apps.js';
import { configRoutes } from './routes/config.js';
import { releaseRoutes } from './routes/releases.js';
import { buildRoutes } from './routes/builds.js';
import { streamRoutes } from './routes/streams.js';
import { formationRoutes } from './routes/formation.js';
import { dynoRoutes } from './routes/dynos.js';
import { logRoutes } from './routes/logs.js';
import { featureRoutes } from './routes/features.js';
import { domainRoutes } from './routes/domains.js';
import { collaboratorRoutes } from './routes/collaborators.js';
import { addonRoutes } from './routes/addons.js';
import { webhookRoutes } from './routes/webhooks.js';
import { pipelineRoutes } from './routes/pipelines.js';
import { appSetupRoutes } from './routes/app-setups.js';
import { projectRoutes } from './routes/projects.js';
import { pipelineScheduleRoutes } from './routes/pipeline-schedules.js';
import { triggerTokenRoutes } from './routes/trigger-tokens.js';
import { ciSettingsRoutes } from './routes/ci-settings.js';
import { mergeRequestRoutes } from './routes/merge-requests.js';
import { pipelineAutomationRoutes } from './routes/pipeline-flow.js';
import { reviewAppRoutes } from './routes/review-apps.js';

export interface ApiOptions {
  serverFactory: FastifyServerFactory;
  /** Extra route registrations (git endpoint) that live outside the API folder. */
  register?: (app: FastifyInstance) => void;
}

const JSON_BODY_LIMIT = 1024 * 1024;

/** The Heroku-compatible HTTP API (plus Slipway's own endpoints), as one Fastify app. */
export function createApi(deps: ApiDeps, options: ApiOptions): FastifyInstance {
  const app = Fastify({
    serverFactory: options.serverFactory,
    bodyLimit: JSON_BODY_LIMIT,
    logger: false,
    genReqId: () => newId(),
    // Clients send `Accept: application/vnd.heroku+json; version=3.<variant>`: any v3 is fine.
    routerOptions: { ignoreTrailingSlash: true },
  });

  // Bodies: JSON (an empty body counts as {}), and raw streams for source uploads.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/json', 'application/vnd.heroku+json'], { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      const err = Object.assign(new Error('The request body is not valid JSON; send a JSON object.'), { statusCode: 400, id: 'bad_request' });
      done(err, undefined);
    }
  });
  app.addContentTypeParser('*', { bodyLimit: deps.config.maxBodyBytes }, (_req, payload, done) => done(null, payload));

  app.addHook('onRequest', async (request, reply) => {
    // Deploy tools upload tarballs with an empty Content-Type; treat that as raw bytes.
    if (!request.headers['content-type'] && request.method !== 'GET') request.headers['content-type'] = 'application/octet-stream';
    reply.header('Request-Id', request.id);
    reply.header('X-Slipway', '1');
  });

  app.setErrorHandler((error, request, reply) => {
    if (isPlatformError(error)) {
      // An unread request body makes the connection unusable for another request.
      if (error.status === 413) reply.header('Connection', 'close');
      return reply.code(error.status).send({ id: error.id, message: error.message, ...error.extra });
    }
    const err = error as Error & { statusCode?: number; code?: string; id?: string };
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || err.statusCode === 413) {
      reply.header('Connection', 'close');
      return reply.code(413).send({ id: 'request_entity_too_large', message: 'The request body is too large for this endpoint.' });
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.code(err.statusCode).send({ id: err.id ?? 'bad_request', message: err.message });
    }
    request.log.error(err);
    console.error(`[api] ${request.method} ${request.url.split('?')[0]} failed:`, err.stack ?? err.message);
    return reply.code(500).send({ id: 'internal_server_error', message: `Slipway hit an internal error (request ${request.id}); see the server log.` });
  });

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({
      id: 'not_found',
      message: `Slipway does not support ${request.method} ${request.url.split('?')[0]}: no such endpoint.`,
    });
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/ca.pem', async (_request, reply) => {
    reply.type('application/x-pem-file');
    return deps.caPem;
  });

  accountRoutes(app, deps);
  appRoutes(app, deps);
  configRoutes(app, deps);
  releaseRoutes(app, deps);
  buildRoutes(app, deps);
  streamRoutes(app, deps);
  formationRoutes(app, deps);
  dynoRoutes(app, deps);
  logRoutes(app, deps);
  featureRoutes(app, deps);
  domainRoutes(app, deps);
  collaboratorRoutes(app, deps);
  addonRoutes(app, deps);
  webhookRoutes(app, deps);
  pipelineRoutes(app, deps);
  appSetupRoutes(app, deps);
  projectRoutes(app, deps);
  pipelineScheduleRoutes(app, deps);
  triggerTokenRoutes(app, deps);
  ciSettingsRoutes(app, deps);
  mergeRequestRoutes(app, deps);
  pipelineAutomationRoutes(app, deps);
  reviewAppRoutes(app, deps);
  options.register?.(app);
  return app;
}
