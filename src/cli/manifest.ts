// `apps:create --manifest`: set a new app up from the app.json in the current directory.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ApiClient } from './client.js';
import { CliError, err, warn } from './output.js';
import { AppJsonError, addonsNotice, configVarsFor, parseAppJson, resolveAppJson, type ResolvedAppJson } from '../core/app-json.js';

interface AppSetup {
  id: string;
  status: string;
  app: { id: string; name: string };
  failure_message: string | null;
  manifest_errors: string[];
}

/** `--env "K=V;K2=V2"` (repeatable) → {K: V, K2: V2}. */
export function parseEnvFlags(values: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const value of values) {
    for (const pair of value.split(';')) {
      if (!pair.trim()) continue;
      const at = pair.indexOf('=');
      if (at <= 0) throw new CliError(`${JSON.stringify(pair)} is not KEY=VALUE (use --env "K=V;K2=V2" or repeat --env).`);
      env[pair.slice(0, at).trim()] = pair.slice(at + 1);
    }
  }
  return env;
}

/** Reads and checks ./app.json before anything is created; errors say what to fix. */
export function loadLocalManifest(dir: string, env: Record<string, string>): { text: string; resolved: ResolvedAppJson } {
  const path = join(dir, 'app.json');
  if (!existsSync(path)) throw new CliError(`--manifest reads app.json from the current directory, and there is none in ${dir}.`);
  const text = readFileSync(path, 'utf8');
  try {
    const { manifest, warnings } = parseAppJson(text);
    for (const w of warnings) warn(w);
    const resolved = resolveAppJson(manifest);
    configVarsFor(resolved, env, { howToPass: '--env KEY=VALUE' });
    return { text, resolved };
  } catch (e) {
    if (e instanceof AppJsonError) throw new CliError(`${e.message}\nNothing was created.`);
    throw e;
  }
}

/** Creates the app through POST /app-setups with the manifest itself (no build). */
export async function createWithManifest(api: ApiClient, name: string | undefined, text: string, env: Record<string, string>): Promise<{ name: string }> {
  const setup = await api.post<AppSetup>('/app-setups', { ...(name ? { app: { name } } : {}), manifest: text, overrides: { env } });
  if (setup.status === 'failed') throw new CliError(`${setup.failure_message ?? 'The app setup failed.'}\nNothing was created.`);
  return { name: setup.app.name };
}

/** What app.json did to the new app, on stderr. */
export function describeManifest(resolved: ResolvedAppJson, env: Record<string, string>): void {
  const keys = [...new Set([...Object.keys(resolved.env).filter((k) => k in env || resolved.env[k].value !== undefined || resolved.env[k].generator), ...Object.keys(env)])];
  if (keys.length) err(`Config vars from app.json: ${keys.join(', ')}`);
  if (resolved.buildpacks.length) err(`Buildpacks: ${resolved.buildpacks.join(', ')}`);
  const formation = Object.entries(resolved.formation).map(([type, f]) => `${type}=${f.quantity ?? '-'}${f.size ? `:${f.size}` : ''}`);
  if (formation.length) err(`Formation (from the first deploy): ${formation.join(' ')}`);
  if (resolved.scripts.postdeploy) err(`postdeploy runs once after the first deploy: ${resolved.scripts.postdeploy.command}`);
  const addons = addonsNotice(resolved.addons);
  if (addons) warn(addons);
}
