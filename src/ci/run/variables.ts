// A job's final variable set, with GitLab's precedence (lowest first): predefined, YAML
// (global defaults, job, rules:variables, matrix), environment, dotenv reports, project, then
// pipeline variables. Values are expanded GitLab-side (recursive, unknown names kept); a
// reference that names no CI variable falls back to the runner's base environment (so
// `PATH: "$PATH:/opt/bin"` works). Masking replaces masked values with `[MASKED]` in output.
import type { PlannedJob } from '../plan/plan.js';
import { isHash, type Hash } from '../types.js';
import { expandString, readVariables } from '../variables/expand.js';

// node:crypto only when a hash is needed: most runs never need one (see ../fast-hash.ts).
const crypto = () => process.getBuiltinModule('node:crypto');

export interface JobVariableSources {
  job: PlannedJob;
  /** predefinedVariables(context) plus the job's own (CI_JOB_ID, CI_PROJECT_DIR…). */
  predefined: Record<string, string>;
  /** The pipeline configuration, to know which YAML variables say `expand: false`. */
  config?: Hash;
  dotenv?: Record<string, string>;
  projectVariables?: Record<string, string>;
  pipelineVariables?: Record<string, string>;
  /** Pipeline variables not to expand (see PipelineContext.literalVariables). */
  literalPipelineVariables?: readonly string[];
  /** The runner's environment, used only for names no CI variable defines (PATH, HOME…). */
  base?: Record<string, string>;
}

interface Entry {
  value: string;
  expand: boolean;
}

/** Names the YAML declares with `expand: false` (globally, or in the job). */
export function literalNames(job: PlannedJob, config: Hash | undefined): Set<string> {
  const names = new Set<string>();
  for (const source of [config?.variables, job.config.variables]) {
    for (const [name, declared] of Object.entries(readVariables(source))) {
      if (!declared.expand) names.add(name);
      else names.delete(name);
    }
  }
  return names;
}

export function jobVariables(sources: JobVariableSources): Record<string, string> {
  const entries = new Map<string, Entry>();
  const put = (vars: Record<string, string> | undefined, expand: boolean | ((name: string) => boolean)) => {
    if (!vars) return;
    for (const [name, value] of Object.entries(vars)) entries.set(name, { value, expand: typeof expand === 'boolean' ? expand : expand(name) });
  };
  const literal = literalNames(sources.job, sources.config);
  put(sources.predefined, false);
  put(sources.job.variables, (name) => !literal.has(name));
  put(environmentVariables(sources.job, (name) => entries.get(name)?.value), false);
  put(sources.dotenv, false);
  put(sources.projectVariables, true);
  const literalPipeline = new Set(sources.literalPipelineVariables ?? []);
  put(sources.pipelineVariables, (name) => !literalPipeline.has(name));
  return expandEntries(entries, sources.base ?? {});
}

function expandEntries(entries: Map<string, Entry>, base: Record<string, string>): Record<string, string> {
  const done = new Map<string, string>();
  const active = new Set<string>();
  const resolve = (name: string): string | undefined => {
    const entry = entries.get(name);
    if (!entry) return undefined;
    const cached = done.get(name);
    if (cached !== undefined) return cached;
    if (!entry.expand || active.has(name)) return entry.value;
    active.add(name);
    const value = expandString(entry.value, (n) => (n === name ? base[n] : (resolve(n) ?? base[n])));
    active.delete(name);
    done.set(name, value);
    return value;
  };
  const result: Record<string, string> = {};
  for (const name of entries.keys()) result[name] = resolve(name) ?? '';
  return result;
}

/** Expands `$VAR`/`${VAR}` in a keyword value (cache key, artifact paths, resource_group…). */
export function expandWith(text: string, variables: Record<string, string>): string {
  return expandString(text, (n) => variables[n]);
}

// ---- environment ------------------------------------------------------------------------

/** `CI_ENVIRONMENT_*` for a job with `environment:`, absent otherwise (as GitLab). */
export function environmentVariables(job: PlannedJob, lookup: (name: string) => string | undefined): Record<string, string> | undefined {
  const env = job.config.environment;
  if (env === undefined || env === null) return undefined;
  const spec = isHash(env) ? env : { name: env };
  if (spec.name === undefined) return undefined;
  const expand = (v: unknown) => expandString(String(v), (n) => job.variables[n] ?? lookup(n));
  const name = expand(spec.name);
  const out: Record<string, string> = {
    CI_ENVIRONMENT_NAME: name,
    CI_ENVIRONMENT_SLUG: environmentSlug(name),
    CI_ENVIRONMENT_ACTION: typeof spec.action === 'string' ? spec.action : 'start',
    CI_ENVIRONMENT_TIER: typeof spec.deployment_tier === 'string' ? spec.deployment_tier : deploymentTier(name),
  };
  if (spec.url !== undefined && spec.url !== null) out.CI_ENVIRONMENT_URL = expand(spec.url);
  return out;
}

/** GitLab's Gitlab::Slug::Environment. */
export function environmentSlug(name: string): string {
  let slug = name.toLowerCase().replace(/[^a-z0-9]/g, '-');
  if (!/^[a-z]/.test(slug)) slug = `env-${slug}`;
  slug = slug.replace(/-+/g, '-');
  if (slug.length > 24 || slug !== name) {
    slug = slug.slice(0, 17);
    if (!slug.endsWith('-')) slug += '-';
    const digest = BigInt(`0x${crypto().createHash('sha256').update(name).digest('hex')}`).toString(36);
    return slug + digest.slice(-6);
  }
  return slug.replace(/-$/, '');
}

function deploymentTier(name: string): string {
  const n = name.toLowerCase();
  if (/(^|[^a-z])(prod|production|live)/.test(n)) return 'production';
  if (/(^|[^a-z])(stag|staging|model|demo)/.test(n)) return 'staging';
  if (/(^|[^a-z])(test|tst|int|ac(ce|)pt|qa|qc|control|quality)/.test(n)) return 'testing';
  if (/(^|[^a-z])(dev|review|trunk)/.test(n)) return 'development';
  return 'other';
}

// ---- masking ------------------------------------------------------------------------------

/** GitLab refuses masked values shorter than 8 characters. */
export const MIN_MASKED_LENGTH = 8;

/**
 * Replaces masked values in a stream of output, line by line, so a value split across two
 * chunks is still caught (a masked value cannot contain a newline).
 */
export class LineMasker {
  private partial = '';
  private readonly values: string[];

  constructor(values: readonly string[], private readonly emit: (text: string) => void) {
    this.values = [...new Set(values.filter((v) => v.length > 0 && !v.includes('\n')))].sort((a, b) => b.length - a.length);
  }

  write(chunk: string): void {
    const text = this.partial + chunk;
    const end = text.lastIndexOf('\n');
    if (end < 0) {
      this.partial = text;
      // A very long line without a newline is flushed as it is (the tail is kept back so a
      // masked value at the boundary can still be found).
      if (this.partial.length > 64 * 1024) this.flushPrefix();
      return;
    }
    this.partial = text.slice(end + 1);
    this.emit(this.mask(text.slice(0, end + 1)));
  }

  /** Emits what is left, ending it with a newline. */
  end(): void {
    if (this.partial) this.emit(`${this.mask(this.partial)}\n`);
    this.partial = '';
  }

  mask(text: string): string {
    if (this.values.length === 0) return text;
    let out = text;
    for (const value of this.values) if (out.includes(value)) out = out.split(value).join('[MASKED]');
    return out;
  }

  private flushPrefix(): void {
    const keep = Math.max(0, ...this.values.map((v) => v.length - 1));
    const cut = this.partial.length - keep;
    const masked = this.mask(this.partial);
    if (masked !== this.partial) {
      this.emit(masked);
      this.partial = '';
      return;
    }
    this.emit(this.partial.slice(0, cut));
    this.partial = this.partial.slice(cut);
  }
}
