// What `slipway ci` needs from the git work tree, gathered quickly: the branch and
// `origin/HEAD` are read from the repository's files (HEAD and loose symbolic refs), origin's
// URL from its config (git-origin.ts), and the git commands that remain — the file list and
// the HEAD commit — run from one shell (git-facts.ts), started by the CLI's entry before this
// code is even loaded. Anything unusual (GIT_DIR in the environment, reftable, a HEAD file
// that does not parse, URL rewriting) falls back to asking git.
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { gitFacts } from '../git-facts.js';
import { originUrlFromConfig } from './git-origin.js';

export interface WorkTreeInfo {
  /** Tracked plus untracked-but-not-ignored files (`git ls-files -co --exclude-standard`). */
  files: string[];
  /** The checked-out branch; undefined when HEAD is detached. */
  branch?: string;
  /** HEAD's commit; undefined before the first commit. */
  sha?: string;
  commitTimestamp?: string;
  commitAuthor?: string;
  commitMessage?: string;
  /** The branch `origin/HEAD` points at. */
  originHead?: string;
  originUrl?: string;
}

function git(cwd: string, args: string[]): Promise<string | undefined> {
  return new Promise((done) => {
    execFile('git', args, { cwd, encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 }, (error, stdout) => done(error ? undefined : stdout));
  });
}

// Small files read synchronously: each async read is several thread-pool round trips, and
// nothing else waits on this thread meanwhile (git runs in its own process).
function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The repository's git directory and common directory, found by walking up from cwd. */
function findGitDir(cwd: string): { gitDir: string; commonDir: string } | undefined {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const dotGit = join(dir, '.git');
    const info = statSync(dotGit, { throwIfNoEntry: false });
    if (info?.isDirectory()) return { gitDir: dotGit, commonDir: dotGit };
    if (info?.isFile()) {
      // A linked worktree or submodule: `gitdir: <path>`, refs shared through `commondir`.
      const m = /^gitdir: (.+)$/m.exec(readText(dotGit) ?? '');
      if (!m) return undefined;
      const gitDir = resolve(dir, m[1].trim());
      const common = readText(join(gitDir, 'commondir'))?.trim();
      return { gitDir, commonDir: common ? resolve(gitDir, common) : gitDir };
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/** A symbolic ref's target (`ref: refs/heads/main` → `refs/heads/main`), null if it holds a SHA, undefined if unreadable. */
function symref(path: string): string | null | undefined {
  const text = readText(path);
  if (text === undefined) return undefined;
  const m = /^ref: (\S+)\s*$/.exec(text);
  if (m) return m[1];
  return /^[0-9a-f]{40,64}\s*$/.test(text) ? null : undefined;
}

/** origin's URL from the config file when that is safe, else from git; null without origin. */
async function originUrl(cwd: string, commonDir: string | undefined): Promise<string | null | undefined> {
  const found = commonDir === undefined ? undefined : originUrlFromConfig(commonDir);
  return found === undefined ? git(cwd, ['remote', 'get-url', 'origin']) : found;
}

/** Facts about the work tree at cwd; undefined when cwd is not inside one. */
export async function workTreeInfo(cwd: string): Promise<WorkTreeInfo | undefined> {
  const direct = !process.env.GIT_DIR && !process.env.GIT_WORK_TREE && !process.env.GIT_COMMON_DIR ? findGitDir(cwd) : undefined;
  const reftable = direct ? statSync(join(direct.commonDir, 'reftable'), { throwIfNoEntry: false }) !== undefined : false;
  const fromFiles = direct && !reftable;
  const [[list, log], head, originHead, url] = await Promise.all([
    gitFacts(cwd),
    fromFiles ? symref(join(direct.gitDir, 'HEAD')) : undefined,
    fromFiles ? symref(join(direct.commonDir, 'refs', 'remotes', 'origin', 'HEAD')) : undefined,
    originUrl(cwd, fromFiles ? direct.commonDir : undefined),
  ]);
  // ls-files fails outside a work tree (and where git refuses the repository).
  if (list === undefined) return undefined;
  const info: WorkTreeInfo = { files: list.split('\0').filter(Boolean) };
  if (fromFiles && head !== undefined) {
    if (head?.startsWith('refs/heads/')) info.branch = head.slice('refs/heads/'.length);
  } else {
    const abbrev = (await git(cwd, ['rev-parse', '--abbrev-ref', 'HEAD']))?.trim();
    if (abbrev && abbrev !== 'HEAD') info.branch = abbrev;
  }
  if (fromFiles) {
    // Symbolic refs are never packed, so a missing file means there is no origin/HEAD.
    if (originHead?.startsWith('refs/remotes/origin/')) info.originHead = originHead.slice('refs/remotes/origin/'.length);
  } else {
    const short = (await git(cwd, ['symbolic-ref', '--short', 'refs/remotes/origin/HEAD']))?.trim();
    if (short) info.originHead = short.replace(/^origin\//, '');
  }
  if (url?.trim()) info.originUrl = url.trim();
  if (log) {
    const [sha, timestamp, author, ...message] = log.split('\0');
    info.sha = sha;
    Object.assign(info, { commitTimestamp: timestamp, commitAuthor: author, commitMessage: message.join('\0').trimEnd() });
  }
  return info;
}
