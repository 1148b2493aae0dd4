/**
 * Starts a real Slipway server as a child process for a test, on free ports, with its own
 * data directory and (on the PostgreSQL phase) its own database.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const ROOT = new URL('../../../', import.meta.url).pathname;
export const MAIN = join(ROOT, 'dist', 'src', 'main.js');
/** The CLI as shipped: the bundle `bin.slipway` points at (built by `npm run build`). */
export const CLI = join(ROOT, 'dist', 'bundle', 'cli', 'main.js');
export const EXAMPLES = join(ROOT, 'examples');

export interface Slipway {
  url: string;
  httpsUrl: string;
  port: number;
  httpsPort: number;
  apiKey: string;
  dataDir: string;
  env: Record<string, string>;
  output: () => string;
  /** GET/POST/... against the API with the admin key; returns status, headers and parsed body. */
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse>;
  /** Stops the server gracefully (SIGTERM) and waits for it. */
  stop(): Promise<void>;
  /** kill -9, as a crash would. */
  kill(): Promise<void>;
  /** Starts the server again on the same data and ports. */
  restart(): Promise<void>;
  /** Stops the server and removes its data. */
  destroy(): Promise<void>;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

export async function createDatabaseUrl(): Promise<string | undefined> {
  if (process.env.SLIPWAY_TEST_STORE !== 'postgres') return undefined;
  const admin = process.env.SLIPWAY_TEST_PG_URL;
  if (!admin) throw new Error('SLIPWAY_TEST_PG_URL is not set for the PostgreSQL phase');
  const name = `slipway_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function startSlipway(extraEnv: Record<string, string> = {}): Promise<Slipway> {
  const dataDir = mkdtempSync(join(tmpdir(), 'slipway-test-'));
  const apiKey = `test-${randomBytes(16).toString('hex')}`;
  const databaseUrl = await createDatabaseUrl();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
    PORT: '0',
    SLIPWAY_HTTPS_PORT: '0',
    SLIPWAY_BIND: '127.0.0.1',
    SLIPWAY_DATA: dataDir,
    SLIPWAY_BOOTSTRAP_API_KEY: apiKey,
    SLIPWAY_STOP_TIMEOUT_MS: '3000',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    ...extraEnv,
  };
  let child: ChildProcess | undefined;
  let log = '';
  const ports = { port: 0, httpsPort: 0 };

  async function launch(): Promise<void> {
    const launchEnv = { ...env };
    if (ports.port) {
      launchEnv.PORT = String(ports.port);
      launchEnv.SLIPWAY_HTTPS_PORT = String(ports.httpsPort);
    }
    const proc = spawn(process.execPath, [MAIN], { env: launchEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Slipway did not start in 30 s:\n${log}`)), 30_000);
      const onData = (chunk: Buffer) => {
        log += chunk.toString();
        const m = /listening on http:\/\/[^:]+:(\d+) and https:\/\/[^:]+:(\d+)/.exec(log);
        if (m && !ports.port) {
          ports.port = Number(m[1]);
          ports.httpsPort = Number(m[2]);
        }
        if (m) {
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stdout!.on('data', onData);
      proc.stderr!.on('data', (c: Buffer) => (log += c.toString()));
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`Slipway exited with ${code} before it was ready:\n${log}`));
      });
    });
    proc.removeAllListeners('exit');
  }

  const waitExit = (proc: ChildProcess | undefined) =>
    new Promise<void>((resolve) => {
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return resolve();
      proc.once('exit', () => resolve());
    });

  await launch();
  const url = () => `http://127.0.0.1:${ports.port}`;

  const s: Slipway = {
    get url() {
      return url();
    },
    get httpsUrl() {
      return `https://127.0.0.1:${ports.httpsPort}`;
    },
    get port() {
      return ports.port;
    },
    get httpsPort() {
      return ports.httpsPort;
    },
    apiKey,
    dataDir,
    env,
    output: () => log,
    async api(method, path, body, headers = {}) {
      const res = await fetch(url() + path, {
        method,
        headers: {
          Accept: 'application/vnd.heroku+json; version=3',
          Authorization: `Bearer ${apiKey}`,
          ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      let parsed: unknown = undefined;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      return { status: res.status, headers: res.headers, body: parsed, text };
    },
    async stop() {
      const proc = child;
      proc?.kill('SIGTERM');
      await waitExit(proc);
    },
    async kill() {
      const proc = child;
      proc?.kill('SIGKILL');
      await waitExit(proc);
    },
    async restart() {
      await launch();
    },
    async destroy() {
      await s.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return s;
}

/** Polls `check` until it returns a truthy value, or fails after `timeoutMs` with `what`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | null | false> | T, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
