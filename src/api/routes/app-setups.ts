import type { FastifyInstance } from 'fastify';
import type { AppSetupRow } from '../../store/schema.js';
import type { ApiDeps } from '../context.js';
import { actorOf } from '../context.js';

/** An app setup in Heroku's shape; `postdeploy` appears once the script has run. */
export async function appSetupJson(deps: ApiDeps, setup: AppSetupRow) {
  let build = null;
  if (setup.build_id) {
    const row = await deps.db.selectFrom('builds').selectAll().where('id', '=', setup.build_id).executeTakeFirst();
    if (row) build = { id: row.id, status: row.status, output_stream_url: `${deps.urls.http}/streams/builds/${row.id}/${row.output_token}` };
  }
  const manifest = await deps.manifests.get(setup.app_id);
  const ran = manifest && (manifest.postdeploy_status === 'succeeded' || manifest.postdeploy_status === 'failed');
  return {
    id: setup.id,
    app: { id: setup.app_id, name: setup.app_name },
    build,
    created_at: setup.created_at,
    updated_at: setup.updated_at,
    status: setup.status,
    failure_message: setup.failure_message,
    manifest_errors: JSON.parse(setup.manifest_errors) as string[],
    // exit_code is -1 when the script did not exit by itself (killed, or it could not start).
    postdeploy: ran ? { output: manifest.postdeploy_output ?? '', exit_code: manifest.postdeploy_exit_code ?? -1 } : null,
    resolved_success_url: setup.resolved_success_url,
  };
}

export function appSetupRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.post('/app-setups', async (request, reply) => {
    const actor = await actorOf(deps, request);
    const setup = await deps.appSetups.create(actor, request.body ?? {});
    reply.code(201);
    return appSetupJson(deps, setup);
  });

  app.get('/app-setups/:id', async (request) => {
    const actor = await actorOf(deps, request);
    const { id } = request.params as { id: string };
    return appSetupJson(deps, await deps.appSetups.get(actor, id));
  });
}
