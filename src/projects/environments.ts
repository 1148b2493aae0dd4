/**
 * Environments and deployments of a project. Every job with `environment:` makes (or finds)
 * the environment when its pipeline is created, and records a deployment whose status follows
 * the job's (created → running → success/failed/canceled/skipped). A successful `start`
 * deployment makes the environment available with its URL, tier, `on_stop` and `auto_stop_in`
 * (timer from then); a successful `stop` job stops it; `prepare`/`access` restart the timer.
 * When the timer runs out, the on_stop job of the deployment that started the environment is
 * played (the environment stops when that job succeeds), or, without one, it is stopped at once.
 * Deleting a branch does the same to every environment whose last deployment came from it, and
 * so does merging or closing a merge request to those deployed by its merge request pipelines.
 */
import type { Kysely } from 'kysely';
import type { PlannedJob } from '../ci/index.js';
import { isHash } from '../ci/index.js';
import { environmentVariables } from '../ci/run/variables.js';
import { parseDuration } from '../ci/run/duration.js';
import type { CiDeploymentRow, CiEnvironmentRow, CiJobRow, CiPipelineRow, Database, ProjectRow } from '../store/schema.js';
import { newId, now } from '../core/ids.js';
import { notFound } from '../core/errors.js';

/** Plays a job on behalf of a user (the environment's stop job). */
export type StopJobRunner = (job: CiJobRow, userId: string) => Promise<unknown>;

const FINAL = new Set(['success', 'failed', 'canceled', 'skipped']);
/** A stop job in one of these is already on its way: playing it again would fail. */
const UNDER_WAY = ['pending', 'waiting_for_resource', 'running'];

/** A job's environment, expanded as GitLab does (YAML, project and predefined variables). */
export interface JobEnvironment {
  name: string;
  slug: string;
  action: string;
  tier: string;
  url?: string;
  onStop?: string;
  autoStopIn?: string;
}

export function jobEnvironment(job: PlannedJob, variables: Record<string, string>): JobEnvironment | undefined {
  const vars = environmentVariables(job, (n) => variables[n]);
  if (!vars) return undefined;
  const spec = isHash(job.config.environment) ? job.config.environment : {};
  return {
    name: vars.CI_ENVIRONMENT_NAME,
    slug: vars.CI_ENVIRONMENT_SLUG,
    action: vars.CI_ENVIRONMENT_ACTION,
    tier: vars.CI_ENVIRONMENT_TIER,
    ...(vars.CI_ENVIRONMENT_URL !== undefined ? { url: vars.CI_ENVIRONMENT_URL } : {}),
    ...(typeof spec.on_stop === 'string' ? { onStop: spec.on_stop } : {}),
    ...(typeof spec.auto_stop_in === 'string' ? { autoStopIn: spec.auto_stop_in } : {}),
  };
}

/** A deployment with its job, pipeline and environment, as shown. */
export interface DeploymentView extends CiDeploymentRow {
  job_number: number;
  job_name: string;
  job_status: string;
  pipeline_number: number;
  pipeline_source: string;
  pipeline_merge_request_id: string | null;
  environment_name: string;
  environment_slug: string;
  environment_url: string | null;
}

/** Deployment status for a job status. */
const deploymentStatus = (jobStatus: string): string => (jobStatus === 'running' || FINAL.has(jobStatus) ? jobStatus : 'created');

export class EnvironmentService {
  private timer: NodeJS.Timeout | undefined;
  private stopJobs: StopJobRunner | undefined;

  constructor(private readonly db: Kysely<Database>) {}

  /** How an on_stop job is played (CiService, plugged in by the composition root). */
  setStopJobRunner(runner: StopJobRunner): void {
    this.stopJobs = runner;
  }

  /** Records the environments and deployments of a new pipeline's environment jobs. */
  async pipelineCreated(project: ProjectRow, pipeline: CiPipelineRow, jobs: Array<{ row: CiJobRow; env: JobEnvironment }>): Promise<void> {
    if (jobs.length === 0) return;
    const max = await this.db.selectFrom('ci_deployments').select((eb) => eb.fn.max('number').as('max')).where('project_id', '=', project.id).executeTakeFirst();
    let number = Number(max?.max ?? 0);
    for (const { row, env } of jobs) {
      const environment = await this.ensure(project, env);
      const stamp = now();
      const deployment: CiDeploymentRow = {
        id: newId(),
        project_id: project.id,
        environment_id: environment.id,
        number: ++number,
        job_id: row.id,
        pipeline_id: pipeline.id,
        ref: pipeline.ref,
        tag: pipeline.tag,
        sha: pipeline.sha,
        user_id: pipeline.user_id,
        action: env.action,
        tier: env.tier,
        url: env.url ?? null,
        status: 'created',
        created_at: stamp,
        updated_at: stamp,
        finished_at: null,
      };
      await this.db.insertInto('ci_deployments').values(deployment).execute();
    }
  }

  /** The deployment follows its job; a finished one updates its environment. */
  async jobState(job: CiJobRow, jobStatus: string, env?: JobEnvironment): Promise<void> {
    const deployment = await this.db.selectFrom('ci_deployments').selectAll().where('job_id', '=', job.id).executeTakeFirst();
    if (!deployment) return;
    const status = deploymentStatus(jobStatus);
    const stamp = now();
    const patch: Partial<CiDeploymentRow> = { status, updated_at: stamp, finished_at: FINAL.has(status) ? stamp : null };
    if (env?.url !== undefined) patch.url = env.url;
    await this.db.updateTable('ci_deployments').set(patch).where('id', '=', deployment.id).execute();
    if (status !== 'success') return;
    const environment = await this.db.selectFrom('ci_environments').selectAll().where('id', '=', deployment.environment_id).executeTakeFirstOrThrow();
    const url = patch.url ?? deployment.url;
    const envPatch: Partial<CiEnvironmentRow> = { updated_at: stamp };
    if (deployment.action === 'start') {
      Object.assign(envPatch, {
        state: 'available',
        tier: deployment.tier,
        ...(url ? { external_url: url } : {}),
        on_stop: env?.onStop ?? null,
        auto_stop_in: env?.autoStopIn ?? null,
        auto_stop_at: stopAt(env?.autoStopIn),
      });
    } else if (deployment.action === 'stop') {
      Object.assign(envPatch, { state: 'stopped', auto_stop_at: null });
    } else if (deployment.action === 'prepare' || deployment.action === 'access') {
      if (environment.auto_stop_at) envPatch.auto_stop_at = stopAt(environment.auto_stop_in ?? undefined);
    }
    await this.db.updateTable('ci_environments').set(envPatch).where('id', '=', environment.id).execute();
  }

  /** After a restart: deployments of jobs that ended while Slipway was down follow them. */
  async syncWithJobs(): Promise<void> {
    const stale = await this.db
      .selectFrom('ci_deployments')
      .innerJoin('ci_jobs', 'ci_jobs.id', 'ci_deployments.job_id')
      .select(['ci_deployments.id', 'ci_jobs.status as job_status'])
      .where('ci_deployments.status', 'in', ['created', 'running'])
      .where('ci_jobs.status', 'in', [...FINAL])
      .execute();
    for (const d of stale) {
      await this.db.updateTable('ci_deployments').set({ status: d.job_status, updated_at: now(), finished_at: now() }).where('id', '=', d.id).execute();
    }
  }

  async environments(project: ProjectRow): Promise<CiEnvironmentRow[]> {
    return this.db.selectFrom('ci_environments').selectAll().where('project_id', '=', project.id).orderBy('name').execute();
  }

  async environment(project: ProjectRow, name: string): Promise<CiEnvironmentRow> {
    const row = await this.db.selectFrom('ci_environments').selectAll().where('project_id', '=', project.id).where('name', '=', name).executeTakeFirst();
    if (!row) throw notFound('environment', `The project ${project.name} has no environment ${name} (see: slipway ci:environments -p ${project.name}).`);
    return row;
  }

  /** Newest first; optionally of one environment. */
  async deployments(project: ProjectRow, environment?: CiEnvironmentRow): Promise<DeploymentView[]> {
    let query = this.views(project);
    if (environment) query = query.where('ci_deployments.environment_id', '=', environment.id);
    return query.orderBy('ci_deployments.number', 'desc').execute();
  }

  async deployment(project: ProjectRow, number: number): Promise<DeploymentView> {
    const row = await this.views(project).where('ci_deployments.number', '=', number).executeTakeFirst();
    if (!row) throw notFound('deployment', "Couldn't find that deployment.");
    return row;
  }

  private views(project: ProjectRow) {
    return this.db
      .selectFrom('ci_deployments')
      .innerJoin('ci_jobs', 'ci_jobs.id', 'ci_deployments.job_id')
      .innerJoin('ci_pipelines', 'ci_pipelines.id', 'ci_deployments.pipeline_id')
      .innerJoin('ci_environments', 'ci_environments.id', 'ci_deployments.environment_id')
      .selectAll('ci_deployments')
      .select([
        'ci_jobs.number as job_number',
        'ci_jobs.name as job_name',
        'ci_jobs.status as job_status',
        'ci_pipelines.number as pipeline_number',
        'ci_pipelines.source as pipeline_source',
        'ci_pipelines.merge_request_id as pipeline_merge_request_id',
        'ci_environments.name as environment_name',
        'ci_environments.slug as environment_slug',
        'ci_environments.external_url as environment_url',
      ])
      .where('ci_deployments.project_id', '=', project.id);
  }

  /** The newest successful `start` deployment of each environment. */
  async lastDeployments(project: ProjectRow): Promise<Map<string, DeploymentView>> {
    const rows = await this.views(project).where('ci_deployments.action', '=', 'start').where('ci_deployments.status', '=', 'success').orderBy('ci_deployments.number').execute();
    return new Map(rows.map((r) => [r.environment_id, r]));
  }

  /** Stops environments whose auto_stop_in ran out (checked every `everyMs`). */
  startAutoStop(everyMs = 30_000): void {
    this.timer = setInterval(() => void this.autoStop().catch((err) => console.error('[ci] auto-stopping environments failed:', err)), everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async autoStop(): Promise<number> {
    const due = await this.db.selectFrom('ci_environments').selectAll().where('state', '=', 'available').where('auto_stop_at', '<=', now()).execute();
    for (const environment of due) await this.stopEnvironment(environment);
    return due.length;
  }

  /**
   * A branch was deleted: every available environment whose last deployment (newest successful
   * `start`) came from it is stopped, by its on_stop job played as `userId` when it has one (as
   * GitLab does). Returns a line per environment for the pusher.
   */
  async branchDeleted(project: ProjectRow, branch: string, userId: string): Promise<string[]> {
    return this.stopDeployedBy(project, userId, (d) => d.tag !== 1 && d.ref === branch);
  }

  /**
   * A merge request was merged or closed: the same for every environment whose last deployment
   * came from one of its merge request pipelines. Returns a line per environment for the caller.
   */
  async mergeRequestClosed(project: ProjectRow, mergeRequestId: string, userId: string): Promise<string[]> {
    return this.stopDeployedBy(project, userId, (d) => d.pipeline_source === 'merge_request_event' && d.pipeline_merge_request_id === mergeRequestId);
  }

  private async stopDeployedBy(project: ProjectRow, userId: string, deployedBy: (last: DeploymentView) => boolean): Promise<string[]> {
    const last = await this.lastDeployments(project);
    const lines: string[] = [];
    for (const environment of await this.environments(project)) {
      const deployment = last.get(environment.id);
      if (environment.state !== 'available' || !deployment || !deployedBy(deployment)) continue;
      const stopping = await this.stopEnvironment(environment, userId);
      // Already being stopped (a merge that stopped it, then removed its branch): nothing new to say.
      if (stopping?.underWay) continue;
      lines.push(stopping ? `Stopping environment ${environment.name}: playing ${stopping.job.name}.` : `Stopped environment ${environment.name}.`);
    }
    return lines;
  }

  /**
   * Plays the environment's on_stop job (the job succeeding stops it), else stops it now. Returns
   * the stop job, `underWay` when it was already running from an earlier stop.
   */
  private async stopEnvironment(environment: CiEnvironmentRow, userId?: string): Promise<{ job: CiJobRow; underWay: boolean } | undefined> {
    const stamp = now();
    // The timer fires once: the stop job (if any) decides the rest.
    await this.db.updateTable('ci_environments').set({ auto_stop_at: null, updated_at: stamp }).where('id', '=', environment.id).execute();
    const stopping = environment.on_stop && this.stopJobs ? await this.playStopJob(environment, environment.on_stop, userId) : undefined;
    if (!stopping) await this.db.updateTable('ci_environments').set({ state: 'stopped', updated_at: stamp }).where('id', '=', environment.id).execute();
    return stopping;
  }

  /**
   * Plays `on_stop` in the pipeline of the environment's last successful start, as `userId` (else
   * the user of that deployment); undefined if there is none to play. A stop job that is already
   * under way is left to finish.
   */
  private async playStopJob(environment: CiEnvironmentRow, jobName: string, userId?: string): Promise<{ job: CiJobRow; underWay: boolean } | undefined> {
    const last = await this.db
      .selectFrom('ci_deployments')
      .select(['pipeline_id', 'user_id'])
      .where('environment_id', '=', environment.id)
      .where('action', '=', 'start')
      .where('status', '=', 'success')
      .orderBy('number', 'desc')
      .executeTakeFirst();
    if (!last) return undefined;
    const job = await this.db
      .selectFrom('ci_jobs')
      .selectAll()
      .where('pipeline_id', '=', last.pipeline_id)
      .where('name', '=', jobName)
      .where('retried', '=', 0)
      .orderBy('number', 'desc')
      .executeTakeFirst();
    if (job && UNDER_WAY.includes(job.status)) return { job, underWay: true };
    const user = userId ?? last.user_id;
    if (!job || !user) return undefined;
    try {
      await this.stopJobs!(job, user);
      return { job, underWay: false };
    } catch (err) {
      console.error(`[ci] playing ${jobName} to stop environment ${environment.name} failed: ${(err as Error).message}`);
      return undefined;
    }
  }

  private async ensure(project: ProjectRow, env: JobEnvironment): Promise<CiEnvironmentRow> {
    const found = await this.db.selectFrom('ci_environments').selectAll().where('project_id', '=', project.id).where('name', '=', env.name).executeTakeFirst();
    if (found) return found;
    const stamp = now();
    const row: CiEnvironmentRow = {
      id: newId(),
      project_id: project.id,
      name: env.name,
      slug: env.slug,
      external_url: env.url ?? null,
      tier: env.tier,
      state: 'available',
      on_stop: null,
      auto_stop_in: null,
      auto_stop_at: null,
      created_at: stamp,
      updated_at: stamp,
    };
    await this.db.insertInto('ci_environments').values(row).execute();
    return row;
  }
}

/** `auto_stop_in` → when, as ISO text (`never`, or something unreadable: never). */
function stopAt(autoStopIn: string | undefined): string | null {
  if (!autoStopIn || autoStopIn.trim().toLowerCase() === 'never') return null;
  const seconds = parseDuration(autoStopIn);
  return seconds === undefined || !Number.isFinite(seconds) ? null : new Date(Date.now() + seconds * 1000).toISOString();
}
