/** Steps shared by end-to-end tests: deploy an example with a real git push, query the router. */
import { mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, waitFor, type Slipway } from './slipway.js';
import { exampleRepo, exec, git, type ExecResult } from './exec.js';

export interface Deployed {
  repo: string;
  push: ExecResult;
}

export function gitUrl(s: Slipway, app: string, key = s.apiKey): string {
  return `http://slipway:${key}@127.0.0.1:${s.port}/${app}.git`;
}

export async function createApp(s: Slipway, name: string): Promise<void> {
  const res = await s.api('POST', '/apps', { name });
  if (res.status !== 201) throw new Error(`creating ${name} failed: ${res.status} ${res.text}`);
}

/** Creates the app (unless it exists) and pushes an example to it with real git. */
export async function deployExample(s: Slipway, app: string, example: string): Promise<Deployed> {
  const existing = await s.api('GET', `/apps/${app}`);
  if (existing.status === 404) await createApp(s, app);
  const repo = await exampleRepo(example);
  const push = await git(repo, 'push', gitUrl(s, app), 'main');
  return { repo, push };
}

export interface RouterResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request through the router, addressed by Host header as a browser would for <app>.localhost. */
export function viaRouter(s: Slipway, app: string, path = '/', headers: Record<string, string> = {}): Promise<RouterResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: s.port, path, headers: { Host: `${app}.localhost:${s.port}`, ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Reads a whole text stream URL (build output, release output, non-tail logs). */
export async function readStream(url: string): Promise<string> {
  const res = await fetch(url);
  return res.text();
}

/** The last `lines` log lines of an app, via a log session (as `logs` does). */
export async function recentLogs(s: Slipway, app: string, lines = 1500, extra: Record<string, unknown> = {}): Promise<string> {
  const session = await s.api('POST', `/apps/${app}/log-sessions`, { lines, tail: false, ...extra });
  if (session.status !== 201) throw new Error(`log session failed: ${session.text}`);
  const text = await readStream(session.body.logplex_url);
  return text
    .split('\n')
    .filter((l) => l.startsWith('data: '))
    .map((l) => l.slice(6))
    .join('\n');
}

/** Waits until the app answers 200 through the router with `text` in the body. */
export const servesText = (s: Slipway, app: string, text: string): Promise<RouterResponse> =>
  waitFor(`${app} to serve "${text}"`, async () => {
    const res = await viaRouter(s, app);
    return res.status === 200 && res.body.includes(text) ? res : undefined;
  }, 60_000, 200);

/** Runs the real CLI as the admin, with a HOME and config directory of its own (logged in through the environment). */
export function adminCli(s: Slipway, ...args: string[]): Promise<ExecResult> {
  const home = mkdtempSync(join(tmpdir(), 'slipway-cli-'));
  const env = { HOME: home, SLIPWAY_CONFIG_DIR: join(home, 'config'), SLIPWAY_URL: s.url, SLIPWAY_API_KEY: s.apiKey, NO_COLOR: '1' };
  return exec(process.execPath, [CLI, ...args], { cwd: home, env });
}
