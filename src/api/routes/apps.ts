import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppRow } from '../../store/schema.js';
import type { ApiDeps } from '../context.js';
import { actorOf, appOf, userRef } from '../context.js';
import { serializeApp } from '../serializers.js';
import { sendList } from '../respond.js';
import { invalidParams } from '../../core/errors.js';

export async function appJson(deps: ApiDeps, app: AppRow) {
  const owner = await userRef(deps, app.owner_id);
  const current = await deps.releases.current(app.id);
  const slug = await deps.releases.slug(current?.slug_id ?? null);
  return serializeApp(app, owner, deps.urls, slug);
}

export function appRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const list = async (request: FastifyRequest, reply: import('fastify').FastifyReply) => {
    const actor = await actorOf(deps, request);
    const apps = await Promise.all((await deps.apps.list(actor)).map((a) => appJson(deps, a)));
    return sendList(request, reply, apps, { defaultField: 'name', fields: { id: (a) => a.id, name: (a) => a.name, updated_at: (a) => a.updated_at } });
  };
  app.get('/apps', list);
  app.get('/users/~/apps', list);

  app.post('/apps', async (request, reply) => {
    const actor = await actorOf(deps, request);
    const body = (request.body ?? {}) as Record<string, unknown>;
    if (typeof body !== 'object' || Array.isArray(body)) throw invalidParams('Send a JSON object such as {"name": "myapp"}.');
    for (const key of ['name', 'region', 'stack'] as const) {
      if (body[key] !== undefined && body[key] !== null && typeof body[key] !== 'string') throw invalidParams(`${key} must be a string.`);
    }
    const created = await deps.apps.create(actor, { name: body.name as string | undefined, region: body.region as string | undefined, stack: body.stack as string | undefined });
    await deps.releases.create({ app: created, actor, slugId: null, config: {}, description: 'Initial release' });
    reply.code(201);
    return appJson(deps, (await deps.apps.getById(created.id))!);
  });

  app.get('/apps/:app', async (request) => {
    const { app: row } = await appOf(deps, request);
    return appJson(deps, row);
  });

  app.patch('/apps/:app', async (request) => {
    const actor = await actorOf(deps, request);
    const { app: idOrName } = request.params as { app: string };
    const updated = await deps.apps.update(actor, idOrName, (request.body ?? {}) as Record<string, unknown>);
    return appJson(deps, updated);
  });

  app.delete('/apps/:app', async (request) => {
    const actor = await actorOf(deps, request);
    const { app: idOrName } = request.params as { app: string };
    const row = await deps.apps.resolve(actor, idOrName);
    const body = await appJson(deps, row);
    await deps.apps.destroy(actor, idOrName);
    return body;
  });
}
