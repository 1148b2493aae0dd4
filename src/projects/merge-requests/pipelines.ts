/**
 * Merge request pipelines: a detached pipeline (`CI_PIPELINE_SOURCE=merge_request_event`) on
 * the source branch's head, with the merge request in its context. The CI service plans it;
 * when the configuration's rules create no job for merge requests, there is none (as GitLab).
 */
import type { MergeRequestContext } from '../../ci/index.js';
import type { CiPipelineRow, MergeRequestRow, ProjectRow } from '../../store/schema.js';
import type { CiService } from '../ci.js';
import { mergeBase } from './git.js';

/** GitLab's draft markers at the start of a title. */
const DRAFT = /^\s*(\[draft\]|\(draft\)|draft:|draft\s-\s|\[wip\]|wip:)/i;
export const isDraft = (title: string): boolean => DRAFT.test(title);

export const labelsOf = (mr: MergeRequestRow): string[] => JSON.parse(mr.labels) as string[];

/** What the CI engine sees of a merge request at `targetSha`. */
export async function mergeRequestContext(repoDir: string, mr: MergeRequestRow, targetSha: string | undefined): Promise<MergeRequestContext> {
  const base = targetSha ? await mergeBase(repoDir, targetSha, mr.head_sha) : undefined;
  return {
    iid: mr.iid,
    id: Number(mr.id),
    sourceBranch: mr.source_branch,
    targetBranch: mr.target_branch,
    title: mr.title,
    description: mr.description,
    labels: labelsOf(mr),
    draft: isDraft(mr.title),
    eventType: 'detached',
    ...(base ? { diffBaseSha: base } : {}),
  };
}

export interface PipelineStarter {
  userId: string;
  userEmail: string;
}

/** Plans and starts the merge request's pipeline at its head; undefined when rules make none. */
export async function runMergeRequestPipeline(
  ci: CiService,
  input: { project: ProjectRow; repoDir: string; mr: MergeRequestRow; targetSha: string | undefined; by: PipelineStarter; out(line: string): void },
): Promise<CiPipelineRow | undefined> {
  const { project, repoDir, mr } = input;
  return ci.createPipeline({
    project,
    repoDir,
    revision: mr.head_sha,
    refName: mr.source_branch,
    source: 'merge_request_event',
    mergeRequest: await mergeRequestContext(repoDir, mr, input.targetSha),
    userId: input.by.userId,
    userEmail: input.by.userEmail,
    out: input.out,
  });
}
