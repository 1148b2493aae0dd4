// Turns the merged configuration into finished job definitions: `extends` (reverse deep
// merge, later parents win, the job wins, at most 11 levels, no loops), then `default:` and
// the deprecated top-level globals for keys the job leaves out, filtered by `inherit:default`.
import { deepMerge } from '../load/merge.js';
import { GLOBAL_KEYWORDS } from '../load/normalize.js';
import type { SourceMap } from '../load/source-map.js';
import { isHash, type CiError, type Hash, type SourceLocation } from '../types.js';

export const MAX_EXTENDS_DEPTH = 11;

const DEFAULTABLE = ['after_script', 'artifacts', 'before_script', 'cache', 'hooks', 'id_tokens', 'image', 'interruptible', 'retry', 'services', 'tags', 'timeout'];
const LEGACY_GLOBALS = ['image', 'services', 'cache', 'before_script', 'after_script'];

export interface JobDefinition {
  name: string;
  config: Hash;
  at: SourceLocation;
  /** The key location of each keyword, for precise errors. */
  keyAt: (key: string) => SourceLocation;
}

export interface ResolvedJobs {
  jobs: JobDefinition[];
  errors: CiError[];
}

export const isJobName = (name: string): boolean => !GLOBAL_KEYWORDS.has(name);
export const isHidden = (name: string): boolean => name.startsWith('.');

export function resolveJobs(config: Hash, sources: SourceMap, entryFile: string): ResolvedJobs {
  const errors: CiError[] = [];
  const resolved = new Map<string, { config: Hash; depth: number } | null>();
  const inProgress: string[] = [];
  const where = (name: string): SourceLocation => sources.keyOf(config, name) ?? { file: entryFile, line: 0 };

  // Returns the job with its parents merged in, and the extends depth below it.
  const extend = (name: string): { config: Hash; depth: number } | null => {
    if (resolved.has(name)) return resolved.get(name) ?? null;
    const own = config[name];
    if (!isHash(own)) return null;
    if (inProgress.includes(name)) return null; // reported by the caller that closes the loop
    const parents = own.extends === undefined || own.extends === null ? [] : Array.isArray(own.extends) ? own.extends : [own.extends];
    if (parents.length === 0) {
      const plain = { config: own, depth: 0 };
      resolved.set(name, plain);
      return plain;
    }
    inProgress.push(name);
    let merged: Hash = {};
    sources.record(merged, sources.of(own) ?? where(name));
    let depth = 0;
    let failed = false;
    const extendsAt = sources.keyOf(own, 'extends') ?? where(name);
    for (const parent of parents) {
      const parentName = String(parent);
      if (inProgress.includes(parentName)) {
        const loop = [...inProgress.slice(inProgress.indexOf(parentName)), parentName].join(' → ');
        errors.push({ ...extendsAt, message: `${name}: circular dependency detected in extends: ${loop}` });
        failed = true;
        continue;
      }
      if (!isHash(config[parentName])) {
        errors.push({ ...extendsAt, message: `${name}: unknown key in extends: "${parentName}" is not defined` });
        failed = true;
        continue;
      }
      const base = extend(parentName);
      if (!base) {
        failed = true;
        continue;
      }
      depth = Math.max(depth, base.depth + 1);
      merged = deepMerge(merged, base.config, sources);
    }
    inProgress.pop();
    if (!failed && depth > MAX_EXTENDS_DEPTH) {
      errors.push({ ...extendsAt, message: `${name}: extends nesting is too deep (${depth} levels; at most ${MAX_EXTENDS_DEPTH})` });
      failed = true;
    }
    const result = failed ? null : { config: withoutExtends(deepMerge(merged, own, sources), sources), depth };
    resolved.set(name, result);
    return result;
  };

  const defaults = isHash(config.default) ? config.default : {};
  const jobs: JobDefinition[] = [];
  for (const name of Object.keys(config)) {
    if (!isJobName(name)) continue;
    const result = extend(name);
    if (!result || isHidden(name)) continue;
    const job = applyDefaults(result.config, defaults, config, sources);
    jobs.push({ name, config: job, at: where(name), keyAt: (key) => sources.keyOf(job, key) ?? where(name) });
  }
  return { jobs, errors };
}

function withoutExtends(job: Hash, sources: SourceMap): Hash {
  const { extends: _drop, ...rest } = job;
  sources.record(rest, sources.of(job) ?? { file: '', line: 0 });
  for (const key of Object.keys(rest)) sources.copyKey(job, key, rest);
  return rest;
}

function applyDefaults(job: Hash, defaults: Hash, globals: Hash, sources: SourceMap): Hash {
  const inherit = isHash(job.inherit) ? job.inherit.default : undefined;
  const allowed = (key: string) => inherit === undefined || inherit === true || (Array.isArray(inherit) && inherit.includes(key));
  const result: Hash = { ...job };
  sources.record(result, sources.of(job) ?? { file: '', line: 0 });
  for (const key of Object.keys(job)) sources.copyKey(job, key, result);
  const defined = (key: string) => result[key] !== undefined && result[key] !== null;
  for (const key of DEFAULTABLE) {
    if (!defined(key) && defaults[key] !== undefined && allowed(key)) {
      result[key] = defaults[key];
      sources.copyKey(defaults, key, result);
    }
  }
  for (const key of LEGACY_GLOBALS) {
    if (!defined(key) && globals[key] !== undefined && allowed(key)) {
      result[key] = globals[key];
      sources.copyKey(globals, key, result);
    }
  }
  return result;
}
