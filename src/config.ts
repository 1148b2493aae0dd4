import { resolve } from 'node:path';

/** Everything Slipway reads from its environment, resolved once at start-up. */
export interface SlipwayConfig {
  /** Plain HTTP port: API, git, router and streams. */
  port: number;
  /** HTTPS port: the same services over TLS, plus the `heroku run` rendezvous. */
  httpsPort: number;
  /** Address to listen on. */
  bindAddress: string;
  /** Host name (or IP) clients use to reach Slipway; used in URLs Slipway hands out. */
  publicHost: string;
  /** Apps are served at `<app>.<appsDomain>`. */
  appsDomain: string;
  dataDir: string;
  databaseUrl?: string;
  bootstrapApiKey?: string;
  adminEmail: string;
  /** `auto` uses bubblewrap when it is installed; `none` runs dynos as plain processes. */
  sandbox: 'auto' | 'bwrap' | 'none';
  /** How long a dyno has between SIGTERM and SIGKILL. */
  stopTimeoutMs: number;
  /** Largest request body Slipway accepts (source tarballs included). */
  maxBodyBytes: number;
  /** Web dynos must bind $PORT within this time or they are marked crashed. */
  bootTimeoutMs: number;
  /** How often CI environments are checked for an expired auto_stop_in. */
  environmentCheckMs: number;
  /** How often due pipeline schedules are looked for. */
  scheduleCheckMs: number;
  /** How many CI jobs run at once across all projects' pipelines (unset: the number of CPUs, at least 2). */
  ciConcurrency?: number;
}

function intFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number, got ${JSON.stringify(raw)}`);
  return value;
}

/** A whole number of at least 1, or undefined when the variable is unset or empty. */
function positiveIntFrom(env: NodeJS.ProcessEnv, name: string, what: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = Number(raw.trim());
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < 1) {
    throw new Error(`${name} must be a whole number of at least 1 (${what}), got ${JSON.stringify(raw)}`);
  }
  return value;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): SlipwayConfig {
  const sandbox = (env.SLIPWAY_SANDBOX ?? 'auto') as SlipwayConfig['sandbox'];
  if (!['auto', 'bwrap', 'none'].includes(sandbox)) {
    throw new Error(`SLIPWAY_SANDBOX must be auto, bwrap or none, got ${JSON.stringify(sandbox)}`);
  }
  return {
    port: intFrom(env, 'PORT', 5000),
    httpsPort: intFrom(env, 'SLIPWAY_HTTPS_PORT', 5443),
    bindAddress: env.SLIPWAY_BIND ?? '0.0.0.0',
    publicHost: env.SLIPWAY_PUBLIC_HOST ?? '127.0.0.1',
    appsDomain: env.SLIPWAY_APPS_DOMAIN ?? 'localhost',
    dataDir: resolve(env.SLIPWAY_DATA ?? '.slipway'),
    databaseUrl: env.DATABASE_URL || undefined,
    bootstrapApiKey: env.SLIPWAY_BOOTSTRAP_API_KEY || undefined,
    adminEmail: env.SLIPWAY_ADMIN_EMAIL ?? 'admin@slipway.local',
    sandbox,
    stopTimeoutMs: intFrom(env, 'SLIPWAY_STOP_TIMEOUT_MS', 30_000),
    maxBodyBytes: intFrom(env, 'SLIPWAY_MAX_BODY_BYTES', 512 * 1024 * 1024),
    bootTimeoutMs: intFrom(env, 'SLIPWAY_BOOT_TIMEOUT_MS', 60_000),
    environmentCheckMs: intFrom(env, 'SLIPWAY_ENVIRONMENT_CHECK_MS', 30_000),
    scheduleCheckMs: intFrom(env, 'SLIPWAY_SCHEDULE_CHECK_MS', 15_000),
    ciConcurrency: positiveIntFrom(env, 'SLIPWAY_CI_CONCURRENCY', 'how many CI jobs may run at once'),
  };
}
