// Checks the schema cannot express: stages that exist, `needs` and `dependencies` that name
// real jobs in the right stages, no `needs` cycles, keyword combinations GitLab refuses.
// Every check is linear in the number of jobs and needs.
import type { JobDefinition } from '../resolve/jobs.js';
import { isHash, type CiError, type Hash, type SourceLocation } from '../types.js';

export const DEFAULT_STAGES = ['build', 'test', 'deploy'];
const MAX_NEEDS = 50;
const MAX_JOB_NAME = 255;

/** Declared stages, nested lists flattened, with `.pre` first and `.post` last. */
export function stageList(config: Hash): string[] {
  const declared = Array.isArray(config.stages) ? config.stages.flat(10).map(String) : DEFAULT_STAGES;
  const middle = [...new Set(declared.filter((s) => s !== '.pre' && s !== '.post'))];
  return ['.pre', ...middle, '.post'];
}

export const jobStage = (job: Hash): string => (typeof job.stage === 'string' ? job.stage : 'test');

/** A `needs` entry in one shape. */
export interface NeedEntry {
  job: string;
  artifacts: boolean;
  optional: boolean;
  parallel?: unknown;
  /** Cross-project/pipeline needs are accepted but not planned. */
  external: boolean;
}

export function readNeeds(value: unknown): NeedEntry[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value.flatMap((entry): NeedEntry[] => {
    if (typeof entry === 'string') return [{ job: entry, artifacts: true, optional: false, external: false }];
    if (!isHash(entry) || typeof entry.job !== 'string') return [];
    const external = typeof entry.project === 'string' || typeof entry.pipeline === 'string';
    return [{ job: entry.job, artifacts: entry.artifacts !== false, optional: entry.optional === true, parallel: entry.parallel, external }];
  });
}

export function checkJobs(jobs: JobDefinition[], config: Hash): CiError[] {
  const errors: CiError[] = [];
  const fail = (at: SourceLocation, message: string) => errors.push({ ...at, message });
  const stages = stageList(config);
  const stageIndex = new Map(stages.map((s, i) => [s, i]));
  const byName = new Map(jobs.map((j) => [j.name, j]));

  for (const job of jobs) {
    const c = job.config;
    if (job.name.length > MAX_JOB_NAME) fail(job.at, `job name "${job.name.slice(0, 40)}…" is longer than ${MAX_JOB_NAME} characters`);
    if (c.script === undefined && c.run === undefined && c.trigger === undefined) {
      fail(job.at, `${job.name}: a job needs script (or run, or trigger); add script, or start its name with a dot to make it a template`);
    }
    if (c.trigger !== undefined && c.trigger !== null) checkBridge(job, fail);
    const stage = jobStage(c);
    if (!stageIndex.has(stage)) fail(job.keyAt('stage'), `${job.name}: stage "${stage}" is not declared in stages (${stages.join(', ')})`);
    if (c.when === 'never') fail(job.keyAt('when'), `${job.name}: when: never is only allowed inside rules`);
    if (c.when === 'delayed' && c.start_in === undefined && !Array.isArray(c.rules)) fail(job.keyAt('when'), `${job.name}: when: delayed needs start_in`);
    if (c.rules !== undefined && c.rules !== null) {
      const clash = ['only', 'except', 'start_in'].filter((k) => c[k] !== undefined && c[k] !== null);
      if (clash.length) fail(job.keyAt(clash[0]), `${job.name}: config key may not be used with rules: ${clash.join(', ')}`);
    }
    if (Array.isArray(c.rules) && c.rules.length === 0) fail(job.keyAt('rules'), `${job.name}: rules config can't be blank`);
    const needs = readNeeds(c.needs) ?? [];
    if (needs.length > MAX_NEEDS) fail(job.keyAt('needs'), `${job.name}: at most ${MAX_NEEDS} needs are allowed`);
    for (const need of needs) {
      if (need.external) continue;
      checkReference(job, need.job, 'needs', need.optional);
    }
    if (Array.isArray(c.rules)) {
      for (const rule of c.rules) if (isHash(rule)) for (const need of readNeeds(rule.needs) ?? []) if (!need.external) checkReference(job, need.job, 'needs', need.optional);
    }
    if (Array.isArray(c.dependencies)) for (const dep of c.dependencies) checkReference(job, String(dep), 'dependencies', false);
  }

  function checkReference(job: JobDefinition, target: string, key: 'needs' | 'dependencies', optional: boolean) {
    const other = byName.get(baseName(target, byName));
    const at = job.keyAt(key);
    if (!other) {
      if (!optional) fail(at, `${job.name}: ${key} "${target}", but no job named "${target}" is defined`);
      return;
    }
    const own = stageIndex.get(jobStage(job.config)) ?? 0;
    const theirs = stageIndex.get(jobStage(other.config)) ?? 0;
    if (key === 'needs' && theirs > own) fail(at, `${job.name}: needs "${target}", which is in a later stage (${jobStage(other.config)})`);
    if (key === 'dependencies' && theirs > own) fail(at, `${job.name}: dependencies "${target}", which is not in an earlier stage`);
  }

  errors.push(...findNeedsCycles(jobs, byName));
  return errors;
}

/** GitLab's bridge entry: no script, and `when` without `delayed`. */
function checkBridge(job: JobDefinition, fail: (at: SourceLocation, message: string) => void): void {
  const c = job.config;
  if (c.script !== undefined) fail(job.keyAt('script'), `${job.name}: a trigger job runs no script: remove script, or make the trigger a job of its own`);
  if (typeof c.when === 'string' && c.when !== 'never' && !BRIDGE_WHEN.includes(c.when)) fail(job.keyAt('when'), `${job.name}: when of a trigger job should be one of: ${BRIDGE_WHEN.join(', ')}`);
}

const BRIDGE_WHEN = ['on_success', 'on_failure', 'always', 'manual'];

/** `build: [a, b]` or `build 1/2` refers to the job `build`. */
export function baseName(name: string, known: Map<string, unknown>): string {
  if (known.has(name)) return name;
  const parallel = /^(.*) \d+\/\d+$/.exec(name);
  if (parallel && known.has(parallel[1])) return parallel[1];
  const matrix = /^(.*): \[.*\]$/.exec(name);
  if (matrix && known.has(matrix[1])) return matrix[1];
  return name;
}

/** Depth-first search with three colours: linear, and reports each cycle once. */
function findNeedsCycles(jobs: JobDefinition[], byName: Map<string, JobDefinition>): CiError[] {
  const errors: CiError[] = [];
  const state = new Map<string, 1 | 2>();
  const edges = (job: JobDefinition): string[] =>
    (readNeeds(job.config.needs) ?? []).filter((n) => !n.external).map((n) => baseName(n.job, byName)).filter((n) => byName.has(n));
  for (const start of jobs) {
    if (state.has(start.name)) continue;
    // Iterative DFS: deep needs chains must not overflow the stack.
    const stack: Array<{ name: string; next: string[] }> = [{ name: start.name, next: edges(start) }];
    state.set(start.name, 1);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const target = top.next.pop();
      if (target === undefined) {
        state.set(top.name, 2);
        stack.pop();
        continue;
      }
      const seen = state.get(target);
      if (seen === 1) {
        const path = stack.map((f) => f.name);
        const loop = [...path.slice(path.indexOf(target)), target].join(' → ');
        const job = byName.get(top.name) as JobDefinition;
        errors.push({ ...job.keyAt('needs'), message: `${top.name}: circular dependency detected in needs: ${loop}` });
      } else if (seen === undefined) {
        state.set(target, 1);
        stack.push({ name: target, next: edges(byName.get(target) as JobDefinition) });
      }
    }
  }
  return errors;
}
