/**
 * The app.json schema as a validator: collects every error and warning with its JSON path.
 * Used through `parseAppJson`/`validateAppJson` in app-json.ts.
 */
import { MAX_QUANTITY, normalizeSize } from './formation.js';
import { isValidProcessType } from './names.js';

export interface AppJsonEnvVar {
  description?: string;
  value?: string;
  /** Heroku's default is true: a var without value or generator must be given at setup. */
  required: boolean;
  generator?: 'secret';
}

export interface AppJsonFormation {
  quantity?: number;
  /** Canonical dyno size (`Standard-1X`). */
  size?: string;
}

export interface AppJsonAddon {
  plan: string;
  as?: string;
  options?: Record<string, unknown>;
}

export interface AppJsonScript {
  command: string;
  /** Canonical dyno size for the one-off dyno that runs it. */
  size?: string;
}

/** The keys an environment (`environments.review`, `.test`, …) may override. */
export interface AppJsonSection {
  env?: Record<string, AppJsonEnvVar>;
  formation?: Record<string, AppJsonFormation>;
  addons?: AppJsonAddon[];
  buildpacks?: string[];
  scripts?: Record<string, AppJsonScript>;
  stack?: string;
  image?: string;
  success_url?: string;
}

export interface AppJson extends AppJsonSection {
  name?: string;
  description?: string;
  keywords?: string[];
  website?: string;
  repository?: string;
  logo?: string;
  environments: Record<string, AppJsonSection>;
}


export const KNOWN_SCRIPTS = ['postdeploy', 'pr-predestroy', 'test-setup', 'test'];
/** Scripts that run on a one-off dyno and so may be {"command", "size"}. */
const DYNO_SCRIPTS = new Set(['postdeploy', 'pr-predestroy']);
const META_KEYS = ['name', 'description', 'keywords', 'website', 'repository', 'logo'];
export const SECTION_KEYS = ['env', 'formation', 'addons', 'buildpacks', 'scripts', 'stack', 'image', 'success_url'];
const ROOT_KEYS = [...META_KEYS, ...SECTION_KEYS, 'environments'];
export const CONFIG_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ATTACHMENT_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
export const MAX_FORMATION_QUANTITY = MAX_QUANTITY;

export const typeName = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : typeof value === 'string' ? 'a string' : `a ${typeof value}`;
export const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
export const quote = (key: string) => JSON.stringify(key);
/** `env.KEY`, or `env["weird key"]` when the key is not a plain identifier. */
const member = (path: string, key: string) => (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) ? `${path}.${key}` : `${path}[${quote(key)}]`);

export class Validator {
  readonly errors: string[] = [];
  readonly warnings: string[] = [];

  root(value: unknown): AppJson {
    if (!isObject(value)) {
      this.errors.push(`the top level must be a JSON object ({"env": {...}, ...}), not ${typeName(value)}`);
      return { environments: {} };
    }
    this.unknownKeys(value, ROOT_KEYS, '');
    const manifest: AppJson = { ...this.section(value, ''), environments: {} };
    for (const key of ['name', 'description', 'website', 'repository', 'logo'] as const) {
      const text = this.optionalString(value, key, '');
      if (text !== undefined) manifest[key] = text;
    }
    if (value.keywords !== undefined) {
      if (!Array.isArray(value.keywords)) this.errors.push(`keywords must be an array of strings, not ${typeName(value.keywords)}`);
      else {
        value.keywords.forEach((k, i) => typeof k !== 'string' && this.errors.push(`keywords[${i}] must be a string, not ${typeName(k)}`));
        manifest.keywords = value.keywords.filter((k): k is string => typeof k === 'string');
      }
    }
    if (value.environments !== undefined) {
      if (!isObject(value.environments)) {
        this.errors.push(`environments must be an object keyed by environment name, e.g. {"review": {"env": {...}}}, not ${typeName(value.environments)}`);
      } else {
        for (const [name, section] of Object.entries(value.environments)) {
          const path = member('environments', name);
          if (!isObject(section)) {
            this.errors.push(`${path} must be an object of keys to override (${SECTION_KEYS.join(', ')}), not ${typeName(section)}`);
            continue;
          }
          for (const key of Object.keys(section)) {
            if (!SECTION_KEYS.includes(key)) {
              this.warnings.push(`${member(path, key)} is ignored: an environment can override only ${SECTION_KEYS.join(', ')}`);
            }
          }
          manifest.environments[name] = this.section(section, `${path}.`);
        }
      }
    }
    return manifest;
  }

  private section(value: Record<string, unknown>, at: string): AppJsonSection {
    const out: AppJsonSection = {};
    if (value.env !== undefined) out.env = this.env(value.env, `${at}env`);
    if (value.formation !== undefined) out.formation = this.formation(value.formation, `${at}formation`);
    if (value.addons !== undefined) out.addons = this.addons(value.addons, `${at}addons`);
    if (value.buildpacks !== undefined) out.buildpacks = this.buildpacks(value.buildpacks, `${at}buildpacks`);
    if (value.scripts !== undefined) out.scripts = this.scripts(value.scripts, `${at}scripts`);
    for (const key of ['stack', 'image', 'success_url'] as const) {
      const text = this.optionalString(value, key, at);
      if (text !== undefined) out[key] = text;
    }
    return out;
  }

  private optionalString(value: Record<string, unknown>, key: string, at: string): string | undefined {
    const v = value[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') {
      this.errors.push(`${at}${key} must be a string, not ${typeName(v)}`);
      return undefined;
    }
    return v;
  }

  private unknownKeys(value: Record<string, unknown>, known: string[], path: string): void {
    for (const key of Object.keys(value)) {
      if (known.includes(key)) continue;
      const near = closest(key, known);
      const where = path ? member(path, key) : quote(key);
      this.warnings.push(`${where} is not an app.json key Slipway uses; it is ignored${near ? ` (did you mean ${quote(near)}?)` : ''}`);
    }
  }

  private env(value: unknown, path: string): Record<string, AppJsonEnvVar> {
    const out: Record<string, AppJsonEnvVar> = {};
    if (!isObject(value)) {
      this.errors.push(`${path} must be an object of config vars, e.g. {"KEY": "value"} or {"KEY": {"generator": "secret"}}, not ${typeName(value)}`);
      return out;
    }
    for (const [key, entry] of Object.entries(value)) {
      const at = member(path, key);
      if (!CONFIG_KEY.test(key)) {
        this.errors.push(`${at}: ${quote(key)} is not a valid config var name; use letters, digits and underscores, not starting with a digit`);
        continue;
      }
      if (typeof entry === 'string') {
        out[key] = { value: entry, required: true };
        continue;
      }
      if (!isObject(entry)) {
        const hint = typeof entry === 'number' || typeof entry === 'boolean' ? ` (write it in quotes: "${String(entry)}")` : '';
        this.errors.push(`${at} must be a string or an object with "value", "generator", "required" or "description", not ${typeName(entry)}${hint}`);
        continue;
      }
      this.unknownKeys(entry, ['description', 'value', 'required', 'generator'], at);
      const parsed: AppJsonEnvVar = { required: true };
      if (entry.description !== undefined) {
        if (typeof entry.description === 'string') parsed.description = entry.description;
        else this.errors.push(`${at}.description must be a string, not ${typeName(entry.description)}`);
      }
      if (entry.value !== undefined) {
        if (typeof entry.value === 'string') parsed.value = entry.value;
        else {
          const hint = typeof entry.value === 'number' || typeof entry.value === 'boolean' ? ` (write it in quotes: "${String(entry.value)}")` : '';
          this.errors.push(`${at}.value must be a string, not ${typeName(entry.value)}${hint}`);
        }
      }
      if (entry.required !== undefined) {
        if (typeof entry.required === 'boolean') parsed.required = entry.required;
        else this.errors.push(`${at}.required must be true or false, not ${typeName(entry.required)}`);
      }
      if (entry.generator !== undefined) {
        if (entry.generator === 'secret') parsed.generator = 'secret';
        else this.errors.push(`${at}.generator must be "secret" (the only generator app.json has), not ${JSON.stringify(entry.generator)}`);
      }
      if (parsed.generator && parsed.value !== undefined) {
        this.warnings.push(`${at} has both "value" and "generator"; the generated secret is used`);
      }
      out[key] = parsed;
    }
    return out;
  }

  private formation(value: unknown, path: string): Record<string, AppJsonFormation> {
    const out: Record<string, AppJsonFormation> = {};
    if (!isObject(value)) {
      this.errors.push(`${path} must be an object keyed by process type, e.g. {"web": {"quantity": 1, "size": "basic"}}, not ${typeName(value)}`);
      return out;
    }
    for (const [type, entry] of Object.entries(value)) {
      const at = member(path, type);
      if (!isValidProcessType(type)) {
        this.errors.push(`${at}: ${quote(type)} is not a valid process type; use up to 30 letters, digits, dashes and underscores, as in the Procfile`);
        continue;
      }
      if (type === 'release') {
        this.errors.push(`${at}: the release phase runs once per release, not as dynos; remove it from formation`);
        continue;
      }
      if (!isObject(entry)) {
        this.errors.push(`${at} must be an object such as {"quantity": 1, "size": "basic"}, not ${typeName(entry)}`);
        continue;
      }
      this.unknownKeys(entry, ['quantity', 'size'], at);
      const parsed: AppJsonFormation = {};
      if (entry.quantity !== undefined) {
        const q = entry.quantity;
        if (typeof q === 'number' && Number.isInteger(q) && q >= 0 && q <= MAX_FORMATION_QUANTITY) parsed.quantity = q;
        else this.errors.push(`${at}.quantity must be a whole number from 0 to ${MAX_FORMATION_QUANTITY}, not ${JSON.stringify(q)}`);
      }
      if (entry.size !== undefined) parsed.size = this.size(entry.size, `${at}.size`);
      if (entry.quantity === undefined && entry.size === undefined) {
        this.errors.push(`${at} needs "quantity", "size" or both, e.g. {"quantity": 1}`);
      }
      out[type] = parsed;
    }
    return out;
  }

  private size(value: unknown, path: string): string | undefined {
    if (typeof value !== 'string') {
      this.errors.push(`${path} must be a dyno size string such as "basic", not ${typeName(value)}`);
      return undefined;
    }
    try {
      return normalizeSize(value);
    } catch (err) {
      this.errors.push(`${path}: ${(err as Error).message}`);
      return undefined;
    }
  }

  private addons(value: unknown, path: string): AppJsonAddon[] {
    if (!Array.isArray(value)) {
      this.errors.push(`${path} must be an array of plans, e.g. ["heroku-postgresql"] or [{"plan": "heroku-redis:mini", "as": "CACHE"}], not ${typeName(value)}`);
      return [];
    }
    const out: AppJsonAddon[] = [];
    value.forEach((entry, i) => {
      const at = `${path}[${i}]`;
      if (typeof entry === 'string') {
        if (entry.trim() === '') this.errors.push(`${at} must not be empty; give an add-on such as "heroku-postgresql" or "heroku-postgresql:essential-0"`);
        else out.push({ plan: entry });
        return;
      }
      if (!isObject(entry)) {
        this.errors.push(`${at} must be a plan name or an object with "plan", not ${typeName(entry)}`);
        return;
      }
      this.unknownKeys(entry, ['plan', 'as', 'options'], at);
      if (typeof entry.plan !== 'string' || entry.plan.trim() === '') {
        this.errors.push(`${at}.plan is required: the add-on and plan, e.g. "heroku-postgresql" or "heroku-postgresql:essential-0"`);
        return;
      }
      const addon: AppJsonAddon = { plan: entry.plan };
      if (entry.as !== undefined) {
        if (typeof entry.as === 'string' && ATTACHMENT_NAME.test(entry.as)) addon.as = entry.as;
        else this.errors.push(`${at}.as must be an attachment name of letters, digits and underscores starting with a letter (e.g. "CACHE"), not ${JSON.stringify(entry.as)}`);
      }
      if (entry.options !== undefined) {
        if (isObject(entry.options)) addon.options = entry.options;
        else this.errors.push(`${at}.options must be an object, not ${typeName(entry.options)}`);
      }
      out.push(addon);
    });
    return out;
  }

  private buildpacks(value: unknown, path: string): string[] {
    if (!Array.isArray(value)) {
      this.errors.push(`${path} must be an array such as [{"url": "heroku/nodejs"}], not ${typeName(value)}`);
      return [];
    }
    const out: string[] = [];
    value.forEach((entry, i) => {
      const at = `${path}[${i}]`;
      if (!isObject(entry)) {
        const hint = typeof entry === 'string' ? ` (write {"url": ${JSON.stringify(entry)}})` : '';
        this.errors.push(`${at} must be an object such as {"url": "heroku/nodejs"}, not ${typeName(entry)}${hint}`);
        return;
      }
      this.unknownKeys(entry, ['url'], at);
      if (typeof entry.url !== 'string' || entry.url.trim() === '') {
        this.errors.push(`${at}.url is required: a buildpack name (heroku/nodejs), a path or a git URL`);
        return;
      }
      out.push(entry.url.trim());
    });
    return out;
  }

  private scripts(value: unknown, path: string): Record<string, AppJsonScript> {
    const out: Record<string, AppJsonScript> = {};
    if (!isObject(value)) {
      this.errors.push(`${path} must be an object such as {"postdeploy": "npm run seed"}, not ${typeName(value)}`);
      return out;
    }
    for (const [name, entry] of Object.entries(value)) {
      const at = member(path, name);
      if (!KNOWN_SCRIPTS.includes(name)) {
        const near = closest(name, KNOWN_SCRIPTS);
        this.warnings.push(`${at} is not a script Slipway runs (${KNOWN_SCRIPTS.join(', ')}); it is ignored${near ? ` (did you mean ${quote(near)}?)` : ''}`);
        continue;
      }
      if (typeof entry === 'string') {
        if (entry.trim() === '') this.errors.push(`${at} must not be empty; give a shell command or remove it`);
        else out[name] = { command: entry };
        continue;
      }
      if (DYNO_SCRIPTS.has(name) && isObject(entry)) {
        this.unknownKeys(entry, ['command', 'size'], at);
        if (typeof entry.command !== 'string' || entry.command.trim() === '') {
          this.errors.push(`${at}.command is required: the shell command to run`);
          continue;
        }
        const script: AppJsonScript = { command: entry.command };
        if (entry.size !== undefined) {
          const size = this.size(entry.size, `${at}.size`);
          if (size) script.size = size;
        }
        out[name] = script;
        continue;
      }
      const form = DYNO_SCRIPTS.has(name) ? 'a shell command string or {"command": "...", "size": "..."}' : 'a shell command string';
      this.errors.push(`${at} must be ${form}, not ${typeName(entry)}`);
    }
    return out;
  }
}

/** The known key nearest to a typo (edit distance ≤ 2), if any. */
function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}
