// Job artifacts: which files a job keeps (`paths` globs, `exclude`, `untracked`), when it keeps
// them (`when`, never after a timeout; reports always), which jobs receive them (`needs`,
// `dependencies`, else every earlier stage), and `reports:dotenv` variables for later jobs.
import { copyFileSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, type Stats } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { globToRegExp, hasGlobMagic } from '../glob.js';
import type { PlannedJob } from '../plan/plan.js';
import { isHash } from '../types.js';
import type { JobResult } from './contract.js';
import { parseDuration } from './duration.js';
import { expandWith } from './variables.js';

/** Files relative to `root` (posix) matched by GitLab-style path patterns. */
export function collectPaths(root: string, patterns: readonly string[], exclude: readonly string[] = [], untrackedOf?: ReadonlySet<string>): string[] {
  const found = new Set<string>();
  let all: Array<{ path: string; dir: boolean }> | undefined;
  const everything = () => (all ??= walk(root, ''));
  const addUnder = (dir: string) => {
    for (const entry of everything()) if (!entry.dir && entry.path.startsWith(`${dir}/`)) found.add(entry.path);
  };
  for (const raw of patterns) {
    const pattern = clean(raw);
    if (pattern === undefined) continue;
    if (pattern === '') {
      for (const entry of everything()) if (!entry.dir) found.add(entry.path);
    } else if (!hasGlobMagic(pattern)) {
      const stat = statOf(join(root, pattern));
      if (!stat) continue;
      if (stat.isDirectory()) addUnder(pattern);
      else found.add(pattern);
    } else {
      const re = globToRegExp(pattern);
      for (const entry of everything()) {
        if (!re.test(entry.path)) continue;
        if (entry.dir) addUnder(entry.path);
        else found.add(entry.path);
      }
    }
  }
  if (untrackedOf) for (const entry of everything()) if (!entry.dir && !untrackedOf.has(entry.path)) found.add(entry.path);
  if (exclude.length === 0) return [...found].sort();
  const excluded = exclude.map(clean).filter((p): p is string => p !== undefined && p !== '').map((p) => globToRegExp(p));
  return [...found]
    .filter((path) => {
      const prefixes = path.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
      return !excluded.some((re) => prefixes.some((p) => re.test(p)));
    })
    .sort();
}

/** A pattern inside the project: `./a/` → `a`; anything reaching outside → undefined. */
function clean(pattern: string): string | undefined {
  const p = normalize(pattern.replace(/^\.\/+/, '')).replace(/\/+$/, '');
  if (p === '.' || p === '') return '';
  if (p.startsWith('/') || p === '..' || p.startsWith('../')) return undefined;
  return p;
}

function statOf(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

function walk(root: string, prefix: string): Array<{ path: string; dir: boolean }> {
  const out: Array<{ path: string; dir: boolean }> = [];
  let entries;
  try {
    entries = readdirSync(prefix ? join(root, prefix) : root, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const entry of entries) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      out.push({ path, dir: true });
      out.push(...walk(root, path));
    } else out.push({ path, dir: false });
  }
  return out;
}

/** Copies files (relative to `from`) to the same paths under `to`, symlinks as symlinks. */
export function copyFiles(from: string, to: string, files: readonly string[]): void {
  const made = new Set<string>();
  for (const file of files) {
    const target = join(to, file);
    const dir = dirname(target);
    if (!made.has(dir)) {
      mkdirSync(dir, { recursive: true });
      made.add(dir);
    }
    const source = join(from, file);
    const stat = statOf(source);
    if (!stat) continue;
    if (stat.isSymbolicLink()) {
      try {
        symlinkSync(readlinkSync(source), target);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    } else if (stat.isFile()) copyFileSync(source, target, 1 /* COPYFILE_FICLONE */);
  }
}

export interface ArtifactSpec {
  paths: string[];
  exclude: string[];
  untracked: boolean;
  when: 'on_success' | 'on_failure' | 'always';
  expireIn?: string;
  name?: string;
  dotenv: string[];
}

/** The job's `artifacts:` with variables expanded, or undefined when it has none. */
export function artifactSpec(job: PlannedJob, variables: Record<string, string>): ArtifactSpec | undefined {
  const a = job.config.artifacts;
  if (!isHash(a)) return undefined;
  const list = (v: unknown) => (v === undefined || v === null ? [] : [v].flat().map((x) => expandWith(String(x), variables)));
  const reports = isHash(a.reports) ? a.reports : {};
  const when = a.when === 'on_failure' || a.when === 'always' ? a.when : 'on_success';
  return {
    paths: list(a.paths),
    exclude: list(a.exclude),
    untracked: a.untracked === true,
    when,
    ...(a.expire_in !== undefined && a.expire_in !== null ? { expireIn: String(a.expire_in) } : {}),
    ...(a.name !== undefined && a.name !== null ? { name: expandWith(String(a.name), variables) } : {}),
    dotenv: list(reports.dotenv),
  };
}

/** Whether `artifacts:when` keeps the files for this result (never after a timeout). */
export function keepsArtifacts(spec: ArtifactSpec, result: JobResult): boolean {
  if (result.failureReason === 'job_execution_timeout' || result.status === 'canceled') return false;
  if (spec.when === 'always') return true;
  return spec.when === (result.status === 'success' ? 'on_success' : 'on_failure');
}

/** The artifacts one job left, as later jobs see them. */
export interface StoredArtifacts {
  job: string;
  stageIndex: number;
  /** Where the files are (same relative paths as in the job's directory). */
  dir: string;
  files: string[];
  /** From reports:dotenv. */
  dotenv: Record<string, string>;
  expireIn?: string;
  /** Absolute expiry (ms since epoch), undefined for never/unset. */
  expiresAt?: number;
}

export function expiryOf(expireIn: string | undefined, now: number): number | undefined {
  if (expireIn === undefined) return undefined;
  const seconds = parseDuration(expireIn);
  return seconds === undefined || seconds === Infinity ? undefined : now + seconds * 1000;
}

/**
 * The jobs a job downloads artifacts (and dotenv variables) from, in pipeline order: its
 * `needs` with `artifacts: true` when it has needs, else its `dependencies` when listed, else
 * every job of an earlier stage.
 */
export function artifactSources(job: PlannedJob, stored: readonly StoredArtifacts[]): StoredArtifacts[] {
  if (job.needs !== null) {
    const wanted = new Set(job.needs.filter((n) => n.artifacts).map((n) => n.job));
    const deps = job.dependencies ? new Set(job.dependencies) : undefined;
    return stored.filter((s) => wanted.has(s.job) && (!deps || deps.has(s.job)));
  }
  if (job.dependencies !== null) {
    const deps = new Set(job.dependencies);
    return stored.filter((s) => deps.has(s.job));
  }
  return stored.filter((s) => s.stageIndex < job.stageIndex);
}

const DOTENV_LINE = /^([A-Za-z0-9_]+)=(.*)$/;

/** Parses a dotenv report as GitLab does: KEY=value lines, quotes kept, spaces trimmed. */
export function parseDotenv(text: string): { variables: Record<string, string>; problems: string[] } {
  const variables: Record<string, string> = {};
  const problems: string[] = [];
  if (Buffer.byteLength(text) > 5 * 1024) problems.push('the dotenv report is larger than 5 KB');
  const lines = text.replace(/\r\n/g, '\n').replace(/\n+$/, '').split('\n');
  lines.forEach((line, i) => {
    const m = DOTENV_LINE.exec(line.trim());
    if (!m) {
      problems.push(`line ${i + 1} is not KEY=value`);
      return;
    }
    variables[m[1]] = m[2].trim();
  });
  if (Object.keys(variables).length > 20) problems.push('the dotenv report has more than 20 variables');
  return { variables, problems };
}

export function readDotenv(workdir: string, files: readonly string[]): { variables: Record<string, string>; problems: string[] } {
  const variables: Record<string, string> = {};
  const problems: string[] = [];
  for (const file of files) {
    const path = clean(file);
    if (path === undefined || path === '') continue;
    let text: string;
    try {
      text = readFileSync(join(workdir, path), 'utf8');
    } catch {
      problems.push(`${file}: no such file`);
      continue;
    }
    const parsed = parseDotenv(text);
    Object.assign(variables, parsed.variables);
    problems.push(...parsed.problems.map((p) => `${file}: ${p}`));
  }
  return { variables, problems };
}
