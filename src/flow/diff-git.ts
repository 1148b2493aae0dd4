import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';

/** One commit as `pipelines:diff` lists it. */
export interface DiffCommit {
  sha: string;
  author: { name: string; email: string };
  date: string;
  message: string;
}

/** Full or abbreviated hexadecimal object names; anything else is not a git commit. */
export const looksLikeSha = (value: string | null | undefined): value is string => typeof value === 'string' && /^[0-9a-f]{7,64}$/i.test(value);

// Runs the system git in a bare repository, without GIT_* variables that would point it elsewhere.
function git(repo: string, args: string[]): Promise<string> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('GIT_')) env[key] = value;
  return new Promise((resolve, reject) => {
    execFile('git', ['--git-dir', repo, ...args], { env, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(String(stderr).trim() || err.message));
      else resolve(String(stdout));
    });
  });
}

/** Whether the repository exists and holds this commit. */
export async function hasCommit(repo: string, sha: string): Promise<boolean> {
  if (!looksLikeSha(sha)) return false;
  if (!(await access(repo).then(() => true, () => false))) return false;
  return git(repo, ['cat-file', '-e', `${sha}^{commit}`]).then(() => true, () => false);
}

/** How many commits are reachable from `from` but not from `to`. */
export async function countBetween(repo: string, to: string, from: string): Promise<number> {
  return Number((await git(repo, ['rev-list', '--count', from, `^${to}`])).trim());
}

/** The commits reachable from `from` but not from `to`, newest first (at most `max`). */
export async function commitsBetween(repo: string, to: string, from: string, max: number): Promise<DiffCommit[]> {
  const out = await git(repo, ['log', `--max-count=${max}`, '--format=%H%x1f%an%x1f%ae%x1f%aI%x1f%s%x1e', from, `^${to}`]);
  return out
    .split('\x1e')
    .map((record) => record.trim())
    .filter(Boolean)
    .map((record) => {
      const [sha, name, email, date, message] = record.split('\x1f');
      return { sha, author: { name, email }, date, message };
    });
}
