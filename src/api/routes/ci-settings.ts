import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CiEnvironmentRow, CiProtectedRefRow, CiVariableRow, ProjectRow } from '../../store/schema.js';
import type { DeploymentView } from '../../projects/environments.js';
import type { RefKind } from '../../projects/protected-refs.js';
import type { ApiDeps } from '../context.js';
import { actorOf, userRef } from '../context.js';
import { notFound } from '../../core/errors.js';

/**
 * A CI project's settings (Slipway's own endpoints, in GitLab's REST shapes where GitLab has
 * one): CI/CD variables, protected branches and tags, environments and deployments. A masked
 * variable's value is never sent back (`value: null`).
 */
export function ciSettingsRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { variables, protectedRefs, environments } = deps.ciSettings;
  const projectOf = async (request: FastifyRequest): Promise<ProjectRow> => {
    const actor = await actorOf(deps, request);
    return deps.projects.resolve(actor, (request.params as { project: string }).project);
  };
  const scopeOf = (request: FastifyRequest): string | undefined => {
    const query = request.query as Record<string, string | undefined>;
    return query['filter[environment_scope]'] ?? query.environment_scope;
  };
  const keyOf = (request: FastifyRequest) => (request.params as { key: string }).key;
  const body = (request: FastifyRequest) => (request.body ?? {}) as Record<string, unknown>;

  app.get('/projects/:project/variables', async (request) => (await variables.list(await projectOf(request))).map(variableJson));

  app.post('/projects/:project/variables', async (request, reply) => {
    const row = await variables.create(await projectOf(request), body(request));
    reply.code(201);
    return variableJson(row);
  });

  app.get('/projects/:project/variables/:key', async (request) => variableJson(await variables.get(await projectOf(request), keyOf(request), scopeOf(request))));

  app.put('/projects/:project/variables/:key', async (request) => {
    const project = await projectOf(request);
    return variableJson(await variables.update(project, keyOf(request), scopeOf(request), body(request)));
  });

  app.delete('/projects/:project/variables/:key', async (request, reply) => {
    await variables.remove(await projectOf(request), keyOf(request), scopeOf(request));
    return reply.code(204).send();
  });

  const listRefs = (kind: RefKind) => async (request: FastifyRequest) => (await protectedRefs.list(await projectOf(request), kind)).map(protectedJson);
  const protect = (kind: RefKind) => async (request: FastifyRequest, reply: FastifyReply) => {
    const row = await protectedRefs.protect(await projectOf(request), kind, body(request).name, body(request).allow_force_push);
    reply.code(201);
    return protectedJson(row);
  };
  const unprotect = (kind: RefKind) => async (request: FastifyRequest, reply: FastifyReply) => {
    await protectedRefs.unprotect(await projectOf(request), kind, (request.params as { name: string }).name);
    return reply.code(204).send();
  };
  app.get('/projects/:project/protected-branches', listRefs('branch'));
  app.post('/projects/:project/protected-branches', protect('branch'));
  app.patch('/projects/:project/protected-branches/:name', async (request) => {
    const project = await projectOf(request);
    return protectedJson(await protectedRefs.update(project, 'branch', (request.params as { name: string }).name, body(request).allow_force_push));
  });
  app.delete('/projects/:project/protected-branches/:name', unprotect('branch'));
  app.get('/projects/:project/protected-tags', listRefs('tag'));
  app.post('/projects/:project/protected-tags', protect('tag'));
  app.delete('/projects/:project/protected-tags/:name', unprotect('tag'));

  app.get('/projects/:project/environments', async (request) => {
    const project = await projectOf(request);
    const last = await environments.lastDeployments(project);
    return Promise.all((await environments.environments(project)).map(async (e) => environmentJson(e, last.get(e.id) ? await deploymentJson(deps, last.get(e.id)!) : null)));
  });

  app.get('/projects/:project/deployments', async (request) => {
    const project = await projectOf(request);
    const name = (request.query as { environment?: string }).environment;
    const environment = name ? await environments.environment(project, name) : undefined;
    return Promise.all((await environments.deployments(project, environment)).map((d) => deploymentJson(deps, d)));
  });

  app.get('/projects/:project/deployments/:id', async (request) => {
    const project = await projectOf(request);
    const raw = (request.params as { id: string }).id;
    if (!/^[1-9]\d{0,9}$/.test(raw)) throw notFound('deployment', "Couldn't find that deployment: use its number, e.g. 1.");
    return deploymentJson(deps, await environments.deployment(project, Number(raw)));
  });
}

function variableJson(v: CiVariableRow) {
  return {
    key: v.key,
    value: v.masked ? null : v.value,
    variable_type: v.variable_type,
    protected: v.protected === 1,
    masked: v.masked === 1,
    raw: v.raw === 1,
    environment_scope: v.environment_scope,
    description: v.description,
  };
}

const protectedJson = (r: CiProtectedRefRow) => ({ id: r.id, name: r.name, ...(r.kind === 'branch' ? { allow_force_push: r.allow_force_push === 1 } : {}), created_at: r.created_at });

function environmentJson(e: CiEnvironmentRow, lastDeployment: unknown) {
  return {
    id: e.id,
    name: e.name,
    slug: e.slug,
    external_url: e.external_url,
    state: e.state,
    tier: e.tier,
    on_stop: e.on_stop,
    auto_stop_in: e.auto_stop_in,
    auto_stop_at: e.auto_stop_at,
    created_at: e.created_at,
    updated_at: e.updated_at,
    last_deployment: lastDeployment,
  };
}

async function deploymentJson(deps: ApiDeps, d: DeploymentView) {
  return {
    id: d.number,
    iid: d.number,
    uuid: d.id,
    ref: d.ref,
    tag: d.tag === 1,
    sha: d.sha,
    status: d.status,
    action: d.action,
    deployment_tier: d.tier,
    url: d.url,
    environment: { name: d.environment_name, slug: d.environment_slug, external_url: d.environment_url },
    deployable: { id: d.job_number, name: d.job_name, status: d.job_status, pipeline: { id: d.pipeline_number } },
    user: d.user_id ? await userRef(deps, d.user_id) : null,
    created_at: d.created_at,
    updated_at: d.updated_at,
    finished_at: d.finished_at,
  };
}
