// `cache:` as the runner does it: up to four caches per job, each with a key (a string with
// variables, or `key:files` + `prefix`), `paths`/`untracked`, `policy` (pull, push, pull-push),
// `when` and `fallback_keys` (then CACHE_FALLBACK_KEY). Caches are directories under the
// cache root, shared across jobs and across runs; they are restored before artifacts.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { PlannedJob } from '../plan/plan.js';
import { isHash } from '../types.js';
import { collectPaths, copyFiles } from './artifacts.js';
import type { JobResult } from './contract.js';
import { expandWith } from './variables.js';

// node:crypto only when a hash is needed: most runs never need one (see ../fast-hash.ts).
const crypto = () => process.getBuiltinModule('node:crypto');

export interface CacheSpec {
  key: string;
  fallbackKeys: string[];
  paths: string[];
  untracked: boolean;
  policy: 'pull' | 'push' | 'pull-push';
  when: 'on_success' | 'on_failure' | 'always';
}

/** The newest commit that changed each of `files` (for key:files); undefined if none did. */
export type LastCommits = (files: string[]) => Promise<string | undefined>;

export function gitLastCommits(root: string): LastCommits {
  const memo = new Map<string, Promise<string | undefined>>();
  return (files) => {
    const id = files.join('\0');
    let found = memo.get(id);
    if (!found) {
      found = Promise.all(
        files.map(
          (file) =>
            new Promise<string>((resolve) => {
              execFile('git', ['log', '-1', '--format=%H', '--', file], { cwd: root, encoding: 'utf8' }, (error, stdout) => resolve(error ? '' : stdout.trim()));
            }),
        ),
      ).then((shas) => (shas.some(Boolean) ? crypto().createHash('sha1').update(shas.join('\n')).digest('hex') : undefined));
      memo.set(id, found);
    }
    return found;
  };
}

/** The job's caches with variables expanded (GitLab allows at most four). */
export async function cacheSpecs(job: PlannedJob, variables: Record<string, string>, lastCommits: LastCommits): Promise<CacheSpec[]> {
  const raw = job.config.cache;
  const list = Array.isArray(raw) ? raw : raw === undefined || raw === null ? [] : [raw];
  const specs: CacheSpec[] = [];
  for (const c of list.slice(0, 4)) {
    if (!isHash(c)) continue;
    const strings = (v: unknown) => (v === undefined || v === null ? [] : [v].flat().map((x) => expandWith(String(x), variables)));
    let key = 'default';
    if (isHash(c.key)) {
      const files = strings(c.key.files);
      const sha = files.length ? await lastCommits(files) : undefined;
      const prefix = c.key.prefix === undefined || c.key.prefix === null ? undefined : expandWith(String(c.key.prefix), variables);
      key = prefix ? `${prefix}-${sha ?? 'default'}` : (sha ?? 'default');
    } else if (c.key !== undefined && c.key !== null) key = expandWith(String(c.key), variables) || 'default';
    const policy = expandWith(String(c.policy ?? 'pull-push'), variables);
    const fallbackKeys = strings(c.fallback_keys);
    if (variables.CACHE_FALLBACK_KEY) fallbackKeys.push(variables.CACHE_FALLBACK_KEY);
    specs.push({
      key,
      fallbackKeys,
      paths: strings(c.paths),
      untracked: c.untracked === true,
      policy: policy === 'pull' || policy === 'push' ? policy : 'pull-push',
      when: c.when === 'on_failure' || c.when === 'always' ? c.when : 'on_success',
    });
  }
  return specs;
}

/** A key as a directory name; GitLab forbids `/` in keys, and keys of only dots. */
const keyDir = (root: string, key: string) => join(root, encodeURIComponent(key).replace(/^\.+$/, (d) => '%2E'.repeat(d.length)));

/** Restores the first cache found (key, then fallback keys); returns the key used. */
export function restoreCache(root: string, spec: CacheSpec, workdir: string): string | undefined {
  if (spec.policy === 'push') return undefined;
  for (const key of [spec.key, ...spec.fallbackKeys]) {
    const dir = keyDir(root, key);
    if (!existsSync(dir)) continue;
    copyFiles(dir, workdir, listAll(dir));
    return key;
  }
  return undefined;
}

/** Saves the cache if its policy and `when` say so; returns the number of files, or undefined. */
export function saveCache(root: string, spec: CacheSpec, workdir: string, result: JobResult, tracked: ReadonlySet<string>): number | undefined {
  if (spec.policy === 'pull') return undefined;
  if (result.status === 'canceled' || result.failureReason === 'job_execution_timeout') return undefined;
  if (spec.when !== 'always' && spec.when !== (result.status === 'success' ? 'on_success' : 'on_failure')) return undefined;
  const files = collectPaths(workdir, spec.paths, [], spec.untracked ? tracked : undefined);
  if (files.length === 0) return 0;
  const tmp = join(root, `.tmp-${crypto().randomBytes(6).toString('hex')}`);
  copyFiles(workdir, tmp, files);
  const dir = keyDir(root, spec.key);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return files.length;
}

function listAll(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(prefix ? join(dir, prefix) : dir, { withFileTypes: true })) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...listAll(dir, path));
    else out.push(path);
  }
  return out;
}
