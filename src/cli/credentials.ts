// Where the CLI keeps the server URL and API key: `$SLIPWAY_CONFIG_DIR/credentials.json`
// (default `~/.config/slipway`), written with mode 0600. `SLIPWAY_URL` and `SLIPWAY_API_KEY`
// override what is stored. Inside a Slipway CI job (CI_JOB_TOKEN and SLIPWAY_API_URL set, no
// SLIPWAY_API_KEY) the job token is used and stored credentials are not read: a job on the
// shell executor may share the server user's HOME, whose credentials are not the job's.
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CliError } from './output.js';

export const DEFAULT_URL = 'http://127.0.0.1:5000';

export interface StoredCredentials {
  url: string;
  apiKey: string;
  email?: string;
}

export interface Credentials extends StoredCredentials {
  /** Where the key came from, for error messages (`job`: CI_JOB_TOKEN). */
  keySource: 'env' | 'file' | 'job';
}

export function configDir(): string {
  if (process.env.SLIPWAY_CONFIG_DIR) return process.env.SLIPWAY_CONFIG_DIR;
  const base = process.env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'slipway');
}

export const credentialsPath = (): string => join(configDir(), 'credentials.json');
export const caPath = (): string => join(configDir(), 'ca.pem');

/** `http://host:port/` → `http://host:port` (no trailing slash); rejects non-http(s) URLs. */
export function normalizeUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw.includes('://') ? raw : `http://${raw}`);
  } catch {
    throw new CliError(`${JSON.stringify(raw)} is not a valid URL. Use e.g. --url ${DEFAULT_URL}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError(`The Slipway URL must start with http:// or https://, got ${JSON.stringify(raw)}`);
  }
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

export function readStored(): StoredCredentials | undefined {
  const path = credentialsPath();
  if (!existsSync(path)) return undefined;
  try {
    const data = JSON.parse(readFileSync(path, 'utf8')) as Partial<StoredCredentials>;
    if (typeof data.url !== 'string' || typeof data.apiKey !== 'string') return undefined;
    return { url: data.url, apiKey: data.apiKey, email: typeof data.email === 'string' ? data.email : undefined };
  } catch {
    throw new CliError(`${path} is not valid JSON. Run: slipway login`);
  }
}

export function writeStored(creds: StoredCredentials): void {
  const dir = configDir();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = credentialsPath();
  writeFileSync(path, `${JSON.stringify(creds, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
}

/** Removes the stored credentials (and the cached CA); returns whether anything was there. */
export function removeStored(): boolean {
  const had = existsSync(credentialsPath());
  rmSync(credentialsPath(), { force: true });
  rmSync(caPath(), { force: true });
  return had;
}

/** The server URL to talk to, even without a key (for messages and `login`). */
export function currentUrl(): string | undefined {
  if (process.env.SLIPWAY_URL) return normalizeUrl(process.env.SLIPWAY_URL);
  try {
    return readStored()?.url;
  } catch {
    return undefined;
  }
}

export function notLoggedIn(): CliError {
  return new CliError(`Not logged in. Run: slipway login --url ${currentUrl() ?? DEFAULT_URL}`);
}

/** The effective credentials, or a "Not logged in" error that says what to run. */
export function loadCredentials(): Credentials {
  const envKey = process.env.SLIPWAY_API_KEY;
  const envUrl = process.env.SLIPWAY_URL;
  const jobToken = process.env.CI_JOB_TOKEN;
  const jobUrl = process.env.SLIPWAY_API_URL;
  if (!envKey && jobToken && jobUrl) return { url: normalizeUrl(envUrl || jobUrl), apiKey: jobToken, keySource: 'job' };
  const stored = readStored();
  const apiKey = envKey || stored?.apiKey;
  if (!apiKey) throw notLoggedIn();
  const url = envUrl ? normalizeUrl(envUrl) : (stored?.url ?? (envKey && jobUrl ? normalizeUrl(jobUrl) : undefined));
  if (!url) throw new CliError('SLIPWAY_API_KEY is set but no server URL is known. Set SLIPWAY_URL or run: slipway login --url URL');
  return { url, apiKey, email: envKey && envKey !== stored?.apiKey ? undefined : stored?.email, keySource: envKey ? 'env' : 'file' };
}
