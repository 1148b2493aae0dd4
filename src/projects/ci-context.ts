/**
 * The pipeline context of server-mode pipelines: what rules, includes and variables see, built
 * from the project's repository for a new pipeline, and rebuilt from a stored plan (for a
 * child pipeline, which is planned in its parent's context).
 */
import type { MergeRequestContext, PipelineContext } from '../ci/index.js';
import type { CiPipelineRow } from '../store/schema.js';
import { changedPaths } from './repository.js';

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
