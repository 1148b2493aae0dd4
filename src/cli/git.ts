// Thin wrappers around the system `git` for remotes and the credential helper.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CliError } from './output.js';

export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runGit(args: string[], cwd = process.cwd()): Promise<GitResult> {
  return new Promise((resolve) => {
    execFile('git', args, { cwd, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } }, (error, stdout, stderr) => {
      const e = error as (Error & { code?: number | string }) | null;
      if (e && typeof e.code === 'string') {
        resolve({ code: 127, stdout: '', stderr: e.code === 'ENOENT' ? 'git is not installed' : e.message });
        return;
      }
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

export async function git(args: string[], cwd?: string): Promise<string> {
  const r = await runGit(args, cwd);
  if (r.code !== 0) throw new CliError(`git ${args.join(' ')} failed: ${r.stderr.trim() || `exit ${r.code}`}`);
  return r.stdout;
}

export async function insideRepo(cwd?: string): Promise<boolean> {
  const r = await runGit(['rev-parse', '--is-inside-work-tree'], cwd);
  return r.code === 0 && r.stdout.trim() === 'true';
}

export interface Remote {
  name: string;
  url: string;
}

/** The fetch URLs of `git remote -v` (empty outside a repository). */
export async function remotes(cwd?: string): Promise<Remote[]> {
  const r = await runGit(['remote', '-v'], cwd);
  if (r.code !== 0) return [];
  const found: Remote[] = [];
  for (const line of r.stdout.split('\n')) {
    const m = /^(\S+)\s+(\S+)\s+\(fetch\)$/.exec(line.trim());
    if (m) found.push({ name: m[1], url: m[2] });
  }
  return found;
}

/** `<server>/<app>.git`: where Slipway serves an app's repository. */
export const appGitUrl = (server: string, app: string): string => `${server}/${app}.git`;

/** The app named by a remote URL on this server, or undefined. */
export function appFromGitUrl(server: string, url: string): string | undefined {
  const prefix = `${server}/`;
  const cleaned = url.replace(/\/+$/, '');
  if (!cleaned.startsWith(prefix)) return undefined;
  const m = /^([^/]+)\.git$/.exec(cleaned.slice(prefix.length));
  return m ? m[1] : undefined;
}

export async function setRemote(name: string, url: string, cwd?: string): Promise<'added' | 'updated'> {
  const existing = (await remotes(cwd)).find((r) => r.name === name);
  if (existing) {
    await git(['remote', 'set-url', name, url], cwd);
    return 'updated';
  }
  await git(['remote', 'add', name, url], cwd);
  return 'added';
}

const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The path of the CLI's main.js, for the credential helper command. */
export const cliMainPath = (): string => fileURLToPath(new URL('./main.js', import.meta.url));

/**
 * Makes `git push` to this server authenticate with the logged-in API key, through a
 * repository-local credential helper that runs `slipway git:credentials`.
 */
export async function configureCredentialHelper(server: string, cwd?: string): Promise<void> {
  const origin = new URL(server).origin;
  const command = `!${sq(process.execPath)} ${sq(cliMainPath())} git:credentials`;
  await git(['config', '--local', `credential.${origin}.helper`, command], cwd);
}
