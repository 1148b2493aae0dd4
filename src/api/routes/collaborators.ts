import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../context.js';
import { appOf } from '../context.js';
import type { AppCollaborator } from '../../apps/collaborators.js';
import type { AppRow } from '../../store/schema.js';

function serializeCollaborator(c: AppCollaborator, app: AppRow) {
  return {
    app: { id: app.id, name: app.name },
    created_at: c.created_at,
    id: c.id,
    role: c.role,
    updated_at: c.updated_at,
    user: { email: c.user.email, federated: false, id: c.user.id },
  };
}

/** Collaborators (`access`, `access:add`, `access:remove`); only the owner manages them. */
export function collaboratorRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get('/apps/:app/collaborators', async (request) => {
    const { app: row } = await appOf(deps, request);
    return (await deps.collaborators.list(row)).map((c) => serializeCollaborator(c, row));
  });

  app.get('/apps/:app/collaborators/:collaborator', async (request) => {
    const { app: row } = await appOf(deps, request);
    return serializeCollaborator(await deps.collaborators.get(row, (request.params as { collaborator: string }).collaborator), row);
  });

  app.post('/apps/:app/collaborators', async (request, reply) => {
    const { actor, app: row } = await appOf(deps, request);
    const { user } = (request.body ?? {}) as { user?: unknown };
    // The schema's account identity is an email or id; accept {email}/{id} objects too.
    const ref = user && typeof user === 'object' ? ((user as { email?: unknown; id?: unknown }).email ?? (user as { id?: unknown }).id) : user;
    const added = await deps.collaborators.add(actor, row, ref);
    reply.code(201);
    return serializeCollaborator(added, row);
  });

  app.delete('/apps/:app/collaborators/:collaborator', async (request) => {
    const { actor, app: row } = await appOf(deps, request);
    return serializeCollaborator(await deps.collaborators.remove(actor, row, (request.params as { collaborator: string }).collaborator), row);
  });
}
