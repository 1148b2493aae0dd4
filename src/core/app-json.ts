/**
 * app.json, Heroku's app manifest: parse, validate and resolve for an environment. Pure: no
 * I/O besides the random bytes of `generator: "secret"` (injectable).
 *
 * Every problem is reported, not just the first, as `app.json: <JSON path> <what is wrong and
 * how to fix it>`; JSON syntax errors give line and column. Keys Slipway does not know are
 * warnings (other tools put their own keys in app.json), never errors.
 */
import { randomBytes } from 'node:crypto';
import { PlatformError } from './errors.js';

import { CONFIG_KEY, Validator, quote, typeName, type AppJson, type AppJsonEnvVar, type AppJsonScript, type AppJsonFormation, type AppJsonAddon, type AppJsonSection } from './app-json-validate.js';
import { locateSyntaxError } from './json-syntax.js';

export type { AppJson, AppJsonEnvVar, AppJsonScript, AppJsonFormation, AppJsonAddon, AppJsonSection } from './app-json-validate.js';
export { locateSyntaxError } from './json-syntax.js';

/** The manifest as it applies to one environment (or to none: the root keys only). */
export interface ResolvedAppJson {
  environment: string | null;
  name: string | null;
  description: string | null;
  env: Record<string, AppJsonEnvVar>;
  formation: Record<string, AppJsonFormation>;
  addons: AppJsonAddon[];
  buildpacks: string[];
  scripts: Record<string, AppJsonScript>;
  stack: string | null;
  image: string | null;
  successUrl: string | null;
}

export interface ParsedAppJson {
  manifest: AppJson;
  warnings: string[];
}

/** An invalid app.json (or missing required config vars): every problem, one line each. */
export class AppJsonError extends PlatformError {
  constructor(readonly errors: string[]) {
    super(422, 'invalid_params', errors.join('\n'));
    this.name = 'AppJsonError';
  }
}

const PREFIX = 'app.json: ';

/** A fresh value for `generator: "secret"`: 64 hex characters (32 random bytes). */
export const generateSecret = (): string => randomBytes(32).toString('hex');

// ------------------------------------------------------------------------------------------
// Parsing

/** Parses app.json text. Throws AppJsonError with line:column for syntax errors. */
export function parseAppJson(text: string): ParsedAppJson {
  const clean = text.replace(/^\uFEFF/, '');
  let value: unknown;
  try {
    value = JSON.parse(clean);
  } catch {
    throw new AppJsonError([PREFIX + locateSyntaxError(clean)]);
  }
  return validateAppJson(value);
}

/** Validates an already-parsed manifest (an API body, for instance). */
export function validateAppJson(value: unknown): ParsedAppJson {
  const v = new Validator();
  const manifest = v.root(value);
  if (v.errors.length > 0) throw new AppJsonError(v.errors.map((e) => PREFIX + e));
  return { manifest, warnings: v.warnings.map((w) => PREFIX + w) };
}

// ------------------------------------------------------------------------------------------
// Resolution

/**
 * The manifest for one environment: `environments.<name>` overrides the root keys. `env`,
 * `formation` and `scripts` merge key by key (the environment's entry wins); `addons`,
 * `buildpacks`, `stack`, `image` and `success_url` are replaced as a whole.
 */
export function resolveAppJson(manifest: AppJson, environment: string | null = null): ResolvedAppJson {
  const over: AppJsonSection = (environment && manifest.environments[environment]) || {};
  return {
    environment,
    name: manifest.name ?? null,
    description: manifest.description ?? null,
    env: { ...manifest.env, ...over.env },
    formation: { ...manifest.formation, ...over.formation },
    addons: over.addons ?? manifest.addons ?? [],
    buildpacks: over.buildpacks ?? manifest.buildpacks ?? [],
    scripts: { ...manifest.scripts, ...over.scripts },
    stack: over.stack ?? manifest.stack ?? null,
    image: over.image ?? manifest.image ?? null,
    successUrl: over.success_url ?? manifest.success_url ?? null,
  };
}

export interface ConfigVarOptions {
  /** How the caller passes values, for the error: "overrides.env" (API) or "--env KEY=VALUE" (CLI). */
  howToPass?: string;
  secret?: () => string;
}

/**
 * The config vars a new app starts with: overrides first, then each var's value, then a
 * generated secret. Required vars left without a value fail, all named in one error.
 */
export function configVarsFor(resolved: ResolvedAppJson, overrides: Record<string, unknown> = {}, options: ConfigVarOptions = {}): Record<string, string> {
  const secret = options.secret ?? generateSecret;
  const howToPass = options.howToPass ?? 'overrides.env';
  const errors: string[] = [];
  const config: Record<string, string> = {};
  for (const [key, value] of Object.entries(overrides)) {
    if (!CONFIG_KEY.test(key)) errors.push(`the override ${quote(key)} is not a valid config var name; use letters, digits and underscores, not starting with a digit`);
    else if (typeof value !== 'string') errors.push(`the override for ${key} must be a string, not ${typeName(value)}`);
  }
  const missing: string[] = [];
  for (const [key, entry] of Object.entries(resolved.env)) {
    const override = overrides[key];
    if (typeof override === 'string') continue;
    if (entry.generator === 'secret') config[key] = secret();
    else if (entry.value !== undefined) config[key] = entry.value;
    else if (entry.required) missing.push(key);
  }
  for (const key of missing) {
    const about = resolved.env[key].description ? ` (${resolved.env[key].description})` : '';
    errors.push(`env.${key} is required and has no value${about}; give it one with ${howToPass}`);
  }
  if (errors.length > 0) throw new AppJsonError(errors.map((e) => PREFIX + e));
  for (const [key, value] of Object.entries(overrides)) config[key] = value as string;
  return config;
}

/** What to tell the user about the add-ons app.json asks for: Slipway has none yet. */
export function addonsNotice(addons: AppJsonAddon[]): string | undefined {
  if (addons.length === 0) return undefined;
  const list = addons.map((a) => (a.as ? `${a.plan} as ${a.as}` : a.plan)).join(', ');
  return `app.json asks for add-ons (${list}); Slipway has no add-ons yet, so they were recorded but not provisioned. Set the config vars they would provide (such as DATABASE_URL) yourself with config:set.`;
}
