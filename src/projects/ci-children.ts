/**
 * Child pipelines in server mode. When a trigger job with `trigger:include` (a bridge) starts,
 * its child pipeline is planned from the parent's commit (or an earlier job's artifacts) as a
 * new top-level configuration, in the parent's context with the forwarded variables, recorded
 * as a pipeline of its own (source `parent_pipeline`, pointing at its parent and bridge) and
 * run by its own PipelineRunner. Without `strategy: depend` the bridge succeeds once the child
 * exists; with it, the bridge stays running and takes the child's final status (see
 * bridgeOutcome). A child that cannot be created fails the bridge, as on GitLab.
 */
import type { Kysely } from 'kysely';
import { directoryFiles, followsDownstream, readTrigger, type PlannedJob, type ProjectFileReader } from '../ci/index.js';
import { bridgeRefusal, dependentResult, forwardedVariables, planChild, type JobResult, type JobRunner } from '../ci/run/index.js';
import { newId, now } from '../core/ids.js';
import type { CiJobRow, CiPipelineRow, Database, ProjectRow } from '../store/schema.js';
import type { CiExtensions } from './ci-extensions.js';
import { fetchRemote, restoredContext } from './ci-context.js';
import { nextNumber, plannedRows, type ProjectLocks } from './ci-job-rows.js';
import { serialisePlan, type StoredPlan } from './ci-plan-store.js';

export interface ChildHost {
  db: Kysely<Database>;
  locks: ProjectLocks;
  extensions?: CiExtensions;
  repoDir(project: ProjectRow): string;
  pipelineUrl(project: ProjectRow, number: number): string;
  readProjectFile(repoDir: string, userId: string | null): ProjectFileReader;
  /** Hands a new pipeline to its runner. */
  start(pipeline: CiPipelineRow): Promise<void>;
}

export interface BridgeStart {
  project: ProjectRow;
  parent: CiPipelineRow;
  plan: StoredPlan;
  row: CiJobRow;
  job: PlannedJob;
  runner: JobRunner;
  log(line: string): void;
}

/** Creates the child pipeline of a starting bridge. Returns the bridge's result if it is decided now; undefined while it waits. */
export async function startBridge(host: ChildHost, s: BridgeStart): Promise<JobResult | undefined> {
  const trigger = readTrigger(s.job.config);
  if (!trigger) return { status: 'failed', failureReason: 'invalid_bridge_trigger', message: 'the job has no trigger' };
  const refused = bridgeRefusal(trigger, await depthOf(host.db, s.parent));
  if (refused || trigger.kind !== 'child') return refused;
  const repoDir = host.repoDir(s.project);
  const { root, files } = s.runner.tree;
  const context = restoredContext(s.plan.context, s.parent, repoDir, files);
  const setup = await host.extensions?.pipelineSetup?.({ project: s.project, context });
  if (setup) Object.assign(context, { refProtected: setup.refProtected, projectVariables: setup.variables });
  const { variables, dotenv } = await s.runner.bridgeVariables(s.job, s.row.run_when === 'manual');
  const forwarded = forwardedVariables({ job: s.job, config: s.plan.config, trigger, variables, pipelineVariables: context.variables, literalPipelineVariables: context.literalVariables, dotenv });
  const userId = s.row.user_id ?? s.parent.user_id;
  const outcome = await planChild(trigger, s.job, context, forwarded, {
    files: directoryFiles(root, async () => files),
    readArtifact: s.runner.readArtifact,
    readProjectFile: host.readProjectFile(repoDir, userId),
    fetchRemote,
  });
  if (!outcome.ok) {
    for (const line of outcome.errors) s.log(line);
    return outcome.result;
  }
  const { plan, config } = outcome.child;
  const child = await host.locks.run(s.project.id, async () => {
    const number = await nextNumber(host.db, 'ci_pipelines', s.project.id);
    const childContext = { ...outcome.child.context, pipelineIid: number };
    const stamp = now();
    const pipeline: CiPipelineRow = {
      ...s.parent,
      id: newId(),
      number,
      source: 'parent_pipeline',
      status: 'created',
      failure_reason: null,
      errors: '[]',
      user_id: userId,
      created_at: stamp,
      updated_at: stamp,
      started_at: null,
      finished_at: null,
      plan: serialisePlan(plan, config, childContext, s.plan.entry),
      auto_canceled_by: null,
      parent_pipeline_id: s.parent.id,
      bridge_job_id: s.row.id,
    };
    await host.db.insertInto('ci_pipelines').values(pipeline).execute();
    const jobs = plannedRows(plan.jobs, { projectId: s.project.id, pipelineId: pipeline.id, firstNumber: await nextNumber(host.db, 'ci_jobs', s.project.id) });
    if (jobs.length) await host.db.insertInto('ci_jobs').values(jobs).execute();
    await host.extensions
      ?.pipelineCreated?.({ project: s.project, pipeline, context: childContext, jobs: jobs.map((row, i) => ({ row, job: plan.jobs[i] })) })
      .catch((err) => console.error(`[ci] recording the environments of ${s.project.name}#${number} failed:`, (err as Error).message));
    return pipeline;
  });
  const depend = followsDownstream(trigger);
  s.log(`Created child pipeline #${child.number} (${plan.jobs.length} job${plan.jobs.length === 1 ? '' : 's'}): ${host.pipelineUrl(s.project, child.number)}`);
  if (depend) s.log('Waiting for it to finish (strategy: depend).');
  await host.start(child);
  return depend ? undefined : { status: 'success' };
}

/** A started bridge's result from its child pipeline (undefined: it still waits). */
export function bridgeOutcome(job: PlannedJob, child: CiPipelineRow | undefined): JobResult | undefined {
  if (!child) return { status: 'failed', failureReason: 'runner_system_failure', message: 'Slipway stopped before the child pipeline was created' };
  const trigger = readTrigger(job.config);
  if (!trigger || !followsDownstream(trigger)) return { status: 'success' };
  const result = dependentResult(child.status as Parameters<typeof dependentResult>[0]);
  return result?.status === 'waiting' ? undefined : result;
}

/** How many pipelines are above this one (0 for a pipeline a push or merge request made). */
async function depthOf(db: Kysely<Database>, pipeline: CiPipelineRow): Promise<number> {
  let depth = 0;
  for (let parent = pipeline.parent_pipeline_id; parent; depth++) {
    const row = await db.selectFrom('ci_pipelines').select('parent_pipeline_id').where('id', '=', parent).executeTakeFirst();
    parent = row?.parent_pipeline_id ?? null;
  }
  return depth;
}

/** The child pipelines of a pipeline, by the id of the bridge job that made each. */
export async function childrenByBridge(db: Kysely<Database>, pipelineId: string): Promise<Map<string, CiPipelineRow>> {
  const rows = await db.selectFrom('ci_pipelines').selectAll().where('parent_pipeline_id', '=', pipelineId).orderBy('number').execute();
  return new Map(rows.map((r) => [r.bridge_job_id ?? '', r]));
}

/** A child pipeline's parent pipeline and the trigger job that made it. */
export async function upstreamOf(db: Kysely<Database>, pipeline: CiPipelineRow): Promise<{ pipeline: CiPipelineRow; job: CiJobRow } | undefined> {
  if (!pipeline.parent_pipeline_id || !pipeline.bridge_job_id) return undefined;
  const parent = await db.selectFrom('ci_pipelines').selectAll().where('id', '=', pipeline.parent_pipeline_id).executeTakeFirst();
  const job = await db.selectFrom('ci_jobs').selectAll().where('id', '=', pipeline.bridge_job_id).executeTakeFirst();
  return parent && job ? { pipeline: parent, job } : undefined;
}
