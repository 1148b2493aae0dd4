import type { FastifyInstance } from 'fastify';
import type { ReleaseRow, AppRow } from '../../store/schema.js';
import type { ApiDeps } from '../context.js';
import { appOf, userRef } from '../context.js';
import { serializeRelease } from '../serializers.js';
import { sendList } from '../respond.js';
import { releaseOutputKey } from '../../release/releases.js';
import { invalidParams } from '../../core/errors.js';

export function releaseStreamUrl(deps: ApiDeps, release: ReleaseRow): string | null {
  if (!release.release_command) return null;
  return `${deps.urls.http}/streams/releases/${release.id}/${release.output_token}`;
}

export async function releaseJson(deps: ApiDeps, app: AppRow, release: ReleaseRow, currentId?: string) {
  const current = currentId ?? (await deps.releases.current(app.id))?.id;
  return serializeRelease(release, app, await userRef(deps, release.user_id), current, releaseStreamUrl(deps, release));
}

export function releaseRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get('/apps/:app/releases', async (request, reply) => {
    const { app: row } = await appOf(deps, request);
    const current = (await deps.releases.current(row.id))?.id;
    const releases = await Promise.all((await deps.releases.list(row.id)).map((r) => releaseJson(deps, row, r, current ?? '')));
    return sendList(request, reply, releases, { defaultField: 'version', fields: { version: (r) => r.version, id: (r) => r.id, created_at: (r) => r.created_at } });
  });

  app.get('/apps/:app/releases/:release', async (request) => {
    const { app: row } = await appOf(deps, request);
    const { release } = request.params as { release: string };
    return releaseJson(deps, row, await deps.releases.get(row.id, release));
  });

  // Rollback: {"release": "<id or version>"} makes a new release from that one's slug and config.
  app.post('/apps/:app/releases', async (request, reply) => {
    const { actor, app: row } = await appOf(deps, request);
    const body = (request.body ?? {}) as { release?: unknown; slug?: unknown; description?: unknown };
    let created: ReleaseRow;
    if (typeof body.release === 'string' || typeof body.release === 'number') {
      created = await deps.releases.rollback(row, actor, String(body.release));
    } else if (typeof body.slug === 'string') {
      const slug = await deps.releases.slug(body.slug);
      if (!slug || slug.app_id !== row.id) throw invalidParams(`Slug ${body.slug} does not belong to ${row.name}.`);
      created = await deps.releases.create({
        app: row,
        actor,
        slugId: slug.id,
        config: JSON.parse(row.config),
        description: typeof body.description === 'string' ? body.description : `Deploy ${slug.commit?.slice(0, 8) ?? slug.id.slice(0, 8)}`,
      });
    } else {
      throw invalidParams('Send {"release": "<release id or version>"} to roll back, or {"slug": "<slug id>"} to release a slug.');
    }
    reply.code(201);
    return releaseJson(deps, row, created);
  });
}
