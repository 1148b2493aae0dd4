/**
 * Project CI settings as CiService sees them (its `extensions`): ref protection and project
 * variables when a pipeline is planned; per job attempt the variables of its environment
 * scope, the masked values, file variables, CI_JOB_TOKEN and SLIPWAY_API_URL; deployments
 * that follow their jobs; tokens revoked when their job ends.
 */
import { join } from 'node:path';
import { predefinedVariables } from '../ci/index.js';
import type { CiVariableRow, CiPipelineRow, ProjectRow } from '../store/schema.js';
import type { CiExtensions, JobRef, JobSetup, PipelineSetup } from './ci-extensions.js';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { CiVariableService } from './ci-variables.js';
import { ProtectedRefService } from './protected-refs.js';
import { JobTokenGitAccess, JobTokenService } from './job-tokens.js';
import { EnvironmentService, jobEnvironment, type JobEnvironment } from './environments.js';
import { prepareJobTools } from './job-tools.js';

export interface CiSettingsOptions {
  variables: CiVariableService;
  protectedRefs: ProtectedRefService;
  jobTokens: JobTokenService;
  environments: EnvironmentService;
  /** The API URL jobs call back to (SLIPWAY_API_URL). */
  apiUrl(): string;
  jobTools?: { path: string[]; binds: string[] };
}

/** A job token outlives the job's timeout by this much at most (it is revoked when the job ends). */
const TOKEN_GRACE_MS = 10 * 60_000;
const REMEMBERED_PIPELINES = 500;

/** The variables as a job sees them: raw values keep `$` literal, file variables become paths. */
function asVariables(rows: CiVariableRow[], fileDir?: string): { variables: Record<string, string>; files: Record<string, string>; masked: string[] } {
  const variables: Record<string, string> = {};
  const files: Record<string, string> = {};
  const masked: string[] = [];
  for (const row of rows) {
    if (row.masked) masked.push(row.value);
    if (row.variable_type === 'file' && fileDir) {
      const path = join(fileDir, row.key);
      files[path] = row.value;
      variables[row.key] = path.replace(/\$/g, '$$$$');
    } else {
      variables[row.key] = row.raw ? row.value.replace(/\$/g, '$$$$') : row.value;
    }
  }
  return { variables, files, masked };
}

export class CiSettings implements CiExtensions {
  readonly jobTools?: { path: string[]; binds: string[] };
  /** pipeline id → its ref was protected when it was created. */
  private readonly protection = new Map<string, boolean>();
  /** job id → its environment as its attempt started (for the deployment's URL). */
  private readonly environmentsByJob = new Map<string, JobEnvironment>();
  /** job id → the queue of its state updates (kept in order). */
  private readonly queues = new Map<string, Promise<void>>();

  constructor(private readonly o: CiSettingsOptions) {
    if (o.jobTools) this.jobTools = o.jobTools;
  }

  async pipelineSetup({ project, context }: Parameters<NonNullable<CiExtensions['pipelineSetup']>>[0]): Promise<PipelineSetup> {
    // Merge-request pipelines run on the MR's ref, which is never protected.
    const mr = context.source === 'merge_request_event' || context.mergeRequest !== undefined;
    const ref = context.tag ?? context.branch;
    const refProtected = !mr && ref !== undefined && (await this.o.protectedRefs.isProtected(project, context.tag !== undefined ? 'tag' : 'branch', ref));
    const rows = await this.o.variables.forJob(project.id, { refProtected });
    return { refProtected, variables: asVariables(rows.filter((r) => r.variable_type !== 'file')).variables };
  }

  async pipelineCreated({ project, pipeline, context, jobs }: Parameters<NonNullable<CiExtensions['pipelineCreated']>>[0]): Promise<void> {
    this.protection.set(pipeline.id, context.refProtected === true);
    if (this.protection.size > REMEMBERED_PIPELINES) this.protection.delete(this.protection.keys().next().value!);
    const known = { ...predefinedVariables(context), ...context.projectVariables };
    const withEnvironment = jobs.flatMap(({ row, job }) => {
      const env = jobEnvironment(job, known);
      return env ? [{ row, env }] : [];
    });
    await this.o.environments.pipelineCreated(project, pipeline, withEnvironment);
  }

  async jobStarting(input: JobRef & { attempt: number; timeoutMs: number; predefined: Record<string, string> }): Promise<JobSetup> {
    const { project, pipeline, row, job, predefined } = input;
    const refProtected = await this.refProtected(project, pipeline);
    const unscoped = await this.o.variables.forJob(project.id, { refProtected });
    const env = jobEnvironment(job, { ...predefined, ...asVariables(unscoped).variables });
    const rows = env ? await this.o.variables.forJob(project.id, { refProtected, environment: env.name }) : unscoped;
    if (env) this.environmentsByJob.set(row.id, env);
    const projectDir = predefined.CI_PROJECT_DIR;
    const { variables, files, masked } = asVariables(rows, projectDir ? `${projectDir}.tmp` : undefined);
    const setup: JobSetup = { projectVariables: variables, masked, ...(Object.keys(files).length ? { files } : {}) };
    const extra: Record<string, string> = { SLIPWAY_API_URL: this.o.apiUrl() };
    if (pipeline.user_id) {
      const token = await this.o.jobTokens.issue({ jobId: row.id, projectId: project.id, userId: pipeline.user_id, validForMs: input.timeoutMs + TOKEN_GRACE_MS });
      extra.CI_JOB_TOKEN = token;
      masked.push(token);
    }
    setup.predefined = extra;
    return setup;
  }

  jobState({ row, status }: JobRef & { status: string }): void {
    const final = ['success', 'failed', 'canceled', 'skipped'].includes(status);
    const previous = this.queues.get(row.id) ?? Promise.resolve();
    const next = previous
      .then(async () => {
        if (final) await this.o.jobTokens.revoke(row.id);
        await this.o.environments.jobState(row, status, this.environmentsByJob.get(row.id));
      })
      .catch((err) => console.error(`[ci] recording job ${row.name} (${status}) in its project settings failed:`, (err as Error).message))
      .finally(() => {
        if (final && this.queues.get(row.id) === next) {
          this.queues.delete(row.id);
          this.environmentsByJob.delete(row.id);
        }
      });
    this.queues.set(row.id, next);
  }

  async branchDeleted({ project, branch, userId, out }: Parameters<NonNullable<CiExtensions['branchDeleted']>>[0]): Promise<void> {
    for (const line of await this.o.environments.branchDeleted(project, branch, userId)) out(line);
  }

  private async refProtected(project: ProjectRow, pipeline: CiPipelineRow): Promise<boolean> {
    const known = this.protection.get(pipeline.id);
    if (known !== undefined) return known;
    if (pipeline.source === 'merge_request_event') return false;
    return this.o.protectedRefs.isProtected(project, pipeline.tag ? 'tag' : 'branch', pipeline.ref);
  }
}


/** The project CI settings services, built once by the composition root. */
export interface CiSettingsServices {
  variables: CiVariableService;
  protectedRefs: ProtectedRefService;
  jobTokens: JobTokenService;
  environments: EnvironmentService;
  /** What CiService calls (its `extensions`). */
  extensions: CiSettings;
  /** git over HTTP with a job token. */
  git: JobTokenGitAccess;
  /** After CiService.failInterrupted(): no token survives a restart; deployments catch up; auto-stop starts. */
  /** Starts the auto_stop_in timer (checked every `environmentCheckMs`). */
  start(environmentCheckMs?: number): Promise<void>;
  close(): void;
}

export function createCiSettings(input: {
  db: Kysely<Database>;
  dataDir: string;
  apiUrl(): string;
  defaultBranch(project: ProjectRow): Promise<string>;
  account(id: string): Promise<{ id: string; email: string } | null>;
}): CiSettingsServices {
  const variables = new CiVariableService(input.db);
  const protectedRefs = new ProtectedRefService(input.db, input.defaultBranch);
  const jobTokens = new JobTokenService(input.db);
  const environments = new EnvironmentService(input.db);
  const jobTools = prepareJobTools(input.dataDir);
  const extensions = new CiSettings({ variables, protectedRefs, jobTokens, environments, apiUrl: input.apiUrl, ...(jobTools ? { jobTools } : {}) });
  return {
    variables,
    protectedRefs,
    jobTokens,
    environments,
    extensions,
    git: new JobTokenGitAccess(jobTokens, input.account),
    async start(environmentCheckMs) {
      await jobTokens.revokeAll();
      await environments.syncWithJobs();
      environments.startAutoStop(environmentCheckMs);
    },
    close: () => environments.stop(),
  };
}
