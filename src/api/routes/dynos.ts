import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../context.js';
import { appOf } from '../context.js';
import { serializeDyno } from '../serializers.js';
import { sendList } from '../respond.js';
import { invalidParams, notFound } from '../../core/errors.js';

export function dynoRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get('/apps/:app/dynos', async (request, reply) => {
    const { app: row } = await appOf(deps, request);
    const list = deps.dynos.list(row.id).map((d) => serializeDyno(d, row));
    return sendList(request, reply, list, { defaultField: 'name', fields: { name: (d) => d.name, id: (d) => d.id } });
  });

  app.get('/apps/:app/dynos/:dyno', async (request) => {
    const { app: row } = await appOf(deps, request);
    const { dyno } = request.params as { dyno: string };
    const found = deps.dynos.list(row.id).find((d) => d.name === dyno || d.id === dyno);
    if (!found) throw notFound('dyno', `Couldn't find dyno ${dyno}.`);
    return serializeDyno(found, row);
  });

  // One-off dyno: attached ones are reached over the TLS rendezvous endpoint.
  app.post('/apps/:app/dynos', async (request, reply) => {
    const { app: row } = await appOf(deps, request);
    const body = (request.body ?? {}) as { command?: unknown; attach?: unknown; env?: unknown; size?: unknown };
    if (typeof body.command !== 'string' || body.command.trim() === '') throw invalidParams('Give the command to run, e.g. {"command": "node -v"}.');
    const env: Record<string, string> = {};
    if (body.env !== undefined && body.env !== null) {
      if (typeof body.env !== 'object' || Array.isArray(body.env)) throw invalidParams('env must be an object of strings.');
      for (const [k, v] of Object.entries(body.env)) env[k] = String(v);
    }
    const { info, attachSecret } = await deps.oneOffs.run(row, {
      command: body.command,
      env,
      size: typeof body.size === 'string' ? body.size : undefined,
      attach: body.attach === true,
    });
    const attachUrl = attachSecret ? `rendezvous://${deps.urls.httpsHostPort}/${attachSecret}` : null;
    reply.code(201);
    return serializeDyno(info, row, attachUrl);
  });

  const ok = (reply: import('fastify').FastifyReply) => {
    reply.code(202);
    return {};
  };

  app.delete('/apps/:app/dynos', async (request, reply) => {
    const { app: row } = await appOf(deps, request);
    await deps.dynos.restart(row.id);
    return ok(reply);
  });
  app.delete('/apps/:app/dynos/:dyno', async (request, reply) => {
    const { app: row } = await appOf(deps, request);
    await deps.dynos.restart(row.id, (request.params as { dyno: string }).dyno);
    return ok(reply);
  });
  app.delete('/apps/:app/formations/:type', async (request, reply) => {
    const { app: row } = await appOf(deps, request);
    await deps.dynos.restart(row.id, (request.params as { type: string }).type);
    return ok(reply);
  });
  app.post('/apps/:app/dynos/:dyno/actions/stop', async (request, reply) => {
    const { app: row } = await appOf(deps, request);
    await deps.dynos.stop(row.id, (request.params as { dyno: string }).dyno);
    return ok(reply);
  });
  app.post('/apps/:app/formations/:type/actions/stop', async (request, reply) => {
    const { app: row } = await appOf(deps, request);
    await deps.dynos.stop(row.id, (request.params as { type: string }).type);
    return ok(reply);
  });
}
