// Thin wrappers around the system `git` for remotes, the credential helper and, for a server
// reached over HTTPS with Slipway's own certificate, the CA git has to trust.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { configDir } from './credentials.js';
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

/** CI projects share the URL space of apps: `<server>/<project>.git`. */
export const projectGitUrl = appGitUrl;

/**
 * A project's remote has the same URL form as an app's, so it carries a mark
 * (`remote.<name>.slipwayproject = <project>`) that keeps app detection away from it.
 */
const PROJECT_MARK = 'slipwayproject';

/** Remote name → CI project, for the remotes marked as a project's. */
export async function projectRemotes(cwd?: string): Promise<Map<string, string>> {
  const r = await runGit(['config', '--get-regexp', `^remote\\..*\\.${PROJECT_MARK}$`], cwd);
  const found = new Map<string, string>();
  for (const line of r.code === 0 ? r.stdout.split('\n') : []) {
    const m = new RegExp(`^remote\\.(.+)\\.${PROJECT_MARK} (.+)$`).exec(line.trim());
    if (m) found.set(m[1], m[2]);
  }
  return found;
}

/** The branch checked out (also on an unborn branch), or undefined (detached, no repository). */
export async function currentBranch(cwd?: string): Promise<string | undefined> {
  const r = await runGit(['symbolic-ref', '--quiet', '--short', 'HEAD'], cwd);
  return r.code === 0 && r.stdout.trim() ? r.stdout.trim() : undefined;
}

/** The app named by a remote URL on this server, or undefined. */
export function appFromGitUrl(server: string, url: string): string | undefined {
  const prefix = `${server}/`;
  const cleaned = url.replace(/\/+$/, '');
  if (!cleaned.startsWith(prefix)) return undefined;
  const m = /^([^/]+)\.git$/.exec(cleaned.slice(prefix.length));
  return m ? m[1] : undefined;
}

/** Points the remote at `url` (adding it when new); `project` marks it as that CI project's. */
export async function setRemote(name: string, url: string, cwd?: string, project?: string): Promise<'added' | 'updated'> {
  const existing = (await remotes(cwd)).find((r) => r.name === name);
  if (existing) await git(['remote', 'set-url', name, url], cwd);
  else await git(['remote', 'add', name, url], cwd);
  const key = `remote.${name}.${PROJECT_MARK}`;
  if (project !== undefined) await git(['config', '--local', key, project], cwd);
  else if (existing) await runGit(['config', '--local', '--unset-all', key], cwd); // an app's now (exit 5 when unset: fine)
  return existing ? 'updated' : 'added';
}

const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The path of the CLI's main.js, for the credential helper command. */
export const cliMainPath = (): string => fileURLToPath(new URL('./main.js', import.meta.url));

/**
 * Makes `git push` to this server authenticate with the logged-in API key, through a
 * repository-local credential helper that runs `slipway git:credentials`; over HTTPS with a
 * certificate from Slipway's own CA, git is also told to trust that CA (for this server only).
 */
export async function configureCredentialHelper(server: string, cwd?: string): Promise<void> {
  const origin = new URL(server).origin;
  const command = `!${sq(process.execPath)} ${sq(cliMainPath())} git:credentials`;
  await git(['config', '--local', `credential.${origin}.helper`, command], cwd);
  await trustSlipwayCa(server, cwd);
}

/** Where the CA for git is kept: outside credentials.json's lifetime, as logout must not break pushes' TLS. */
export const gitCaPath = (server: string): string => join(configDir(), 'git-ca', `${new URL(server).host.replace(/[^A-Za-z0-9.-]/g, '_')}.pem`);

/** Sets `http.<server>/.sslCAInfo` when the server's certificate is signed by Slipway's CA. */
async function trustSlipwayCa(server: string, cwd?: string): Promise<void> {
  const url = new URL(server);
  if (url.protocol !== 'https:') return;
  let pem: string;
  try {
    const res = await fetch(`${server}/ca.pem`, { signal: AbortSignal.timeout(10_000) });
    pem = await res.text();
    if (!res.ok || !pem.includes('BEGIN CERTIFICATE')) return;
  } catch {
    return; // an older server or a proxy without /ca.pem: git's own CA bundle has to do
  }
  // Behind a proxy with a publicly trusted certificate, git's bundle is right and this CA would break it.
  if (!(await verifiesWith(url, pem))) return;
  const path = gitCaPath(server);
  mkdirSync(join(configDir(), 'git-ca'), { recursive: true, mode: 0o700 });
  writeFileSync(path, pem, { mode: 0o644 });
  await git(['config', '--local', `http.${server}/.sslCAInfo`, path], cwd);
}

function verifiesWith(url: URL, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const isIp = /^[\d.]+$/.test(host) || host.includes(':');
    const socket = tls.connect({ host, port: Number(url.port || 443), ca: [ca], ...(isIp ? {} : { servername: host }) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(10_000, () => done(false));
    socket.once('secureConnect', () => done(socket.authorized));
    socket.once('error', () => done(false));
  });
}
