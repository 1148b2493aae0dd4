import type { FastifyInstance } from 'fastify';
import { createReadStream } from 'node:fs';
import type { BuildRow, AppRow } from '../../store/schema.js';
import type { ApiDeps } from '../context.js';
import { actorOf, appOf, userRef } from '../context.js';
import { serializeBuild, serializeSlug } from '../serializers.js';
import { sendList } from '../respond.js';
import { notFound } from '../../core/errors.js';

export async function buildJson(deps: ApiDeps, app: AppRow, build: BuildRow) {
  const outputUrl = `${deps.urls.http}/streams/builds/${build.id}/${build.output_token}`;
  return serializeBuild(build, app, await userRef(deps, build.user_id), outputUrl);
}

export function buildRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const createSource = async (request: Parameters<typeof actorOf>[1], reply: import('fastify').FastifyReply) => {
    const actor = await actorOf(deps, request);
    reply.code(201);
    return { source_blob: await deps.sources.create(actor) };
  };
  app.post('/sources', createSource);
  app.post('/apps/:app/sources', async (request, reply) => {
    await appOf(deps, request);
    return createSource(request, reply);
  });

  // Capability URLs: the random token in the path is the credential (deploy tools send no auth here).
  app.put('/sources/:id/:token', async (request, reply) => {
    const { id, token } = request.params as { id: string; token: string };
    await deps.sources.put(id, token, request.body as NodeJS.ReadableStream as import('node:stream').Readable);
    reply.code(200);
    return '';
  });
  app.get('/sources/:id/:token', async (request, reply) => {
    const { id, token } = request.params as { id: string; token: string };
    const path = await deps.sources.path(id, token);
    reply.type('application/octet-stream');
    return reply.send(createReadStream(path));
  });

  app.post('/apps/:app/builds', async (request, reply) => {
    const { actor, app: row } = await appOf(deps, request);
    const build = await deps.builds.createFromUrl(row, actor, (request.body ?? {}) as Parameters<ApiDeps['builds']['createFromUrl']>[2]);
    reply.code(201);
    return buildJson(deps, row, build);
  });

  app.get('/apps/:app/builds', async (request, reply) => {
    const { app: row } = await appOf(deps, request);
    const builds = await Promise.all((await deps.builds.list(row.id)).map((b) => buildJson(deps, row, b)));
    return sendList(request, reply, builds, { defaultField: 'created_at', fields: { created_at: (b) => b.created_at, id: (b) => b.id } });
  });

  app.get('/apps/:app/builds/:build', async (request) => {
    const { app: row } = await appOf(deps, request);
    const { build } = request.params as { build: string };
    return buildJson(deps, row, await deps.builds.get(row.id, build));
  });

  app.get('/apps/:app/slugs/:slug', async (request) => {
    const { app: row } = await appOf(deps, request);
    const { slug: id } = request.params as { slug: string };
    const slug = await deps.releases.slug(id);
    if (!slug || slug.app_id !== row.id) throw notFound('slug', `Couldn't find slug ${id}.`);
    return serializeSlug(slug, `${deps.urls.http}/apps/${row.name}/slugs/${slug.id}/blob`);
  });
}
