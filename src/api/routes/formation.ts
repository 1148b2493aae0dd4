import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../context.js';
import { appOf } from '../context.js';
import { serializeFormation } from '../serializers.js';
import { sendList } from '../respond.js';
import { invalidParams } from '../../core/errors.js';

export function formationRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get('/apps/:app/formation', async (request, reply) => {
    const { app: row } = await appOf(deps, request);
    const list = (await deps.formation.list(row.id)).map((f) => serializeFormation(f, row));
    return sendList(request, reply, list, { defaultField: 'type', fields: { type: (f) => f.type, id: (f) => f.id } });
  });

  app.get('/apps/:app/formation/:type', async (request) => {
    const { app: row } = await appOf(deps, request);
    const { type } = request.params as { type: string };
    return serializeFormation(await deps.formation.get(row.id, type), row);
  });

  app.patch('/apps/:app/formation', async (request) => {
    const { app: row } = await appOf(deps, request);
    const body = (request.body ?? {}) as { updates?: unknown };
    if (!Array.isArray(body.updates)) throw invalidParams('Send {"updates": [{"type": "web", "quantity": 2}]}.');
    const list = await deps.formation.update(row.id, body.updates);
    void deps.dynos.reconcile(row.id);
    return list.map((f) => serializeFormation(f, row));
  });

  app.patch('/apps/:app/formation/:type', async (request) => {
    const { app: row } = await appOf(deps, request);
    const { type } = request.params as { type: string };
    const body = (request.body ?? {}) as Record<string, unknown>;
    const list = await deps.formation.update(row.id, [{ ...body, type }]);
    void deps.dynos.reconcile(row.id);
    return serializeFormation(list.find((f) => f.type === type)!, row);
  });
}
