import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CiScheduleRow, ProjectRow } from '../../store/schema.js';
import type { ApiDeps } from '../context.js';
import { projectOf, userRef } from '../context.js';
import { scheduleNotFound, type ScheduleChange } from '../../projects/schedules/service.js';
import { pipelineJson } from './projects.js';

/**
 * Pipeline schedules of a CI project, with GitLab's REST names and fields
 * (`/projects/{p}/pipeline_schedules`, `cron`, `cron_timezone`, `ref`, `active`, `play`).
 * Variables and inputs come with the schedule (GitLab has separate variable endpoints).
 */
export function pipelineScheduleRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const numberOf = (request: FastifyRequest): number => {
    const raw = (request.params as { id: string }).id;
    if (!/^[1-9]\d{0,9}$/.test(raw)) throw scheduleNotFound();
    return Number(raw);
  };
  const body = (request: FastifyRequest) => (request.body ?? {}) as ScheduleChange;

  app.get('/projects/:project/pipeline_schedules', async (request) => {
    const { project } = await projectOf(deps, request);
    return Promise.all((await deps.schedules.list(project)).map((s) => scheduleJson(deps, project, s)));
  });

  app.post('/projects/:project/pipeline_schedules', async (request, reply) => {
    const { actor, project } = await projectOf(deps, request);
    const schedule = await deps.schedules.create(project, actor, body(request));
    reply.code(201);
    return scheduleJson(deps, project, schedule);
  });

  app.get('/projects/:project/pipeline_schedules/:id', async (request) => {
    const { project } = await projectOf(deps, request);
    return scheduleJson(deps, project, await deps.schedules.get(project, numberOf(request)));
  });

  app.put('/projects/:project/pipeline_schedules/:id', async (request) => {
    const { project } = await projectOf(deps, request);
    return scheduleJson(deps, project, await deps.schedules.update(project, numberOf(request), body(request)));
  });

  app.delete('/projects/:project/pipeline_schedules/:id', async (request) => {
    const { project } = await projectOf(deps, request);
    return scheduleJson(deps, project, await deps.schedules.remove(project, numberOf(request)));
  });

  app.post('/projects/:project/pipeline_schedules/:id/play', async (request, reply) => {
    const { actor, project } = await projectOf(deps, request);
    const { schedule, pipeline, messages } = await deps.schedules.play(project, numberOf(request), actor);
    reply.code(201);
    return {
      schedule: await scheduleJson(deps, project, schedule),
      pipeline: pipelineJson(deps, project, pipeline),
      messages,
    };
  });
}

async function scheduleJson(deps: ApiDeps, project: ProjectRow, s: CiScheduleRow) {
  const last = s.last_pipeline_id ? await deps.ci.pipelineById(s.last_pipeline_id) : undefined;
  return {
    id: s.number,
    uuid: s.id,
    project: { id: project.id, name: project.name },
    description: s.description,
    ref: s.ref,
    cron: s.cron,
    cron_timezone: s.cron_timezone,
    active: s.active === 1,
    next_run_at: s.next_run_at,
    owner: await userRef(deps, s.owner_id),
    variables: (JSON.parse(s.variables) as { key: string; value: string }[]).map((v) => ({ ...v, variable_type: 'env_var' })),
    inputs: s.inputs ? (JSON.parse(s.inputs) as Record<string, unknown>) : null,
    last_pipeline: last ? { id: last.number, ref: last.ref, sha: last.sha, status: last.status, web_url: deps.ci.pipelineUrl(project, last.number) } : null,
    last_error: s.last_error,
    created_at: s.created_at,
    updated_at: s.updated_at,
  };
}
