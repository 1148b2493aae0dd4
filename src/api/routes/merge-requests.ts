import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CiPipelineRow, MergeRequestRow, ProjectRow } from '../../store/schema.js';
import type { ApiDeps } from '../context.js';
import { projectOf, userRef } from '../context.js';
import { invalidParams } from '../../core/errors.js';
import { isDraft, labelsOf, mergeRequestNotFound, stateFilter, type MergeOptions, type Outcome } from '../../projects/merge-requests/index.js';

/**
 * Merge requests on CI projects, with GitLab's REST names (Slipway's own endpoints, not in the
 * Heroku schema): create, list (`?state=`), show, edit (`state_event` close/reopen), merge,
 * close, reopen, and the merge request's pipelines. Changes answer with the merge request plus
 * `messages` (pipelines started, warnings).
 */
export function mergeRequestRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const iidOf = (request: FastifyRequest): number => {
    const raw = (request.params as { iid: string }).iid;
    if (!/^[1-9]\d{0,9}$/.test(raw)) throw mergeRequestNotFound();
    return Number(raw);
  };
  const bodyOf = (request: FastifyRequest): Record<string, unknown> => {
    const body = request.body ?? {};
    if (typeof body !== 'object' || Array.isArray(body)) throw invalidParams('Send a JSON object.');
    return body as Record<string, unknown>;
  };
  const changed = async (project: ProjectRow, outcome: Outcome) => ({ ...(await mergeRequestJson(deps, project, outcome.mr)), messages: outcome.messages });

  app.post('/projects/:project/merge_requests', async (request, reply) => {
    const { actor, project } = await projectOf(deps, request);
    const outcome = await deps.mergeRequests.create(actor, project, bodyOf(request));
    reply.code(201);
    return changed(project, outcome);
  });

  app.get('/projects/:project/merge_requests', async (request) => {
    const { project } = await projectOf(deps, request);
    const state = stateFilter((request.query as { state?: unknown }).state);
    const list = await deps.mergeRequests.list(project, state);
    return Promise.all(list.map((mr) => mergeRequestJson(deps, project, mr)));
  });

  app.get('/projects/:project/merge_requests/:iid', async (request) => {
    const { project } = await projectOf(deps, request);
    return mergeRequestJson(deps, project, await deps.mergeRequests.get(project, iidOf(request)));
  });

  app.put('/projects/:project/merge_requests/:iid', async (request) => {
    const { actor, project } = await projectOf(deps, request);
    return changed(project, await deps.mergeRequests.update(actor, project, iidOf(request), bodyOf(request)));
  });

  const merge = async (request: FastifyRequest) => {
    const { actor, project } = await projectOf(deps, request);
    const outcome = await deps.mergeRequests.merge(actor, project, iidOf(request), mergeOptions(bodyOf(request)));
    return changed(project, outcome);
  };
  app.put('/projects/:project/merge_requests/:iid/merge', merge);
  app.post('/projects/:project/merge_requests/:iid/merge', merge);

  app.post('/projects/:project/merge_requests/:iid/close', async (request) => {
    const { actor, project } = await projectOf(deps, request);
    return changed(project, await deps.mergeRequests.close(actor, project, iidOf(request)));
  });

  app.post('/projects/:project/merge_requests/:iid/reopen', async (request) => {
    const { actor, project } = await projectOf(deps, request);
    return changed(project, await deps.mergeRequests.reopen(actor, project, iidOf(request)));
  });

  app.get('/projects/:project/merge_requests/:iid/pipelines', async (request) => {
    const { project } = await projectOf(deps, request);
    const mr = await deps.mergeRequests.get(project, iidOf(request));
    return (await deps.mergeRequests.pipelines(mr)).map((p) => pipelineRef(deps, project, p));
  });
}

function flag(body: Record<string, unknown>, key: string): boolean {
  const value = body[key];
  if (value === undefined || value === null || value === false || value === 'false') return false;
  if (value === true || value === 'true') return true;
  throw invalidParams(`${key} must be true or false.`);
}

function mergeOptions(body: Record<string, unknown>): MergeOptions {
  const options: MergeOptions = {
    removeSourceBranch: flag(body, 'should_remove_source_branch'),
    onlyIfPipelineSucceeds: flag(body, 'only_allow_merge_if_pipeline_succeeds'),
  };
  if (body.sha !== undefined) {
    if (typeof body.sha !== 'string' || !/^[0-9a-f]{40}$/.test(body.sha)) throw invalidParams('sha must be the full 40-character commit id of the source branch head.');
    options.sha = body.sha;
  }
  if (body.merge_commit_message !== undefined) {
    if (typeof body.merge_commit_message !== 'string') throw invalidParams('merge_commit_message must be a string.');
    options.message = body.merge_commit_message;
  }
  return options;
}

function pipelineRef(deps: ApiDeps, project: ProjectRow, p: CiPipelineRow) {
  return { id: p.number, uuid: p.id, sha: p.sha, ref: p.ref, source: p.source, status: p.status, web_url: deps.ci.pipelineUrl(project, p.number), created_at: p.created_at };
}

async function mergeRequestJson(deps: ApiDeps, project: ProjectRow, mr: MergeRequestRow) {
  const head = await deps.mergeRequests.headPipeline(mr);
  return {
    id: Number(mr.id),
    iid: mr.iid,
    project_id: project.id,
    project: { id: project.id, name: project.name },
    title: mr.title,
    description: mr.description,
    state: mr.state,
    draft: isDraft(mr.title),
    labels: labelsOf(mr),
    source_branch: mr.source_branch,
    target_branch: mr.target_branch,
    sha: mr.head_sha,
    merge_commit_sha: mr.merge_commit_sha,
    author: await userRef(deps, mr.author_id),
    merged_by: mr.merged_by_id ? await userRef(deps, mr.merged_by_id) : null,
    closed_by: mr.closed_by_id ? await userRef(deps, mr.closed_by_id) : null,
    merged_at: mr.merged_at,
    closed_at: mr.closed_at,
    created_at: mr.created_at,
    updated_at: mr.updated_at,
    web_url: `${deps.urls.http}/projects/${project.name}/merge_requests/${mr.iid}`,
    head_pipeline: head ? pipelineRef(deps, project, head) : null,
    review_app: await deps.mergeRequests.reviewApp(mr),
  };
}
