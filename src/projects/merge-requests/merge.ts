/**
 * Merging a merge request: fast-forward the target when it can, else a merge commit made
 * without a work tree; refuse on conflicts. The target then moves with a compare-and-swap and
 * the CI service hears it as a push (branch pipeline, `project.pushed` for auto-deploy). The
 * merge request's environments then stop, and the source branch goes if asked, unless protected.
 */
import type { Account } from '../../auth/accounts.js';
import { PlatformError, conflict, invalidParams } from '../../core/errors.js';
import { now } from '../../core/ids.js';
import type { MergeRequestRow, ProjectRow } from '../../store/schema.js';
import type { CiService } from '../ci.js';
import { branchRef, branchTip, deleteBranch, isAncestor, mergeCommits, moveBranch } from './git.js';
import type { MergeRequestRecords } from './records.js';

export interface MergeOptions {
  /** Merge only if the source branch is still at this commit. */
  sha?: string;
  removeSourceBranch?: boolean;
  /** Refuse unless the head pipeline succeeded (GitLab's "pipelines must succeed"). */
  onlyIfPipelineSucceeds?: boolean;
  /** The merge commit's message (default: GitLab's). */
  message?: string;
}

export interface MergeInput {
  ci: CiService;
  records: MergeRequestRecords;
  project: ProjectRow;
  repoDir: string;
  mr: MergeRequestRow;
  actor: Account;
  options: MergeOptions;
  /** Called once the merge request is stored as merged, before the push is announced. */
  merged(mr: MergeRequestRow): void;
  /** Stops the environments its merge request pipelines deployed; a line for each. */
  stopEnvironments(mr: MergeRequestRow): Promise<string[]>;
  isProtectedBranch(branch: string): Promise<boolean>;
}

export async function mergeInto(input: MergeInput): Promise<{ mr: MergeRequestRow; messages: string[] }> {
  const { ci, records, project, repoDir, actor, options } = input;
  let mr = input.mr;
  const name = `!${mr.iid}`;
  if (mr.state === 'merged') throw conflict(`${name} is already merged.`);
  if (mr.state === 'closed') throw conflict(`${name} is closed; reopen it before merging (slipway mr:reopen ${mr.iid}).`);
  const source = mr.source_branch;
  const target = mr.target_branch;
  const sourceSha = await branchTip(repoDir, source);
  if (!sourceSha) throw conflict(`${name} cannot be merged: its source branch ${source} no longer exists.`);
  const targetSha = await branchTip(repoDir, target);
  if (!targetSha) throw conflict(`${name} cannot be merged: its target branch ${target} no longer exists.`);
  if (options.sha !== undefined && options.sha !== sourceSha) {
    throw conflict(`${source} is at ${sourceSha.slice(0, 8)}, not ${String(options.sha).slice(0, 8)}: review the new commits, then merge again.`);
  }
  if (sourceSha !== mr.head_sha) mr = await records.update(mr.id, { head_sha: sourceSha, updated_at: now() });
  if (await isAncestor(repoDir, sourceSha, targetSha)) throw invalidParams(`Nothing to merge: ${target} already has every commit of ${source}.`);
  // Asked before anything moves, so a failing lookup cannot half-finish the merge.
  const keepProtectedSource = options.removeSourceBranch === true && (await input.isProtectedBranch(source));

  const messages: string[] = [];
  const head = await records.headPipeline(mr);
  if (options.onlyIfPipelineSucceeds && head?.status !== 'success') {
    const why = head ? `its pipeline #${head.number} is ${head.status}` : `it has no pipeline for ${sourceSha.slice(0, 8)}`;
    throw new PlatformError(409, 'pipeline_not_succeeded', `${name} was not merged: ${why}, and only a merge request whose pipeline succeeded may be merged.`);
  }
  if (head && ['failed', 'canceled'].includes(head.status)) messages.push(`Warning: the latest pipeline of ${name} (#${head.number}) ${head.status}; merged anyway.`);
  else if (head && head.status !== 'success') messages.push(`Note: the latest pipeline of ${name} (#${head.number}) is still ${head.status}.`);

  const who = { name: actor.name || actor.email, email: actor.email };
  const message = options.message?.trim() || `Merge branch '${source}' into '${target}'\n\n${mr.title}\n\nSee merge request projects/${project.name}!${mr.iid}`;
  const outcome = await mergeCommits(repoDir, targetSha, sourceSha, message, who);
  if (outcome.kind === 'conflict') {
    const files = outcome.files.length ? outcome.files.join(', ') : 'the same lines';
    throw new PlatformError(
      409,
      'merge_conflict',
      `${name} cannot be merged: ${source} and ${target} conflict in ${files}. Merge ${target} into ${source}, resolve the conflicts, push, and merge again.`,
      { conflicts: outcome.files },
    );
  }
  if (!(await moveBranch(repoDir, target, outcome.sha, targetSha, `merge request ${name}`))) {
    throw conflict(`${target} moved while ${name} was being merged; try again.`);
  }
  const stamp = now();
  mr = await records.update(mr.id, {
    state: 'merged',
    merged_by_id: actor.id,
    merged_at: stamp,
    merge_commit_sha: outcome.kind === 'merge-commit' ? outcome.sha : null,
    updated_at: stamp,
  });
  input.merged(mr);
  const out = (line: string) => messages.push(line);
  messages.push(outcome.kind === 'fast-forward' ? `Fast-forwarded ${target} to ${outcome.sha.slice(0, 8)}.` : `Merged ${source} into ${target} as ${outcome.sha.slice(0, 8)}.`);
  const pusher = { project, repoDir, userId: actor.id, userEmail: actor.email, out };
  await ci.onPush({ ...pusher, updates: [{ ref: branchRef(target), oldSha: targetSha, newSha: outcome.sha }] });
  messages.push(...(await input.stopEnvironments(mr)));
  if (keepProtectedSource) {
    // GitLab never removes a protected source branch on merge.
    messages.push(`Kept the source branch ${source}: it is a protected branch.`);
  } else if (options.removeSourceBranch) {
    if (await deleteBranch(repoDir, source, sourceSha)) {
      messages.push(`Deleted the source branch ${source}.`);
      await ci.onPush({ ...pusher, updates: [{ ref: branchRef(source), oldSha: sourceSha, newSha: '0'.repeat(40) }] });
    } else {
      messages.push(`Kept the source branch ${source}: it moved during the merge.`);
    }
  }
  return { mr, messages };
}
