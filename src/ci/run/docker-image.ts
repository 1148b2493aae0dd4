// `image:` and `services:` as the Docker executor needs them: names normalised (no tag means
// `latest`), GitLab's service host names, and an image made available per `pull_policy`.
import { isHash } from '../types.js';
import { expandString } from '../variables/expand.js';
import { DockerApiError, readProgress, type DockerApi } from './docker-api.js';

export type PullPolicy = 'always' | 'if-not-present' | 'never';

export interface ImageSpec {
  /** As written, variables expanded. */
  name: string;
  /** With `:latest` added when there is neither tag nor digest. */
  ref: string;
  entrypoint?: string[];
  user?: string;
  platform?: string;
  pullPolicy: PullPolicy[];
}

export interface ServiceSpec extends ImageSpec {
  /** Network aliases: `alias` (space- or comma-separated) plus the ones derived from the name. */
  aliases: string[];
  command?: string[];
  variables: Record<string, string>;
}

/** Runner-side default: use what the engine has, pull only what it lacks (see docs/ci.md). */
const DEFAULT_PULL_POLICY: PullPolicy[] = ['if-not-present'];

const strings = (value: unknown): string[] | undefined => (value === undefined || value === null ? undefined : [value].flat().map(String));

/** `name` or `name:tag` or `name@digest`; a registry port (`host:5000/x`) is no tag. */
export function withTag(name: string): string {
  if (name.includes('@')) return name;
  const last = name.slice(name.lastIndexOf('/') + 1);
  return last.includes(':') ? name : `${name}:latest`;
}

/** GitLab's host names for a service image: `tutum/wordpress:1` → tutum__wordpress, tutum-wordpress. */
export function serviceAliases(name: string): string[] {
  let base = name.split('@')[0];
  const slash = base.lastIndexOf('/');
  const colon = base.lastIndexOf(':');
  if (colon > slash) base = base.slice(0, colon);
  // The registry's port is dropped: `registry.io:5000/a/b` → registry.io/a/b.
  base = base.replace(/^([^/]*?):\d+(?=\/)/, '$1');
  return [...new Set([base.replaceAll('/', '__'), base.replaceAll('/', '-')])];
}

function pullPolicies(value: unknown): PullPolicy[] {
  const list = strings(value) ?? [];
  const valid = list.filter((p): p is PullPolicy => p === 'always' || p === 'if-not-present' || p === 'never');
  return valid.length ? valid : DEFAULT_PULL_POLICY;
}

function imageFields(value: unknown, vars: Record<string, string>): ImageSpec | undefined {
  const hash = isHash(value) ? value : undefined;
  const raw = hash ? hash.name : value;
  if (typeof raw !== 'string' || raw.trim() === '') return undefined;
  const name = expandString(raw.trim(), (n) => vars[n]);
  const docker = hash && isHash(hash.docker) ? hash.docker : undefined;
  const spec: ImageSpec = { name, ref: withTag(name), pullPolicy: pullPolicies(hash?.pull_policy) };
  const entrypoint = strings(hash?.entrypoint);
  if (entrypoint) spec.entrypoint = entrypoint;
  if (typeof docker?.user === 'string') spec.user = expandString(docker.user, (n) => vars[n]);
  if (typeof docker?.platform === 'string') spec.platform = docker.platform;
  return spec;
}

/** The job's `image:` (after `default:`), or undefined when it has none. */
export function jobImage(image: unknown, vars: Record<string, string>): ImageSpec | undefined {
  return imageFields(image, vars);
}

/** The job's `services:`, in order; entries without a name are dropped. */
export function jobServices(services: unknown, vars: Record<string, string>): ServiceSpec[] {
  const out: ServiceSpec[] = [];
  for (const entry of [services ?? []].flat()) {
    const image = imageFields(entry, vars);
    if (!image) continue;
    const hash = isHash(entry) ? entry : undefined;
    // `alias` takes no variables (GitLab); several may be given, separated by spaces or commas.
    const own = typeof hash?.alias === 'string' ? hash.alias.split(/[\s,]+/).filter(Boolean) : [];
    const variables: Record<string, string> = {};
    if (isHash(hash?.variables)) for (const [k, v] of Object.entries(hash.variables)) variables[k] = expandString(String(isHash(v) ? (v.value ?? '') : (v ?? '')), (n) => vars[n]);
    const spec: ServiceSpec = { ...image, aliases: [...new Set([...own, ...serviceAliases(image.name)])], variables };
    const command = strings(hash?.command);
    if (command) spec.command = command;
    out.push(spec);
  }
  return out;
}

export class ImageUnavailableError extends Error {}

interface ImageInspect {
  Id: string;
  Config?: { ExposedPorts?: Record<string, unknown> | null };
}

/** Makes the image available as its pull policies say; returns what the engine knows of it. */
export async function ensureImage(api: DockerApi, spec: ImageSpec, signal: AbortSignal, log: (line: string) => void): Promise<ImageInspect> {
  const inspect = () => api.call<ImageInspect>('GET', `/images/${encodeURIComponent(spec.ref)}/json`).catch((e: unknown) => {
    if (e instanceof DockerApiError && e.status === 404) return undefined;
    throw e;
  });
  let pullError: string | undefined;
  for (const policy of spec.pullPolicy) {
    if (policy !== 'always') {
      const found = await inspect();
      if (found) return found;
      if (policy === 'never') continue;
    }
    log(`Pulling docker image ${spec.ref} ...`);
    try {
      const platform = spec.platform ? `&platform=${encodeURIComponent(spec.platform)}` : '';
      await readProgress(await api.open('POST', `/images/create?fromImage=${encodeURIComponent(spec.ref)}${platform}`, { signal }));
      const found = await inspect();
      if (found) return found;
    } catch (e) {
      if (signal.aborted) throw e;
      pullError = (e as Error).message;
      log(`WARNING: Failed to pull image ${spec.ref}: ${pullError}`);
    }
  }
  throw new ImageUnavailableError(`image ${spec.ref} is not available on this Docker engine; docker pull or docker import it${pullError ? ` (pull failed: ${pullError})` : ''}`);
}

/** The TCP ports an image declares with EXPOSE (waited for before the job starts). */
export function exposedTcpPorts(image: ImageInspect): number[] {
  return Object.keys(image.Config?.ExposedPorts ?? {})
    .map((p) => /^(\d+)(?:\/tcp)?$/.exec(p))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]));
}
