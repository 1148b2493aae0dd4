/**
 * App setups (Heroku's POST /app-setups): create an app from a source tarball and the
 * app.json inside it, then build and deploy it. The app is created only once its app.json
 * is valid and every required config var has a value, so a bad manifest leaves no app.
 *
 * Slipway extensions: `manifest` (app.json text or object) instead of `source_blob` sets an
 * app up without building it (`slipway apps:create --manifest`); `environment` picks the
 * `environments.<name>` overrides (review apps use "review", test apps "test").
 */
import type { Kysely } from 'kysely';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import * as tar from 'tar';
import type { Database, AppRow, AppSetupRow } from '../store/schema.js';
import type { Account } from '../auth/accounts.js';
import type { AppService } from '../apps/apps.js';
import { DEFAULT_STACK } from '../apps/apps.js';
import type { ManifestService } from '../apps/manifest.js';
import type { BuildService } from './builds.js';
import type { ReleaseService } from '../release/releases.js';
import type { SourceService } from './sources.js';
import { saveLimitedBody } from './download.js';
import type { PublicUrls } from '../core/urls.js';
import type { LogHub } from '../logs/log-hub.js';
import { AppJsonError, configVarsFor, parseAppJson, resolveAppJson, validateAppJson, type ParsedAppJson, type ResolvedAppJson } from '../core/app-json.js';
import { generateAppName, validateAppName } from '../core/names.js';
import { invalidParams, notFound } from '../core/errors.js';
import { isUuid, newId, now } from '../core/ids.js';

export interface AppSetupServiceOptions {
  db: Kysely<Database>;
  apps: AppService;
  manifests: ManifestService;
  builds: BuildService;
  releases: ReleaseService;
  sources: SourceService;
  urls: PublicUrls;
  logs: LogHub;
  dataDir: string;
  maxSourceBytes: number;
}

/** What a setup request asks for, checked. */
interface SetupRequest {
  name: string;
  region: string | null;
  environment: string | null;
  env: Record<string, unknown>;
  buildpacks: string[] | undefined;
  source: { url: string; version: string | null } | null;
  manifest: unknown;
}

const MAX_APP_JSON_BYTES = 1024 * 1024;
const ENVIRONMENT = /^[A-Za-z][A-Za-z0-9_-]{0,29}$/;

export class AppSetupService {
  constructor(private readonly o: AppSetupServiceOptions) {}

  async get(actor: Account, id: string): Promise<AppSetupRow> {
    const row = isUuid(id) ? await this.o.db.selectFrom('app_setups').selectAll().where('id', '=', id).executeTakeFirst() : undefined;
    if (!row || (row.account_id !== actor.id && !actor.admin)) throw notFound('app-setup', `Couldn't find app setup ${id}.`);
    return row;
  }

  /**
   * Starts a setup. With `manifest`, the app is set up at once (errors are thrown: 422);
   * with `source_blob`, the setup is `pending` while the source is read, built and deployed.
   */
  async create(actor: Account, body: unknown): Promise<AppSetupRow> {
    const request = await this.check(body);
    const appId = newId();
    if (request.source === null) {
      const resolved = this.resolve(parseManifest(request.manifest, 'manifest'), request);
      const config = configVarsFor(resolved, request.env);
      await this.o.manifests.createApp(actor, { id: appId, name: request.name, region: request.region }, resolved, config);
      return this.insert(actor, appId, request, { status: 'succeeded', resolved_success_url: this.successUrl(request.name, resolved) });
    }
    const row = await this.insert(actor, appId, request, { status: 'pending' });
    // Runs in the background; the setup row records how it ends.
    void this.run(actor, row, request).catch((err) => this.fail(row.id, `Slipway could not set up this app: ${(err as Error).message}`).catch(() => undefined));
    return row;
  }

  private async check(body: unknown): Promise<SetupRequest> {
    if (!isObject(body)) throw invalidParams('Send a JSON object such as {"source_blob": {"url": "https://…/app.tar.gz"}, "app": {"name": "myapp"}}.');
    const app = body.app ?? {};
    if (!isObject(app)) throw invalidParams('app must be an object such as {"name": "myapp"}.');
    for (const key of ['name', 'region', 'stack'] as const) {
      if (app[key] !== undefined && app[key] !== null && typeof app[key] !== 'string') throw invalidParams(`app.${key} must be a string.`);
    }
    if (app.stack && app.stack !== DEFAULT_STACK) throw invalidParams(`Stack ${JSON.stringify(app.stack)} is not available; Slipway builds on ${DEFAULT_STACK}.`);
    const name = typeof app.name === 'string' && app.name !== '' ? validateAppName(app.name) : await this.freeName();
    if (await this.o.apps.find(name)) throw invalidParams(`Name ${name} is already taken; choose another name.`);

    const environment = body.environment ?? null;
    if (environment !== null && (typeof environment !== 'string' || !ENVIRONMENT.test(environment))) {
      throw invalidParams('environment must be the name of an app.json environment, such as "review" or "test".');
    }
    const overrides = body.overrides ?? {};
    if (!isObject(overrides)) throw invalidParams('overrides must be an object such as {"env": {"KEY": "value"}}.');
    const env = overrides.env ?? {};
    if (!isObject(env)) throw invalidParams('overrides.env must be an object of config vars, e.g. {"KEY": "value"}.');
    let buildpacks: string[] | undefined;
    if (overrides.buildpacks !== undefined) {
      if (!Array.isArray(overrides.buildpacks)) throw invalidParams('overrides.buildpacks must be a list of {"url": "..."} objects.');
      buildpacks = overrides.buildpacks.map((b: unknown, i: number) => {
        const url = isObject(b) ? b.url : undefined;
        if (typeof url !== 'string' || url.trim() === '') throw invalidParams(`overrides.buildpacks[${i}].url must be a buildpack name, path or git URL.`);
        return url.trim();
      });
    }

    const blob = body.source_blob;
    if (blob !== undefined && body.manifest !== undefined) throw invalidParams('Give either source_blob (a tarball with app.json) or manifest (app.json itself), not both.');
    if (blob === undefined && body.manifest === undefined) {
      throw invalidParams('source_blob.url is required: the URL of a .tar.gz of the app with its app.json (create one with POST /sources).');
    }
    let source: SetupRequest['source'] = null;
    if (blob !== undefined) {
      const url = isObject(blob) ? blob.url : undefined;
      if (typeof url !== 'string' || !/^https?:\/\//.test(url)) {
        throw invalidParams('source_blob.url must be an http(s) URL of a .tar.gz archive (create one with POST /sources).');
      }
      const version = isObject(blob) && typeof blob.version === 'string' ? blob.version : null;
      source = { url, version };
    }
    return { name, region: typeof app.region === 'string' ? app.region : null, environment, env, buildpacks, source, manifest: body.manifest };
  }

  private async freeName(): Promise<string> {
    for (let i = 0; i < 20; i++) {
      const name = generateAppName();
      if (!(await this.o.apps.find(name))) return name;
    }
    throw invalidParams('Could not find a free app name; give one in app.name.');
  }

  private resolve(parsed: ParsedAppJson, request: SetupRequest): ResolvedAppJson {
    const resolved = resolveAppJson(parsed.manifest, request.environment);
    if (request.buildpacks) resolved.buildpacks = request.buildpacks;
    return resolved;
  }

  private successUrl(appName: string, resolved: ResolvedAppJson): string | null {
    const target = resolved.successUrl;
    if (!target) return null;
    if (/^https?:\/\//.test(target)) return target;
    return new URL(target, this.o.urls.appWebUrl(appName)).toString();
  }

  private async insert(actor: Account, appId: string, request: SetupRequest, fields: Partial<AppSetupRow>): Promise<AppSetupRow> {
    const stamp = now();
    const row: AppSetupRow = {
      id: newId(),
      account_id: actor.id,
      app_id: appId,
      app_name: request.name,
      environment: request.environment,
      status: 'pending',
      failure_message: null,
      manifest_errors: '[]',
      build_id: null,
      source_url: request.source?.url ?? null,
      resolved_success_url: null,
      created_at: stamp,
      updated_at: stamp,
      ...fields,
    };
    await this.o.db.insertInto('app_setups').values(row).execute();
    return row;
  }

  private async update(id: string, fields: Partial<AppSetupRow>): Promise<void> {
    await this.o.db.updateTable('app_setups').set({ ...fields, updated_at: now() }).where('id', '=', id).execute();
  }

  private async fail(id: string, message: string, manifestErrors: string[] = []): Promise<void> {
    await this.update(id, { status: 'failed', failure_message: message, manifest_errors: JSON.stringify(manifestErrors) });
  }

  /** Source → app.json → app → build → release → postdeploy. */
  private async run(actor: Account, setup: AppSetupRow, request: SetupRequest): Promise<void> {
    const source = request.source!;
    let archive: { path: string; temporary: boolean };
    try {
      archive = await this.fetchSource(source.url, setup.id);
    } catch (err) {
      return this.fail(setup.id, `The source archive could not be fetched: ${(err as Error).message}`);
    }
    try {
      let resolved: ResolvedAppJson;
      let config: Record<string, string>;
      try {
        const text = await readAppJson(archive.path);
        resolved = this.resolve(text === null ? validateAppJson({}) : parseAppJson(text), request);
        config = configVarsFor(resolved, request.env);
      } catch (err) {
        if (err instanceof AppJsonError) return this.fail(setup.id, err.errors.length === 1 ? err.errors[0] : `app.json has ${err.errors.length} problems:\n${err.errors.join('\n')}`, err.errors);
        return this.fail(setup.id, (err as Error).message);
      }
      let appRow: AppRow;
      try {
        ({ app: appRow } = await this.o.manifests.createApp(actor, { id: setup.app_id, name: setup.app_name, region: request.region }, resolved, config));
      } catch (err) {
        return this.fail(setup.id, `The app could not be created: ${(err as Error).message}`);
      }
      const build = archive.temporary
        ? await this.o.builds.createFromArchive(appRow, actor, archive.path, source.version ?? '')
        : await this.o.builds.createFromUrl(appRow, actor, { source_blob: { url: source.url, version: source.version } });
      await this.update(setup.id, { build_id: build.id });
      const outcome = await this.o.builds.outcome(build.id);
      if (!outcome || outcome.build.status !== 'succeeded' || !outcome.release) {
        return this.fail(setup.id, `The build failed: ${outcome?.build.failure_message ?? 'see the build output'}. The app ${appRow.name} was created; fix the source and deploy again.`);
      }
      const release = await this.o.releases.settle(outcome.release);
      if (release.status !== 'succeeded') {
        return this.fail(setup.id, `The release phase of v${release.version} failed; see releases:output v${release.version}. The app ${appRow.name} was created; fix it and deploy again.`);
      }
      const manifest = await this.o.manifests.postdeployFor(appRow.id, release.id);
      if (manifest?.postdeploy_status === 'failed') {
        return this.fail(setup.id, `The postdeploy script failed (exit status ${manifest.postdeploy_exit_code ?? 'none'}); see its output in this setup's postdeploy and in the app's logs.`);
      }
      await this.update(setup.id, { status: 'succeeded', resolved_success_url: this.successUrl(appRow.name, resolved) });
    } finally {
      // The build has read the downloaded archive by now (or never will).
      if (archive.temporary) rmSync(archive.path, { force: true });
    }
  }

  /** Our own source URLs resolve to the stored file; other URLs are downloaded once, with a size limit. */
  private async fetchSource(url: string, setupId: string): Promise<{ path: string; temporary: boolean }> {
    const local = await this.o.sources.localPathFor(url);
    if (local) return { path: local, temporary: false };
    const response = await fetch(url).catch((err) => {
      throw new Error(`downloading from ${new URL(url).host} failed: ${(err as Error).message}`);
    });
    if (!response.ok || !response.body) throw new Error(`downloading it answered HTTP ${response.status}; check source_blob.url`);
    const limit = this.o.maxSourceBytes;
    const path = join(this.o.dataDir, 'tmp', `setup-${setupId}.tgz`);
    await saveLimitedBody(response, path, limit, () => new Error(`it is larger than the ${limit}-byte limit`));
    return { path, temporary: true };
  }

  /** Setups interrupted by a Slipway restart are reported as failed. */
  async failInterrupted(): Promise<void> {
    await this.o.db
      .updateTable('app_setups')
      .set({ status: 'failed', failure_message: 'Slipway restarted while this app setup was running; check the app and deploy again.', updated_at: now() })
      .where('status', '=', 'pending')
      .execute();
  }
}

const isObject = (value: unknown): value is Record<string, any> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** `manifest` as given in the request: app.json text, or the object itself. */
function parseManifest(value: unknown, field: string): ParsedAppJson {
  if (typeof value === 'string') return parseAppJson(value);
  if (isObject(value)) return validateAppJson(value);
  throw invalidParams(`${field} must be the app.json text or object.`);
}

/**
 * The app.json at the root of a source tarball (or inside its single top-level directory, as
 * GitHub archives have it); null when there is none.
 */
export async function readAppJson(tarballPath: string): Promise<string | null> {
  const found = new Map<string, string>();
  const problems = new Map<string, string>();
  const tops = new Set<string>();
  try {
    await tar.list({
      file: tarballPath,
      strict: true,
      onReadEntry: (entry) => {
        const parts = entry.path.split('/').filter((p) => p !== '' && p !== '.');
        if (parts.length > 0) tops.add(parts[0]);
        const isCandidate = parts[parts.length - 1] === 'app.json' && parts.length <= 2;
        if (!isCandidate) return void entry.resume();
        const path = parts.join('/');
        if (entry.type !== 'File' && entry.type !== 'OldFile') {
          problems.set(path, `${path} in the source archive is not a regular file (it is a ${entry.type}); make app.json a plain file.`);
          return void entry.resume();
        }
        if ((entry.size ?? 0) > MAX_APP_JSON_BYTES) {
          problems.set(path, `${path} in the source archive is larger than 1 MB; app.json describes the app, it holds no data.`);
          return void entry.resume();
        }
        const chunks: Buffer[] = [];
        entry.on('data', (c: Buffer) => chunks.push(c));
        entry.on('end', () => found.set(parts.join('/'), Buffer.concat(chunks).toString('utf8')));
      },
    });
  } catch (err) {
    throw new Error(`The source is not a readable .tar.gz archive (${(err as Error).message}); create it from inside the app directory (tar -czf app.tgz -C app .).`);
  }
  const path = found.has('app.json') || problems.has('app.json') ? 'app.json' : tops.size === 1 ? `${[...tops][0]}/app.json` : undefined;
  if (!path) return null;
  const problem = problems.get(path);
  if (problem) throw new Error(problem);
  return found.get(path) ?? null;
}
