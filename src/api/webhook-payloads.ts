/**
 * The `data` of webhook notifications: each resource exactly as the API serializes it.
 * Plugged into the webhook service by the composition root.
 */
import type { ApiDeps } from './context.js';
import { userRef } from './context.js';
import type { DescribedResource, WebhookResourceSource, WebhookTrigger } from '../webhooks/contract.js';
import { appJson } from './routes/apps.js';
import { releaseJson } from './routes/releases.js';
import { buildJson } from './routes/builds.js';
import { serializeDyno, serializeFormation } from './serializers.js';

export function apiResourceSource(deps: Pick<ApiDeps, 'urls' | 'accounts' | 'apps' | 'releases' | 'builds' | 'formation' | 'dynos'>): WebhookResourceSource {
  return {
    async describe(trigger: WebhookTrigger): Promise<DescribedResource | null> {
      const app = await deps.apps.getById(trigger.appId);
      if (!app) return null;
      // The JSON helpers only read the services picked above.
      const d = deps as ApiDeps;
      const owner = await userRef(d, app.owner_id);
      switch (trigger.entity) {
        case 'api:release': {
          const release = await deps.releases.get(app.id, trigger.resourceId).catch(() => undefined);
          if (!release) return null;
          return { data: await releaseJson(d, app, release), actor: await userRef(d, release.user_id) };
        }
        case 'api:build': {
          const build = await deps.builds.get(app.id, trigger.resourceId).catch(() => undefined);
          if (!build) return null;
          return { data: await buildJson(d, app, build), actor: await userRef(d, build.user_id) };
        }
        case 'api:dyno': {
          const dyno = deps.dynos.list(app.id).find((x) => x.name === trigger.resourceId);
          const data = dyno ? serializeDyno(dyno, app) : { app: { id: app.id, name: app.name }, name: trigger.resourceId, state: 'down' };
          return { data, actor: owner };
        }
        case 'api:formation': {
          const entry = await deps.formation.get(app.id, trigger.resourceId).catch(() => undefined);
          if (!entry) return null;
          return { data: serializeFormation(entry, app), actor: owner };
        }
        case 'api:app':
          return { data: await appJson(d, app), actor: owner };
        default:
          return null;
      }
    },
  };
}
