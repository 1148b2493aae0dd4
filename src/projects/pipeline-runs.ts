/**
 * Running a pipeline by hand, as GitLab's "Run pipeline" button and `POST /projects/:id/pipeline`
 * do: the current commit of a branch or tag, with pipeline variables (the highest precedence)
 * and inputs for the pipeline file's `spec:inputs` header. Everything else is a push pipeline's
 * path through CiService.createPipeline.
 */
import type { Account } from '../auth/accounts.js';
import type { PipelineSource } from '../ci/index.js';
import { PlatformError, invalidParams } from '../core/errors.js';
import type { CiPipelineRow, ProjectRow } from '../store/schema.js';
import type { CiService } from './ci.js';
import { defaultBranch, git } from './repository.js';

export interface PipelineRunRequest {
  ref?: unknown;
  /** `[{key, value}]` (GitLab's shape) or `{KEY: value}`. */
  variables?: unknown;
  /** `{name: value}`; text values are read as the input's declared type. */
  inputs?: unknown;
  /** `api` (default) or `web` (the "Run pipeline" button), for rules on CI_PIPELINE_SOURCE. */
  source?: unknown;
}

const SOURCES: PipelineSource[] = ['api', 'web'];

/** `trigger` is set by the trigger-token endpoint, never taken from a request. */
export async function runPipeline(ci: CiService, project: ProjectRow, actor: Account, request: PipelineRunRequest, trigger = false): Promise<{ pipeline: CiPipelineRow; messages: string[] }> {
  const repoDir = ci.repoDirOf(project);
  const source = trigger ? 'trigger' : (request.source ?? 'api');
  if (!trigger && !SOURCES.includes(source as PipelineSource)) throw invalidParams(`source must be api or web, not ${JSON.stringify(source)}.`);
  const variables = readVariables(request.variables);
  const inputs = readInputs(request.inputs);
  const ref = await refName(repoDir, request.ref);
  const { sha, tag } = await resolveRef(project, repoDir, ref);

  const messages: string[] = [];
  const pipeline = await ci.createPipeline({
    project,
    repoDir,
    revision: sha,
    refName: ref,
    tag,
    source: source as PipelineSource,
    ...(Object.keys(variables).length ? { variables } : {}),
    ...(inputs ? { inputs } : {}),
    saveOnErrors: false,
    userId: actor.id,
    userEmail: actor.email,
    out: (line) => messages.push(line),
  });
  // As GitLab's API: no pipeline (no CI file, rules that make none, an invalid file or input) is an error, with the reason.
  if (!pipeline) throw new PlatformError(400, 'pipeline_not_created', messages.join('\n') || `No pipeline was created for ${ref}.`);
  return { pipeline, messages };
}

/** A ref named in a request: the default branch when none is given. */
export async function refName(repoDir: string, raw: unknown): Promise<string> {
  const ref = raw === undefined || raw === null || raw === '' ? await defaultBranch(repoDir).catch(() => 'main') : raw;
  if (typeof ref !== 'string' || !/^[^\s~^:?*[\\]+$/.test(ref) || ref.startsWith('-') || ref.includes('..')) {
    throw invalidParams(`ref must be the name of a branch or a tag, not ${JSON.stringify(ref)}.`);
  }
  return ref;
}

/** The commit a branch or tag name points at now; a name that is both, or neither, is an error. */
export async function resolveRef(project: ProjectRow, repoDir: string, ref: string): Promise<{ sha: string; tag: boolean }> {
  const [branchSha, tagSha] = await Promise.all([commitOf(repoDir, `refs/heads/${ref}`), commitOf(repoDir, `refs/tags/${ref}`)]);
  if (branchSha && tagSha) throw invalidParams(`${ref} is both a branch and a tag: rename one of them (GitLab refuses an ambiguous ref too).`);
  const sha = branchSha ?? tagSha;
  if (!sha) throw new PlatformError(400, 'ref_not_found', `${project.name} has no branch or tag named ${ref}: push it first, or pick one of its branches (git ls-remote ${project.name}).`);
  return { sha, tag: !branchSha };
}

async function commitOf(repoDir: string, ref: string): Promise<string | undefined> {
  const sha = await git(repoDir, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]).catch(() => '');
  return sha.trim() || undefined;
}

export function readVariables(raw: unknown): Record<string, string> {
  if (raw === undefined || raw === null) return {};
  const pairs: [unknown, unknown][] = Array.isArray(raw)
    ? raw.map((v) => (v && typeof v === 'object' ? [(v as { key?: unknown }).key, (v as { value?: unknown }).value] : [undefined, undefined]))
    : typeof raw === 'object'
      ? Object.entries(raw)
      : [[undefined, undefined]];
  const variables: Record<string, string> = {};
  for (const [key, value] of pairs) {
    if (typeof key !== 'string' || !/^\w{1,255}$/.test(key)) {
      throw invalidParams(`variables: each needs a key made of letters, digits and underscores (got ${JSON.stringify(key)}); send [{"key": "K", "value": "V"}] or {"K": "V"}.`);
    }
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') throw invalidParams(`variables: ${key} needs a text value.`);
    variables[key] = String(value);
  }
  return variables;
}

export function readInputs(raw: unknown): Record<string, unknown> | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw invalidParams('inputs must be an object of input names and values, e.g. {"environment": "staging"}.');
  return Object.keys(raw).length ? (raw as Record<string, unknown>) : undefined;
}
