/**
 * The git a merge request needs, on a project's bare repository: branch tips, ancestry, the
 * merge base, and a merge without a work tree (`git merge-tree --write-tree` + `commit-tree`,
 * then `update-ref` with the old value so a concurrent push is never overwritten).
 */
import { execFile } from 'node:child_process';
import { cleanEnv } from '../repository.js';

interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(repoDir: string, args: string[], env: Record<string, string> = {}): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    execFile('git', ['--git-dir', repoDir, ...args], { env: { ...cleanEnv(), ...env }, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      if (code === -1) return reject(new Error(`git ${args[0]}: ${err?.message}`));
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

async function check(repoDir: string, args: string[], env?: Record<string, string>): Promise<string> {
  const r = await run(repoDir, args, env);
  if (r.code !== 0) throw new Error(`git ${args[0]} failed: ${r.stderr.trim() || `exit ${r.code}`}`);
  return r.stdout;
}

export const branchRef = (branch: string) => `refs/heads/${branch}`;

/** The commit a branch points at, or undefined when there is no such branch. */
export async function branchTip(repoDir: string, branch: string): Promise<string | undefined> {
  if (branch.startsWith('-') || /[\s\0]/.test(branch)) return undefined;
  const r = await run(repoDir, ['rev-parse', '--verify', '-q', `${branchRef(branch)}^{commit}`]);
  return r.code === 0 ? r.stdout.trim() : undefined;
}

/** True when `ancestor` is reachable from `descendant` (or is it). */
export async function isAncestor(repoDir: string, ancestor: string, descendant: string): Promise<boolean> {
  const r = await run(repoDir, ['merge-base', '--is-ancestor', ancestor, descendant]);
  if (r.code > 1) throw new Error(`git merge-base failed: ${r.stderr.trim()}`);
  return r.code === 0;
}

export async function mergeBase(repoDir: string, a: string, b: string): Promise<string | undefined> {
  const r = await run(repoDir, ['merge-base', a, b]);
  return r.code === 0 ? r.stdout.trim() || undefined : undefined;
}

/** Subjects of the commits in `head` that `base` lacks, newest first. */
export async function newCommitSubjects(repoDir: string, base: string, head: string): Promise<string[]> {
  return (await check(repoDir, ['log', '--format=%s', `${base}..${head}`])).split('\n').filter(Boolean);
}

export interface Identity {
  name: string;
  email: string;
}

export type MergeOutcome = { kind: 'fast-forward'; sha: string } | { kind: 'merge-commit'; sha: string } | { kind: 'conflict'; files: string[] };

/**
 * Merges `source` into `target` (both commits) without touching any ref: a fast-forward when
 * target is an ancestor of source, else a merge commit by `who`, else the conflicting paths.
 */
export async function mergeCommits(repoDir: string, target: string, source: string, message: string, who: Identity): Promise<MergeOutcome> {
  if (await isAncestor(repoDir, target, source)) return { kind: 'fast-forward', sha: source };
  const merged = await run(repoDir, ['merge-tree', '--write-tree', '--name-only', '--no-messages', target, source]);
  const lines = merged.stdout.split('\n').filter(Boolean);
  if (merged.code === 1) return { kind: 'conflict', files: [...new Set(lines.slice(1))] };
  if (merged.code !== 0 || !lines[0]) throw new Error(`git merge-tree failed: ${merged.stderr.trim() || `exit ${merged.code}`}`);
  const identity = { GIT_AUTHOR_NAME: who.name, GIT_AUTHOR_EMAIL: who.email, GIT_COMMITTER_NAME: who.name, GIT_COMMITTER_EMAIL: who.email };
  const sha = (await check(repoDir, ['commit-tree', lines[0], '-p', target, '-p', source, '-m', message], identity)).trim();
  return { kind: 'merge-commit', sha };
}

/** Moves a branch from `oldSha` to `newSha`; false when it no longer points at `oldSha`. */
export async function moveBranch(repoDir: string, branch: string, newSha: string, oldSha: string, reason: string): Promise<boolean> {
  const r = await run(repoDir, ['update-ref', '-m', reason, branchRef(branch), newSha, oldSha]);
  return r.code === 0;
}

/** Deletes a branch if it still points at `oldSha`; false otherwise. */
export async function deleteBranch(repoDir: string, branch: string, oldSha: string): Promise<boolean> {
  const r = await run(repoDir, ['update-ref', '-d', branchRef(branch), oldSha]);
  return r.code === 0;
}
