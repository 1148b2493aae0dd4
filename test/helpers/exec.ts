import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXAMPLES } from './slipway.js';

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a real command and collects its output (never throws on a non-zero exit). */
export function exec(cmd: string, args: string[], options: { cwd?: string; env?: Record<string, string | undefined>; input?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: options.cwd, env: { ...process.env, ...options.env } as NodeJS.ProcessEnv });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 180_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
  });
}

/** Copies an example app into a fresh git repository with one commit; returns its path. */
export async function exampleRepo(example: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), `slipway-${example}-`));
  cpSync(join(EXAMPLES, example), dir, { recursive: true });
  await git(dir, 'init', '-q', '-b', 'main');
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-q', '-m', `${example} example`);
  return dir;
}

export async function git(cwd: string, ...args: string[]): Promise<ExecResult> {
  const result = await exec('git', args, {
    cwd,
    env: { GIT_AUTHOR_NAME: 'Test', GIT_AUTHOR_EMAIL: 'test@example.com', GIT_COMMITTER_NAME: 'Test', GIT_COMMITTER_EMAIL: 'test@example.com', GIT_TERMINAL_PROMPT: '0' },
  });
  return result;
}
