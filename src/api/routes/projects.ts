import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CiJobRow, CiPipelineRow, ProjectRow } from '../../store/schema.js';
import type { ApiDeps } from '../context.js';
import { actorOf, apiKeyOf, userRef } from '../context.js';
import { notFound, unauthorized } from '../../core/errors.js';
import { readArtifacts } from '../../projects/ci-plan-store.js';
import { runPipeline, type PipelineRunRequest } from '../../projects/pipeline-runs.js';
import { childrenByBridge, upstreamOf } from '../../projects/ci-children.js';

/**
 * Slipway's own CI endpoints (not in the Heroku schema): projects, their pipelines and jobs,
 * job logs (text/plain, streamed live while the job runs unless `?follow=false`), job control
 * with GitLab's REST names (play, retry, cancel) and job artifacts (a gzipped tarball).
 */
export function projectRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const projectOf = async (request: FastifyRequest) => {
    const actor = await actorOf(deps, request);
    return deps.projects.resolve(actor, (request.params as { project: string }).project);
  };
  const numberOf = (request: FastifyRequest, what: 'pipeline' | 'job'): number => {
    const raw = (request.params as { id: string }).id;
    if (!/^[1-9]\d{0,9}$/.test(raw)) throw notFound(what, `Couldn't find that ${what}: use its number, e.g. 1.`);
    return Number(raw);
  };
  const jobOf = async (request: FastifyRequest) => {
    const project = await projectOf(request);
    const job = await deps.ci.job(project.id, numberOf(request, 'job'));
    if (!job) throw notFound('job', "Couldn't find that job.");
    return { project, job };
  };
  const pipelineOf = async (request: FastifyRequest) => {
    const project = await projectOf(request);
    const pipeline = await deps.ci.pipeline(project.id, numberOf(request, 'pipeline'));
    if (!pipeline) throw notFound('pipeline', "Couldn't find that pipeline.");
    return { project, pipeline };
  };
  // A pipeline's or job's web_url is this API resource (Slipway has no web pages). Opened in a
  // browser without a key, the answer asks for one (HTTP Basic: the API key as the password,
  // as for git) and names the CLI command that shows the same.
  const askForKey = (request: FastifyRequest, reply: FastifyReply, what: 'pipeline' | 'job' | 'the log of job') => {
    if (apiKeyOf(request)) return;
    const { project, id } = request.params as { project: string; id: string };
    const number = /^\d+$/.test(id) ? id : 'N';
    const command = what === 'pipeline' ? `slipway ci:pipeline ${number} -p ${project}` : `slipway ci:job:log ${number} -p ${project} --follow`;
    reply.header('WWW-Authenticate', 'Basic realm="Slipway"');
    throw unauthorized(
      `This URL is the API resource of ${what} #${number} of ${project} (Slipway has no web pages) and needs your API key: ` +
        `send "Authorization: Bearer <key>", or give the key as the password (any user name) when your browser asks. In a terminal: ${command}`,
    );
  };
  const jobReply = async (project: ProjectRow, job: CiJobRow) => {
    const pipeline = (await deps.ci.pipelineById(job.pipeline_id))!;
    return jobJson(deps, project, pipeline, job, (await childrenByBridge(deps.db, pipeline.id)).get(job.id));
  };
  // A child pipeline names its parent and trigger job; a trigger job, the child it made.
  const pipelineWithParent = async (project: ProjectRow, p: CiPipelineRow) => pipelineJson(deps, project, p, await upstreamOf(deps.db, p));
  const pipelineReply = async (project: ProjectRow, pipeline: CiPipelineRow, includeRetried = false) => {
    const fresh = (await deps.ci.pipelineById(pipeline.id))!;
    const all = await deps.ci.jobs(fresh.id);
    const jobs = includeRetried ? all : all.filter((j) => j.retried !== 1);
    const stages = [...new Map(jobs.map((j) => [j.stage_index, j.stage])).entries()].sort((a, b) => a[0] - b[0]).map(([, name]) => name);
    const children = await childrenByBridge(deps.db, fresh.id);
    return { ...(await pipelineWithParent(project, fresh)), stages, jobs: jobs.map((j) => jobJson(deps, project, fresh, j, children.get(j.id))) };
  };

  app.post('/projects', async (request, reply) => {
    const actor = await actorOf(deps, request);
    const project = await deps.projects.create(actor, (request.body as { name?: unknown } | undefined)?.name);
    reply.code(201);
    return projectJson(deps, project);
  });

  app.get('/projects', async (request) => {
    const actor = await actorOf(deps, request);
    return Promise.all((await deps.projects.list(actor)).map((p) => projectJson(deps, p)));
  });

  app.get('/projects/:project', async (request) => projectJson(deps, await projectOf(request)));

  app.get('/projects/:project/pipelines', async (request) => {
    const project = await projectOf(request);
    return Promise.all((await deps.ci.pipelines(project.id)).map((p) => pipelineWithParent(project, p)));
  });

  // GitLab's "Run pipeline": a branch or tag's current commit, with variables and inputs.
  app.post('/projects/:project/pipelines', async (request, reply) => {
    const project = await projectOf(request);
    const { pipeline, messages } = await runPipeline(deps.ci, project, await actorOf(deps, request), (request.body ?? {}) as PipelineRunRequest);
    reply.code(201);
    return { ...(await pipelineReply(project, pipeline)), messages };
  });

  app.get('/projects/:project/pipelines/:id', async (request, reply) => {
    askForKey(request, reply, 'pipeline');
    const { project, pipeline } = await pipelineOf(request);
    return pipelineReply(project, pipeline, (request.query as { include_retried?: string }).include_retried === 'true');
  });

  app.post('/projects/:project/pipelines/:id/retry', async (request, reply) => {
    const { project, pipeline } = await pipelineOf(request);
    await deps.ci.retryPipeline(pipeline, (await actorOf(deps, request)).id);
    reply.code(201);
    return pipelineReply(project, pipeline);
  });

  app.post('/projects/:project/pipelines/:id/cancel', async (request) => {
    const { project, pipeline } = await pipelineOf(request);
    await deps.ci.cancelPipeline(pipeline);
    return pipelineReply(project, pipeline);
  });

  app.get('/projects/:project/jobs/:id', async (request, reply) => {
    askForKey(request, reply, 'job');
    const { project, job } = await jobOf(request);
    return jobReply(project, job);
  });

  app.post('/projects/:project/jobs/:id/play', async (request) => {
    const { project, job } = await jobOf(request);
    return jobReply(project, await deps.ci.play(job, (await actorOf(deps, request)).id));
  });

  app.post('/projects/:project/jobs/:id/retry', async (request, reply) => {
    const { project, job } = await jobOf(request);
    const attempt = await deps.ci.retry(job, (await actorOf(deps, request)).id);
    reply.code(201);
    return jobReply(project, attempt);
  });

  app.post('/projects/:project/jobs/:id/cancel', async (request) => {
    const { project, job } = await jobOf(request);
    return jobReply(project, await deps.ci.cancel(job));
  });

  app.get('/projects/:project/jobs/:id/artifacts', async (request, reply) => {
    const { job } = await jobOf(request);
    const archive = deps.ci.artifacts(job);
    if (!archive) throw notFound('artifacts', `Job #${job.number} (${job.name}) has no artifacts${job.artifacts ? ' any more (they expired)' : ''}.`);
    reply.header('Content-Type', 'application/gzip');
    reply.header('Content-Disposition', `attachment; filename="artifacts-${job.number}.tar.gz"`);
    return reply.send(archive);
  });

  app.get('/projects/:project/jobs/:id/log', async (request, reply) => {
    askForKey(request, reply, 'the log of job');
    const { job } = await jobOf(request);
    const follow = (request.query as { follow?: string }).follow !== 'false';
    reply.header('Content-Type', 'text/plain; charset=utf-8');
    reply.header('Cache-Control', 'no-cache');
    reply.header('X-Accel-Buffering', 'no');
    return reply.send(follow ? deps.outputs.read(job.log_key) : deps.outputs.snapshot(job.log_key));
  });
}

async function projectJson(deps: ApiDeps, p: ProjectRow) {
  return {
    id: p.id,
    name: p.name,
    owner: await userRef(deps, p.owner_id),
    git_url: deps.urls.appGitUrl(p.name),
    web_url: `${deps.urls.http}/projects/${p.name}`,
    created_at: p.created_at,
    updated_at: p.updated_at,
  };
}

/** A pipeline as the API shows it (also for pipelines started by schedules and trigger tokens). */
export function pipelineJson(deps: ApiDeps, project: ProjectRow, p: CiPipelineRow, upstream?: { pipeline: CiPipelineRow; job: CiJobRow }) {
  return {
    id: p.number,
    uuid: p.id,
    project: { id: project.id, name: project.name },
    ref: p.ref,
    tag: p.tag === 1,
    sha: p.sha,
    before_sha: p.before_sha,
    source: p.source,
    status: p.status,
    failure_reason: p.failure_reason,
    auto_canceled_by: p.auto_canceled_by === null ? null : Number(p.auto_canceled_by),
    errors: JSON.parse(p.errors) as string[],
    parent_pipeline: upstream ? { id: upstream.pipeline.number, status: upstream.pipeline.status, web_url: deps.ci.pipelineUrl(project, upstream.pipeline.number), job: { id: upstream.job.number, name: upstream.job.name } } : null,
    web_url: deps.ci.pipelineUrl(project, p.number),
    created_at: p.created_at,
    updated_at: p.updated_at,
    started_at: p.started_at,
    finished_at: p.finished_at,
  };
}

function jobJson(deps: ApiDeps, project: ProjectRow, pipeline: CiPipelineRow, j: CiJobRow, child?: CiPipelineRow) {
  const artifacts = readArtifacts(j);
  return {
    id: j.number,
    uuid: j.id,
    name: j.name,
    stage: j.stage,
    status: j.status,
    when: j.run_when,
    allow_failure: j.allow_failure === 1,
    failure_reason: j.failure_reason,
    failure_message: j.failure_message,
    exit_code: j.exit_code,
    attempts: j.attempts,
    retried: j.retried === 1,
    scheduled_at: j.scheduled_at,
    artifacts: artifacts ? { files: artifacts.files.length, expire_at: artifacts.expires_at ?? null, download_url: `${deps.ci.jobUrl(project, j.number)}/artifacts` } : null,
    pipeline: { id: pipeline.number, ref: pipeline.ref, sha: pipeline.sha },
    downstream_pipeline: child ? { id: child.number, status: child.status, web_url: deps.ci.pipelineUrl(project, child.number) } : null,
    web_url: deps.ci.jobUrl(project, j.number),
    log_url: `${deps.ci.jobUrl(project, j.number)}/log`,
    created_at: j.created_at,
    started_at: j.started_at,
    finished_at: j.finished_at,
    duration_ms: j.started_at && j.finished_at ? Date.parse(j.finished_at) - Date.parse(j.started_at) : null,
  };
}
