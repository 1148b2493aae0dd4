import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../context.js';
import { appOf } from '../context.js';

/** Slipway has no add-on marketplace yet; `apps:info` and `addons` see an empty list. */
export function addonRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get('/apps/:app/addons', async (request) => {
    await appOf(deps, request);
    return [];
  });
}
