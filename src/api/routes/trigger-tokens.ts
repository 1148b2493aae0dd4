import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CiTriggerTokenRow, ProjectRow } from '../../store/schema.js';
import type { ApiDeps } from '../context.js';
import { projectOf, userRef } from '../context.js';
import { formFields } from '../form-fields.js';
import { pipelineJson } from './projects.js';
import { projectNotFound } from '../../projects/projects.js';
import { triggerTokenNotFound } from '../../projects/trigger-tokens.js';

/**
 * Pipeline trigger tokens with GitLab's names: `/projects/{p}/triggers` (API key) to make,
 * list and delete them, and `POST /projects/{p}/trigger/pipeline` (the token alone), also at
 * GitLab's `/api/v4/projects/{id}/trigger/pipeline`, where a job's `$CI_API_V4_URL` points.
 */
export function triggerTokenRoutes(app: FastifyInstance, deps: ApiDeps): void {

  app.get('/projects/:project/triggers', async (request) => {
    const { project } = await projectOf(deps, request);
    return Promise.all((await deps.triggerTokens.list(project)).map((t) => tokenJson(deps, project, t)));
  });

  app.post('/projects/:project/triggers', async (request, reply) => {
    const { actor, project } = await projectOf(deps, request);
    const { row, token } = await deps.triggerTokens.create(project, actor, ((request.body ?? {}) as { description?: unknown }).description);
    reply.code(201);
    return { ...(await tokenJson(deps, project, row)), token };
  });

  app.delete('/projects/:project/triggers/:id', async (request) => {
    const { project } = await projectOf(deps, request);
    const raw = (request.params as { id: string }).id;
    if (!/^[1-9]\d{0,9}$/.test(raw)) throw triggerTokenNotFound();
    return tokenJson(deps, project, await deps.triggerTokens.remove(project, Number(raw)));
  });

  const trigger = async (request: FastifyRequest, reply: { code(n: number): unknown }) => {
    // The project by name, id, or GitLab path (`projects/<name>`, as CI_PROJECT_PATH).
    const named = (request.params as { project: string }).project.replace(/^projects\//, '');
    const project = await deps.projects.find(named);
    if (!project) throw projectNotFound();
    const fields = await formFields(request);
    const { pipeline, messages } = await deps.triggerTokens.trigger(project, fields.token, { ref: fields.ref, variables: fields.variables, inputs: fields.inputs });
    reply.code(201);
    return { ...pipelineJson(deps, project, pipeline), messages };
  };
  app.post('/projects/:project/trigger/pipeline', trigger);
  app.post('/api/v4/projects/:project/trigger/pipeline', trigger);
}

async function tokenJson(deps: ApiDeps, project: ProjectRow, t: CiTriggerTokenRow) {
  return {
    id: t.number,
    uuid: t.id,
    project: { id: project.id, name: project.name },
    description: t.description,
    // The value is shown once, when made; after that only its end.
    token: null,
    token_hint: `${'*'.repeat(8)}${t.token_hint}`,
    owner: await userRef(deps, t.owner_id),
    last_used: t.last_used_at,
    created_at: t.created_at,
  };
}
