import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../context.js';
import { notFound } from '../../core/errors.js';
import { buildOutputKey } from '../../deploy/builds.js';
import { releaseOutputKey } from '../../release/releases.js';

/**
 * Build and release output as `text/plain`, streamed live until the work ends. The URL's
 * random token is the credential, as clients send no Authorization header here.
 */
export function streamRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get('/streams/builds/:id/:token', async (request, reply) => {
    const { id, token } = request.params as { id: string; token: string };
    const build = await deps.db.selectFrom('builds').select(['id', 'output_token']).where('id', '=', id).executeTakeFirst();
    if (!build || build.output_token !== token) throw notFound('build', 'No build output at this URL.');
    return sendOutput(reply, deps, buildOutputKey(id));
  });

  app.get('/streams/releases/:id/:token', async (request, reply) => {
    const { id, token } = request.params as { id: string; token: string };
    const release = await deps.db.selectFrom('releases').select(['id', 'output_token']).where('id', '=', id).executeTakeFirst();
    if (!release || release.output_token !== token) throw notFound('release', 'No release output at this URL.');
    if (!deps.outputs.exists(releaseOutputKey(id))) throw notFound('release', 'The release phase has not started yet; try again shortly.');
    return sendOutput(reply, deps, releaseOutputKey(id));
  });
}

function sendOutput(reply: import('fastify').FastifyReply, deps: ApiDeps, key: string) {
  reply.header('Content-Type', 'text/plain; charset=utf-8');
  reply.header('Cache-Control', 'no-cache');
  reply.header('X-Accel-Buffering', 'no');
  return reply.send(deps.outputs.read(key));
}
