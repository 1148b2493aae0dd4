// Slipway extensions for pipeline automation (not in the Heroku schema): connecting a pipeline
// to a CI project, auto-deploy rules (branch → stage, optionally after green CI) and the record
// of auto-deploys, and the Heroku CI test runs of the connected project.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiDeps } from '../context.js';
import { actorOf } from '../context.js';
import { invalidParams } from '../../core/errors.js';
import type { PipelineConnection } from '../../flow/connections.js';
import type { FlowTestRunRow, PipelineAutoDeployRow } from '../../store/schema.js';

const body = (request: FastifyRequest) => {
  const b = request.body ?? {};
  if (typeof b !== 'object' || Array.isArray(b)) throw invalidParams('Send a JSON object.');
  return b as Record<string, unknown>;
};
const param = (request: FastifyRequest, name: string) => (request.params as Record<string, string>)[name];

const connectionView = ({ pipeline, project }: PipelineConnection) => ({
  pipeline: { id: pipeline.id, name: pipeline.name },
  project: project ? { id: project.id, name: project.name } : null,
  updated_at: pipeline.updated_at,
});

const deployView = (d: PipelineAutoDeployRow) => ({
  id: d.id,
  pipeline: { id: d.pipeline_id },
  stage: d.stage,
  branch: d.branch,
  sha: d.sha,
  ci_pipeline: d.ci_pipeline_id ? { id: d.ci_pipeline_id } : null,
  test_run: d.test_run_id ? { id: d.test_run_id } : null,
  app: d.app_id ? { id: d.app_id } : null,
  build: d.build_id ? { id: d.build_id } : null,
  status: d.status,
  message: d.message,
  created_at: d.created_at,
  updated_at: d.updated_at,
});

const testRunView = (r: FlowTestRunRow) => ({
  id: r.id,
  project: { id: r.project_id },
  ref: r.ref,
  sha: r.sha,
  status: r.status,
  app_name: r.app_name,
  command: r.command,
  exit_code: r.exit_code,
  message: r.message,
  output: r.output,
  created_at: r.created_at,
  updated_at: r.updated_at,
  finished_at: r.finished_at,
});

export function pipelineAutomationRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { connections, rules, autoDeploys, testRuns } = deps.flowAutomation;

  // ---- pipelines:connect / pipelines:disconnect
  app.get('/pipelines/:pipeline/connection', async (request) => {
    const actor = await actorOf(deps, request);
    return connectionView(await connections.get(actor, param(request, 'pipeline')));
  });

  app.patch('/pipelines/:pipeline/connection', async (request) => {
    const actor = await actorOf(deps, request);
    return connectionView(await connections.connect(actor, param(request, 'pipeline'), body(request)));
  });

  app.delete('/pipelines/:pipeline/connection', async (request) => {
    const actor = await actorOf(deps, request);
    return connectionView(await connections.disconnect(actor, param(request, 'pipeline')));
  });

  // ---- auto-deploy rules and records
  app.get('/pipelines/:pipeline/auto-deploy-rules', async (request) => {
    const actor = await actorOf(deps, request);
    return rules.list(actor, param(request, 'pipeline'));
  });

  app.put('/pipelines/:pipeline/auto-deploy-rules/:stage', async (request) => {
    const actor = await actorOf(deps, request);
    return rules.set(actor, param(request, 'pipeline'), param(request, 'stage'), body(request));
  });

  app.delete('/pipelines/:pipeline/auto-deploy-rules/:stage', async (request) => {
    const actor = await actorOf(deps, request);
    return rules.remove(actor, param(request, 'pipeline'), param(request, 'stage'));
  });

  app.get('/pipelines/:pipeline/auto-deploys', async (request) => {
    const actor = await actorOf(deps, request);
    const pipeline = await deps.pipelines.resolve(actor, param(request, 'pipeline'));
    return (await autoDeploys.list(pipeline.id)).map(deployView);
  });

  // ---- Heroku CI test runs of the connected project
  app.get('/pipelines/:pipeline/test-runs', async (request) => {
    const actor = await actorOf(deps, request);
    const { project } = await connections.get(actor, param(request, 'pipeline'));
    return project ? (await testRuns.list(project.id)).map(testRunView) : [];
  });
}
