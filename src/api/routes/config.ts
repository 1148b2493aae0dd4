import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../context.js';
import { appOf } from '../context.js';
import { parseConfig } from '../../release/releases.js';
import { invalidParams } from '../../core/errors.js';
import { validateConfigKey } from '../../core/names.js';

export function configRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get('/apps/:app/config-vars', async (request) => {
    const { app: row } = await appOf(deps, request);
    return parseConfig(row.config);
  });

  app.patch('/apps/:app/config-vars', async (request) => {
    const { actor, app: row } = await appOf(deps, request);
    const body = request.body as Record<string, unknown> | undefined;
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      throw invalidParams('Send a JSON object of config vars, e.g. {"KEY": "value"}; use null to remove one.');
    }
    const patch: Record<string, string | null> = {};
    for (const [key, value] of Object.entries(body)) {
      validateConfigKey(key);
      if (value === null) patch[key] = null;
      else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') patch[key] = String(value);
      else throw invalidParams(`The value of ${key} must be a string (or null to remove it).`);
    }
    const { config } = await deps.releases.updateConfig(row, actor, patch);
    return config;
  });

  app.get('/apps/:app/releases/:release/config-vars', async (request) => {
    const { app: row } = await appOf(deps, request);
    const { release } = request.params as { release: string };
    return parseConfig((await deps.releases.get(row.id, release)).config);
  });
}
