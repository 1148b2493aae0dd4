import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../context.js';
import { appOf } from '../context.js';
import { invalidParams, notFound } from '../../core/errors.js';
import { now } from '../../core/ids.js';

/** App features Slipway knows; each has a fixed id so responses are stable. */
export const APP_FEATURES = [
  {
    id: '7f0a1c52-3c1e-4b1a-8d3e-000000000001',
    name: 'preboot',
    description: 'Start new web dynos and wait until they are up before stopping the old ones (always on in Slipway).',
    default: true,
  },
  {
    id: '7f0a1c52-3c1e-4b1a-8d3e-000000000002',
    name: 'runtime-dyno-metadata',
    description: 'Expose HEROKU_APP_NAME, HEROKU_RELEASE_VERSION and related variables to dynos (always on in Slipway).',
    default: true,
  },
];

export function featureRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const state = async (appId: string) => {
    const rows = await deps.db.selectFrom('app_features').selectAll().where('app_id', '=', appId).execute();
    return APP_FEATURES.map((f) => {
      const row = rows.find((r) => r.name === f.name);
      return {
        created_at: row?.updated_at ?? '2026-01-01T00:00:00Z',
        description: f.description,
        doc_url: 'https://slipway.local/docs/features',
        enabled: row ? row.enabled === 1 : f.default,
        id: f.id,
        name: f.name,
        state: 'general',
        updated_at: row?.updated_at ?? '2026-01-01T00:00:00Z',
        display_name: f.name,
        feedback_email: 'admin@slipway.local',
      };
    });
  };
  const find = async (appId: string, name: string) => {
    const feature = (await state(appId)).find((f) => f.name === name || f.id === name);
    if (!feature) throw notFound('app-feature', `Couldn't find the feature ${name}. Slipway has: ${APP_FEATURES.map((f) => f.name).join(', ')}.`);
    return feature;
  };

  app.get('/apps/:app/features', async (request) => state((await appOf(deps, request)).app.id));
  app.get('/apps/:app/features/:feature', async (request) => {
    const { app: row } = await appOf(deps, request);
    return find(row.id, (request.params as { feature: string }).feature);
  });
  app.patch('/apps/:app/features/:feature', async (request) => {
    const { app: row } = await appOf(deps, request);
    const feature = await find(row.id, (request.params as { feature: string }).feature);
    const { enabled } = (request.body ?? {}) as { enabled?: unknown };
    if (typeof enabled !== 'boolean') throw invalidParams('Send {"enabled": true} or {"enabled": false}.');
    const stamp = now();
    await deps.db
      .insertInto('app_features')
      .values({ app_id: row.id, name: feature.name, enabled: enabled ? 1 : 0, updated_at: stamp })
      .onConflict((oc) => oc.columns(['app_id', 'name']).doUpdateSet({ enabled: enabled ? 1 : 0, updated_at: stamp }))
      .execute();
    return find(row.id, feature.name);
  });
}
