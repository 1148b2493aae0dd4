/**
 * The pipeline context of server-mode pipelines: what rules, includes and variables see, built
 * from the project's repository for a new pipeline, and rebuilt from a stored plan (for a
 * child pipeline, which is planned in its parent's context).
 */
import type { Kysely } from 'kysely';
import type { MergeRequestContext, PipelineContext, PipelineSource } from '../ci/index.js';
import type { CiPipelineRow, Database, ProjectRow } from '../store/schema.js';
import { openMergeRequestRefs } from './merge-requests/open-refs.js';
import { changedPaths, commitInfo, defaultBranch } from './repository.js';

/** What a new pipeline's context is made of. */
export interface ContextRequest {
  project: ProjectRow;
  repoDir: string;
  /** The branch (or tag, with tag: true) the pipeline is for; an MR pipeline's source branch. */
  refName: string;
  tag?: boolean;
  /** The previous tip of the ref, for `changes` (push pipelines). */
  beforeSha?: string;
  source: PipelineSource;
  mergeRequest?: MergeRequestContext;
  /** Pipeline variables (highest precedence). */
  variables?: Record<string, string>;
  userEmail: string;
}

/** The context a new pipeline is planned in, from the project's repository at `sha`. */
export async function newPipelineContext(db: Kysely<Database>, serverUrl: string, input: ContextRequest, sha: string, files: string[]): Promise<PipelineContext> {
  const { project, repoDir, refName } = input;
  const commit = await commitInfo(repoDir, sha);
  const before = input.beforeSha;
  const mr = input.mergeRequest;
  const openMergeRequests = input.tag ? [] : await openMergeRequestRefs(db, project.id, refName, `projects/${project.name}`);
  return {
    source: input.source,
    ...(mr ? {} : input.tag ? { tag: refName } : { branch: refName }),
    ...(mr ? { mergeRequest: mr } : {}),
    ...(openMergeRequests.length ? { openMergeRequests } : {}),
    sha,
    beforeSha: before ?? '0000000000000000000000000000000000000000',
    defaultBranch: await defaultBranch(repoDir),
    projectPath: `projects/${project.name}`,
    serverUrl,
    commitMessage: commit.message,
    commitAuthor: commit.author,
    commitTimestamp: commit.timestamp,
    user: { login: input.userEmail, email: input.userEmail },
    repositoryFiles: files,
    ...(input.variables ? { variables: input.variables } : {}),
    changes: pipelineChanges(repoDir, { sha, beforeSha: before, tag: input.tag === true, ...(mr ? { mergeRequest: mr } : {}) }),
  };
}

/** `rules:changes`: against compare_to, the merge request's base, or the push's old tip (none for tags and new branches). */
export function pipelineChanges(repoDir: string, p: { sha: string; beforeSha?: string | null; tag: boolean; mergeRequest?: MergeRequestContext }): PipelineContext['changes'] {
  const { sha, beforeSha, tag, mergeRequest: mr } = p;
  const isZero = (s: string) => /^0+$/.test(s);
  return (compareTo?: string) =>
    compareTo
      ? changedPaths(repoDir, [`${compareTo}...${sha}`])
      : mr?.diffBaseSha
        ? changedPaths(repoDir, [mr.diffBaseSha, sha])
        : beforeSha && !isZero(beforeSha) && !tag
          ? changedPaths(repoDir, [beforeSha, sha])
          : null;
}

/** A stored pipeline's context again, with what storing leaves out (changes, the file list). */
export function restoredContext(stored: PipelineContext, pipeline: Pick<CiPipelineRow, 'sha' | 'before_sha' | 'tag'>, repoDir: string, files: readonly string[]): PipelineContext {
  return {
    ...stored,
    repositoryFiles: files,
    changes: pipelineChanges(repoDir, { sha: pipeline.sha, beforeSha: pipeline.before_sha, tag: pipeline.tag === 1, ...(stored.mergeRequest ? { mergeRequest: stored.mergeRequest } : {}) }),
  };
}

/** include:remote over HTTP(S). */
export async function fetchRemote(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  return res.text();
}
