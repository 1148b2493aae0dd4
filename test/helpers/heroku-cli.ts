/**
 * The official heroku CLI, pinned, installed from npm into a temporary folder shared by the
 * test files of one machine (installed once; a lock directory keeps parallel tests from
 * installing it twice), and run against a Slipway server with the offline settings of
 * shared/spec/heroku-api.md §2.8.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec, type ExecResult } from './exec.js';
import type { Slipway } from './slipway.js';

export const HEROKU_CLI_VERSION = '11.10.0';
const INSTALL_DIR = join(tmpdir(), `slipway-heroku-cli-${HEROKU_CLI_VERSION}`);
const BIN = join(INSTALL_DIR, 'node_modules', 'heroku', 'bin', 'run.js');
const READY = join(INSTALL_DIR, '.ready');
const LOCK = join(INSTALL_DIR, '.installing');

export async function ensureHerokuCli(): Promise<string> {
  mkdirSync(INSTALL_DIR, { recursive: true });
  for (let waited = 0; !existsSync(READY); waited++) {
    let owner = false;
    try {
      mkdirSync(LOCK);
      owner = true;
    } catch {
      if (waited > 600) throw new Error(`Gave up waiting for another test to install the heroku CLI (${LOCK})`);
      await new Promise((r) => setTimeout(r, 1000));
      continue;
    }
    try {
      if (!existsSync(READY)) {
        writeFileSync(join(INSTALL_DIR, 'package.json'), JSON.stringify({ name: 'heroku-cli-under-test', private: true }));
        const res = await exec('npm', ['install', '--no-audit', '--no-fund', '--omit=dev', `heroku@${HEROKU_CLI_VERSION}`], { cwd: INSTALL_DIR, timeoutMs: 600_000 });
        if (res.code !== 0) throw new Error(`npm install heroku@${HEROKU_CLI_VERSION} failed:\n${res.stderr}`);
        writeFileSync(READY, new Date().toISOString());
      }
    } finally {
      if (owner) rmSync(LOCK, { recursive: true, force: true });
    }
  }
  return BIN;
}

export interface HerokuCli {
  /** Runs `heroku <args>`; never throws on a non-zero exit. */
  run(args: string[], options?: { cwd?: string; input?: string; env?: Record<string, string> }): Promise<ExecResult>;
  /**
   * Starts `heroku <args>` in the background (for `logs --tail`): `output()` is everything it
   * printed so far, `stop()` kills it and resolves with the final output.
   */
  start(args: string[], options?: { cwd?: string }): RunningCli;
  /** Runs real git with the CLI's environment (HOME, credential helper, CA), never throws. */
  git(cwd: string, ...args: string[]): Promise<ExecResult>;
  /** The environment the CLI runs with (HOME, HEROKU_*, CA settings), for git commands too. */
  env: Record<string, string>;
  home: string;
}

export interface RunningCli {
  child: ChildProcess;
  output(): string;
  stop(): Promise<string>;
}

/** A heroku CLI pointed at `s`, with its own HOME, authenticated with `apiKey`. */
export async function herokuCli(s: Slipway, apiKey = s.apiKey): Promise<HerokuCli> {
  const bin = await ensureHerokuCli();
  const home = mkdtempSync(join(tmpdir(), 'slipway-heroku-home-'));
  const caPath = join(home, 'slipway-ca.pem');
  writeFileSync(caPath, await fetch(`${s.url}/ca.pem`).then((r) => r.text()));
  // git runs the CLI's credential helper as `heroku git:credentials`: it must be on PATH.
  const binDir = join(home, 'bin');
  mkdirSync(binDir);
  writeFileSync(join(binDir, 'heroku'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(bin)} "$@"\n`);
  chmodSync(join(binDir, 'heroku'), 0o755);
  const env: Record<string, string> = {
    PATH: `${binDir}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_CACHE_HOME: join(home, '.cache'),
    XDG_DATA_HOME: join(home, '.local', 'share'),
    HEROKU_HOST: s.url,
    HEROKU_GIT_HOST: `127.0.0.1:${s.httpsPort}`,
    HEROKU_API_KEY: apiKey,
    HEROKU_PARTICLEBOARD_URL: s.url,
    DISABLE_TELEMETRY: 'true',
    HEROKU_SKIP_ANALYTICS: '1',
    HEROKU_SKIP_NEW_VERSION_CHECK: 'true',
    HEROKU_DISABLE_AUTOUPDATE: '1',
    NODE_EXTRA_CA_CERTS: caPath,
    GIT_SSL_CAINFO: caPath,
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: 'Test',
    GIT_AUTHOR_EMAIL: 'test@example.com',
    GIT_COMMITTER_NAME: 'Test',
    GIT_COMMITTER_EMAIL: 'test@example.com',
    NO_COLOR: '1',
    FORCE_COLOR: '0',
    CI: 'true',
  };
  return {
    env,
    home,
    run: (args, options = {}) =>
      exec(process.execPath, [bin, ...args], { cwd: options.cwd ?? home, env: { ...env, ...options.env }, input: options.input, timeoutMs: 120_000 }),
    git: (cwd, ...args) => exec('git', args, { cwd, env, timeoutMs: 300_000 }),
    start(args, options = {}) {
      const child = spawn(process.execPath, [bin, ...args], { cwd: options.cwd ?? home, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout!.on('data', (c) => (output += c));
      child.stderr!.on('data', (c) => (output += c));
      const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
      return {
        child,
        output: () => output,
        async stop() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          await closed;
          return output;
        },
      };
    },
  };
}
