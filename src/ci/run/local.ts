// The local-mode driver behind `slipway ci run`: takes a planned pipeline, gives each job
// attempt a fresh checkout, its caches and artifacts, its final variables, runs it on the
// shell executor, and keeps what it leaves (artifacts, dotenv variables, caches). The
// scheduler decides the order. The server's pipeline runner uses the same job attempts
// (createJobRunner) with its own order (progress.ts) and storage (an ArtifactStore).
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Plan, PlannedJob } from '../plan/plan.js';
import { predefinedVariables, slugify } from '../variables/predefined.js';
import { expandString } from '../variables/expand.js';
import { artifactSources, artifactSpec, collectPaths, copyFiles, expiryOf, keepsArtifacts, readDotenv, type StoredArtifacts } from './artifacts.js';
import { cacheSpecs, gitLastCommits, restoreCache, saveCache } from './cache.js';
import type { JobResult } from './contract.js';
import { parseDuration } from './duration.js';
import { Scheduler, type RunAttempt } from './scheduler.js';
import { SlotPool } from './slot-pool.js';
import { localBridges } from './local-downstream.js';
import type { JobPreparation, JobRunner, LocalRunOptions, LocalRunResult } from './local-options.js';
import { isBridge } from '../plan/trigger.js';
import { bwrapWorks, ShellExecutor } from './shell-executor.js';
import { containerRouter, usesContainers } from './docker-select.js';
import { jobVariables } from './variables.js';
import { checkout, sourceTree, type SourceTree } from './workspace.js';
import { fastHash } from '../fast-hash.js';

export { loadPipelineCached } from './config-cache.js';
export type { ArtifactStore, DownstreamInfo, DownstreamReporting, JobPreparation, JobRunner, LocalRunOptions, LocalRunResult } from './local-options.js';

export const DEFAULT_TIMEOUT_SECONDS = 3600;
export const AFTER_SCRIPT_TIMEOUT_SECONDS = 300;

/** Where Slipway keeps local CI state that outlives a run (caches, the pipeline counter). */
export function ciStateDir(projectDir: string): string {
  const base = process.env.XDG_CACHE_HOME || join(process.env.HOME || tmpdir(), '.cache');
  const id = fastHash(projectDir).slice(0, 16);
  return join(base, 'slipway', 'ci', id);
}

/** The named jobs (by full or base name), everything they need and depend on, in plan order. */
export function selectJobs(plan: Plan, names: readonly string[]): { jobs: PlannedJob[]; unknown: string[] } {
  if (names.length === 0) return { jobs: plan.jobs, unknown: [] };
  const byName = new Map(plan.jobs.map((j) => [j.name, j]));
  const keep = new Set<string>();
  const unknown: string[] = [];
  const stack: string[] = [];
  for (const name of names) {
    const matches = plan.jobs.filter((j) => j.name === name || j.baseName === name);
    if (matches.length === 0) unknown.push(name);
    for (const j of matches) stack.push(j.name);
  }
  while (stack.length) {
    const name = stack.pop()!;
    if (keep.has(name)) continue;
    keep.add(name);
    const job = byName.get(name);
    if (!job) continue;
    for (const need of job.needs ?? []) stack.push(need.job);
    for (const dep of job.dependencies ?? []) stack.push(dep);
  }
  return { jobs: plan.jobs.filter((j) => keep.has(j.name)), unknown };
}

export class UnknownJobError extends Error {}

export async function runLocalPipeline(options: LocalRunOptions): Promise<LocalRunResult> {
  const { plan } = options;
  const selected = selectJobs(plan, options.only ?? []);
  if (selected.unknown.length) throw new UnknownJobError(`No job named ${selected.unknown.map((n) => JSON.stringify(n)).join(', ')} in this pipeline.`);
  const manual = new Set([...(options.manual ?? []), ...selected.jobs.filter((j) => options.only?.some((n) => n === j.name || n === j.baseName)).map((j) => j.name)]);
  // --manual may name jobs of child pipelines, which exist only once their trigger job runs.
  const namesChildJobs = options.parentRun !== undefined || plan.jobs.some((j) => isBridge(j.config));
  for (const name of options.manual ?? []) {
    if (!namesChildJobs && !plan.jobs.some((j) => j.name === name || j.baseName === name)) throw new UnknownJobError(`--manual ${JSON.stringify(name)}: no such job in this pipeline.`);
    for (const j of plan.jobs) if (j.baseName === name) manual.add(j.name);
  }
  const runner = await createJobRunner(options, selected.jobs);
  const slots = options.parentRun?.slots ?? new SlotPool(Math.max(1, Math.floor(options.concurrency ?? 1)));
  const bridges = localBridges(options, runner, slots, runLocalPipeline);
  const runAttempt: RunAttempt = (job, context) => (isBridge(job.config) ? bridges.runAttempt(job, context) : runner.runAttempt(job, context));
  const scheduler = new Scheduler({ jobs: selected.jobs, runAttempt, slots, manual, hooks: options.hooks, signal: options.signal, resourceGroup: runner.resourceGroup, notRun: bridges.notRun });
  try {
    const result = await scheduler.run();
    await bridges.settled();
    return { ...result, runDir: runner.runDir, executor: runner.executorName(), artifacts: runner.artifacts, children: bridges.children };
  } finally {
    await runner.close();
  }
}

/** Prepares a run (sandbox, source tree, caches, predefined variables) and returns its job attempts. */
export async function createJobRunner(options: LocalRunOptions, jobs: readonly PlannedJob[]): Promise<JobRunner> {
  const { context } = options;
  const stateDir = options.stateDir ?? ciStateDir(options.projectDir);
  const cacheRoot = join(stateDir, 'cache');
  mkdirSync(cacheRoot, { recursive: true });
  const runDir = options.workDir ?? mkdtempSync(join(tmpdir(), 'slipway-ci-'));
  mkdirSync(runDir, { recursive: true });
  const buildsDir = join(runDir, 'builds');
  const artifactsDir = join(runDir, 'artifacts');

  const sandbox = options.sandbox === 'off' ? false : options.sandbox === 'on' ? true : await bwrapWorks();
  if (options.sandbox === 'on' && !(await bwrapWorks())) throw new Error('bubblewrap (/usr/bin/bwrap) does not work here; run with --no-sandbox');
  const executor = options.executor ?? new ShellExecutor({ sandbox, ...(options.jobTools ? { tools: options.jobTools } : {}) });
  const routeContainers = containerRouter({ shellForImages: options.shellForImages, projectVariables: context.projectVariables, pipelineVariables: context.variables });
  const executorsUsed = new Set<string>();
  const basePath = [...(options.jobTools?.path ?? []), process.env.PATH ?? ''].filter(Boolean).join(':');
  const tree: SourceTree = options.tree ?? (await sourceTree(options.projectDir, options.files));
  const tracked = new Set(tree.files);
  const lastCommits = gitLastCommits(options.projectDir);

  const pipelineIid = options.ids?.pipelineIid ?? nextPipelineIid(stateDir);
  const pipelineId = options.ids?.pipelineId ?? pipelineIid;
  const createdAt = options.ids?.createdAt ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const predefined: Record<string, string> = {
    ...predefinedVariables({ ...context, pipelineIid }),
    CI_PIPELINE_ID: String(pipelineId),
    CI_PIPELINE_CREATED_AT: createdAt,
    CI_CONFIG_PATH: options.entry ?? '.gitlab-ci.yml',
    CI_BUILDS_DIR: buildsDir,
    CI_RUNNER_DESCRIPTION: options.runnerDescription ?? 'slipway ci run',
    CI_RUNNER_TAGS: '[]',
    CI_RUNNER_EXECUTABLE_ARCH: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
    CI_SERVER_NAME: 'Slipway',
    CI_DISPOSABLE_ENVIRONMENT: 'true',
  };
  predefined.CI_PIPELINE_URL = options.ids?.pipelineUrl ?? `${predefined.CI_PROJECT_URL}/-/pipelines/${pipelineId}`;

  const stored: StoredArtifacts[] = [];
  const storedByJob = new Map<string, StoredArtifacts>();
  let jobCounter = 0;
  const index = new Map(jobs.map((j, i) => [j.name, i + 1]));
  const staticVars = (job: PlannedJob) => ({ ...predefined, ...jobPredefined(job), ...job.variables, ...context.projectVariables, ...context.variables });

  // A finished job's directory is renamed away at once (a retry reuses the path) and removed
  // in the background while the next jobs run.
  const removals: Promise<void>[] = [];
  let discarded = 0;
  const discard = (dir: string) => {
    const trash = join(runDir, `trash-${++discarded}`);
    try {
      renameSync(dir, trash);
    } catch {
      return rmSync(dir, { recursive: true, force: true });
    }
    removals.push(rm(trash, { recursive: true, force: true }).catch(() => undefined));
  };

  const runAttempt: JobRunner['runAttempt'] = async (job, attemptContext) => {
    const out = (text: string) => options.onOutput?.(job, text);
    const fail = (result: JobResult): JobResult => {
      out(`ERROR: Job failed: ${result.message ?? result.failureReason}\n`);
      return result;
    };
    // Jobs with image/services: the Docker executor, the shell when opted in, else a clear failure.
    let jobExecutor = executor;
    let containerPaths: Record<string, string> = {};
    if (usesContainers(job.config)) {
      const route = await routeContainers(job.config, predefined.CI_PROJECT_PATH);
      if (route.kind === 'fail') return fail({ status: 'failed', failureReason: route.failureReason, message: route.message });
      if (route.kind === 'shell') out(`WARNING: running on the shell executor although the job uses image/services (--shell / SLIPWAY_CI_SHELL_FOR_IMAGES)\n`);
      else [jobExecutor, containerPaths] = [route.executor, route.paths];
    }
    const assigned = options.ids?.job(job);
    const jobId = assigned?.id ?? ++jobCounter + pipelineId * 1000;
    const workdir = join(buildsDir, `${index.get(job.name)}-${slugify(job.name) || 'job'}`);
    const sources = artifactSources(job, options.artifactStore ? await options.artifactStore.list() : stored);
    const dotenv: Record<string, string> = {};
    for (const s of sources) Object.assign(dotenv, s.dotenv);
    const timeoutSeconds = parseDuration(job.config.timeout) ?? DEFAULT_TIMEOUT_SECONDS;
    const jobPredefinedVars: Record<string, string> = {
      ...predefined,
      ...jobPredefined(job),
      CI_JOB_ID: String(jobId),
      CI_JOB_URL: assigned?.url ?? `${predefined.CI_PROJECT_URL}/-/jobs/${jobId}`,
      CI_JOB_STARTED_AT: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      CI_JOB_TIMEOUT: String(Math.round(timeoutSeconds)),
      CI_PROJECT_DIR: workdir,
      ...(attemptContext.record.played ? { CI_JOB_MANUAL: 'true' } : {}),
    };
    let prepared: JobPreparation | undefined;
    try {
      prepared = await options.prepareJob?.(job, { attempt: attemptContext.attempt, timeoutMs: timeoutSeconds * 1000, predefined: jobPredefinedVars });
    } catch (e) {
      return fail({ status: 'failed', failureReason: 'runner_system_failure', message: `could not prepare the job's variables: ${(e as Error).message}` });
    }
    const variables = jobVariables({
      job,
      config: options.config,
      predefined: { ...jobPredefinedVars, ...prepared?.predefined, ...containerPaths },
      dotenv,
      projectVariables: prepared?.projectVariables ?? context.projectVariables,
      pipelineVariables: context.variables,
      literalPipelineVariables: context.literalVariables,
      base: { PATH: basePath, HOME: process.env.HOME ?? '' },
    });
    const strategy = variables.GIT_STRATEGY;
    try {
      await checkout(tree, workdir, strategy === 'none' || strategy === 'empty');
    } catch (e) {
      return fail({ status: 'failed', failureReason: 'runner_system_failure', message: `could not prepare the job directory: ${(e as Error).message}` });
    }
    const caches = await cacheSpecs(job, variables, lastCommits);
    for (const cache of caches) {
      const used = restoreCache(cacheRoot, cache, workdir);
      if (cache.policy !== 'push') out(used ? `Restored cache ${used}\n` : `No cache found for ${cache.key}\n`);
    }
    const now = Date.now();
    for (const s of sources) {
      if (s.expiresAt !== undefined && s.expiresAt < now) return fail({ status: 'failed', failureReason: 'unmet_prerequisites', message: `the artifacts of ${s.job} have expired` });
      copyFiles(s.dir, workdir, s.files);
    }
    let fileDirs: string[];
    try {
      fileDirs = writeJobFiles(prepared?.files);
    } catch (e) {
      return fail({ status: 'failed', failureReason: 'runner_system_failure', message: `could not write the job's file variables: ${(e as Error).message}` });
    }
    const list = (v: unknown) => (v === undefined || v === null ? [] : [v].flat().map(String));
    const afterSeconds = parseDuration(variables.RUNNER_AFTER_SCRIPT_TIMEOUT) ?? AFTER_SCRIPT_TIMEOUT_SECONDS;
    executorsUsed.add(jobExecutor.name);
    out(`Using the ${jobExecutor.name} executor\n`);
    const result = await jobExecutor.run({
      job,
      attempt: attemptContext.attempt,
      beforeScript: list(job.config.before_script),
      script: list(job.config.script),
      afterScript: list(job.config.after_script),
      workdir,
      variables,
      masked: [...(options.masked ?? []), ...(prepared?.masked ?? [])],
      timeoutMs: timeoutSeconds * 1000,
      afterScriptTimeoutMs: afterSeconds * 1000,
      onOutput: out,
      signal: attemptContext.signal,
    });
    for (const dir of fileDirs) rmSync(dir, { recursive: true, force: true });
    if (result.status === 'failed') fail(result);

    const spec = artifactSpec(job, variables);
    if (spec) {
      const keep = keepsArtifacts(spec, result);
      const files = keep ? collectPaths(workdir, spec.paths, spec.exclude, spec.untracked ? tracked : undefined) : [];
      const reports = result.status !== 'canceled' && spec.dotenv.length ? readDotenv(workdir, spec.dotenv) : { variables: {}, problems: [] };
      for (const problem of reports.problems) out(`WARNING: dotenv report ${problem}\n`);
      if (keep && spec.paths.length + Number(spec.untracked) > 0 && files.length === 0) out(`WARNING: ${spec.paths.join(', ')}: no matching files\n`);
      if (files.length || Object.keys(reports.variables).length) {
        const dir = options.artifactStore?.dir(job) ?? join(artifactsDir, String(index.get(job.name)));
        rmSync(dir, { recursive: true, force: true });
        copyFiles(workdir, dir, files);
        const entry: StoredArtifacts = { job: job.name, stageIndex: job.stageIndex, dir, files, dotenv: reports.variables, ...(spec.expireIn !== undefined ? { expireIn: spec.expireIn } : {}) };
        const expiresAt = expiryOf(spec.expireIn, Date.now());
        if (expiresAt !== undefined) entry.expiresAt = expiresAt;
        const previous = storedByJob.get(job.name);
        if (options.artifactStore) await options.artifactStore.save(job, entry);
        else if (previous) stored.splice(stored.indexOf(previous), 1, entry);
        else stored.push(entry);
        storedByJob.set(job.name, entry);
        if (files.length) out(`Uploaded ${files.length} artifact file${files.length === 1 ? '' : 's'}${spec.expireIn ? ` (expire in ${spec.expireIn})` : ''}\n`);
      }
    }
    for (const cache of caches) {
      const saved = saveCache(cacheRoot, cache, workdir, result, tracked);
      if (saved !== undefined) out(saved ? `Saved cache ${cache.key} (${saved} file${saved === 1 ? '' : 's'})\n` : `WARNING: cache ${cache.key}: no matching files\n`);
    }
    if (!options.keep) discard(workdir);
    return result;
  };

  const bridgeVariables: JobRunner['bridgeVariables'] = async (job, played) => {
    const dotenv: Record<string, string> = {};
    for (const s of artifactSources(job, options.artifactStore ? await options.artifactStore.list() : stored)) Object.assign(dotenv, s.dotenv);
    const assigned = options.ids?.job(job);
    const jobId = assigned?.id ?? ++jobCounter + pipelineId * 1000;
    const own = { CI_JOB_ID: String(jobId), CI_JOB_URL: assigned?.url ?? `${predefined.CI_PROJECT_URL}/-/jobs/${jobId}`, CI_JOB_STARTED_AT: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'), ...(played ? { CI_JOB_MANUAL: 'true' } : {}) };
    const variables = jobVariables({ job, config: options.config, predefined: { ...predefined, ...jobPredefined(job), ...own }, dotenv, projectVariables: context.projectVariables, pipelineVariables: context.variables, literalPipelineVariables: context.literalVariables });
    return { variables, dotenv };
  };
  // trigger:include:artifact reads from the newest attempt of the job that left the file.
  const readArtifact: JobRunner['readArtifact'] = async (jobName, path) => {
    const all = options.artifactStore ? await options.artifactStore.list() : stored;
    const entry = [...all].reverse().find((s) => s.job === jobName);
    if (!entry) throw new Error(`job ${jobName} left no artifacts in this pipeline`);
    return entry.files.includes(path) ? readFileSync(join(entry.dir, path), 'utf8') : undefined;
  };

  const resourceGroup = (job: PlannedJob) => {
    const group = job.config.resource_group;
    if (typeof group !== 'string' || group === '') return undefined;
    const vars = staticVars(job);
    return expandString(group, (n) => vars[n]);
  };
  const close = async () => {
    await Promise.all(removals);
    if (!options.keep) rmSync(runDir, { recursive: true, force: true });
  };
  return { runDir, tree, runAttempt, bridgeVariables, readArtifact, resourceGroup, artifacts: stored, executorName: () => [...executorsUsed].join(' + ') || executor.name, close };
}

/** Writes file variables (mode 0600); returns the directories made for them. */
function writeJobFiles(files: Record<string, string> | undefined): string[] {
  const dirs = new Set<string>();
  for (const [path, text] of Object.entries(files ?? {})) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(path, text, { mode: 0o600 });
    dirs.add(dirname(path));
  }
  return [...dirs];
}

function jobPredefined(job: PlannedJob): Record<string, string> {
  const v: Record<string, string> = {
    CI_JOB_NAME: job.name,
    CI_JOB_NAME_SLUG: slugify(job.name),
    CI_JOB_GROUP_NAME: job.baseName,
    CI_JOB_STAGE: job.stage,
    CI_NODE_TOTAL: String(job.nodeTotal),
  };
  if (job.nodeIndex !== undefined) v.CI_NODE_INDEX = String(job.nodeIndex);
  return v;
}

/** CI_PIPELINE_IID: one more than the last local run of this project. */
function nextPipelineIid(stateDir: string): number {
  const file = join(stateDir, 'pipeline-iid');
  let last = 0;
  try {
    last = Number(readFileSync(file, 'utf8')) || 0;
  } catch {
    // first run
  }
  const next = last + 1;
  try {
    writeFileSync(file, String(next));
  } catch {
    // read-only state: keep counting from 1
  }
  return next;
}
