import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../context.js';
import { appOf } from '../context.js';
import { serializeDomain } from '../serializers.js';
import { sendList } from '../respond.js';
import type { AppDomain } from '../../apps/domains.js';
import type { AppRow } from '../../store/schema.js';

/** Custom domains (`domains`, `domains:add`, `domains:remove`); the router serves them. */
export function domainRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const json = (domain: AppDomain, row: AppRow) => serializeDomain(domain, row, domain.cname);

  app.get('/apps/:app/domains', async (request, reply) => {
    const { app: row } = await appOf(deps, request);
    const list = (await deps.domains.list(row)).map((d) => json(d, row));
    return sendList(request, reply, list, { defaultField: 'hostname', fields: { hostname: (d) => d.hostname, id: (d) => d.id } });
  });

  app.get('/apps/:app/domains/:domain', async (request) => {
    const { app: row } = await appOf(deps, request);
    return json(await deps.domains.get(row, (request.params as { domain: string }).domain), row);
  });

  app.post('/apps/:app/domains', async (request, reply) => {
    const { actor, app: row } = await appOf(deps, request);
    const body = (request.body ?? {}) as { hostname?: unknown; sni_endpoint?: unknown };
    const domain = await deps.domains.add(actor, row, body);
    reply.code(201);
    return json(domain, row);
  });

  app.delete('/apps/:app/domains/:domain', async (request) => {
    const { app: row } = await appOf(deps, request);
    return json(await deps.domains.remove(row, (request.params as { domain: string }).domain), row);
  });

  // `domains:add` lists SNI endpoints first; Slipway terminates TLS itself and has none.
  app.get('/apps/:app/sni-endpoints', async (request) => {
    await appOf(deps, request);
    return [];
  });
}
