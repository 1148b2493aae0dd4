import type { Kysely } from 'kysely';
import { mkdirSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import type { Database, AppRow, BuildRow, ReleaseRow } from '../store/schema.js';
import type { Account } from '../auth/accounts.js';
import type { Builder } from '../build/contract.js';
import { BuildError } from '../build/contract.js';
import { extractSource, SourceError } from '../build/source.js';
import type { ReleaseService } from '../release/releases.js';
import type { OutputStore } from '../logs/output-store.js';
import type { LogHub } from '../logs/log-hub.js';
import type { EventBus } from '../core/events.js';
import type { PublicUrls } from '../core/urls.js';
import type { SourceService } from './sources.js';
import { saveLimitedBody } from './download.js';
import { newId, newSecret, now, isUuid } from '../core/ids.js';
import { invalidParams, notFound } from '../core/errors.js';
import { formatSize } from '../build/slug.js';

export interface BuildServiceOptions {
  db: Kysely<Database>;
  builder: Builder;
  releases: ReleaseService;
  sources: SourceService;
  outputs: OutputStore;
  logs: LogHub;
  events: EventBus;
  urls: PublicUrls;
  dataDir: string;
  maxSourceBytes: number;
}

export interface BuildOutcome {
  build: BuildRow;
  release: ReleaseRow | null;
}

export const buildOutputKey = (buildId: string) => `build-${buildId}`;

/** The line that ends a successful deploy's output: the app's URL. */
export const deployedLine = (urls: PublicUrls, appName: string, slugSize: number | undefined): string =>
  `${urls.appWebUrl(appName)} deployed to Slipway${slugSize === undefined ? '' : ` (slug ${formatSize(slugSize)})`}`;

export interface BuildOptions {
  /**
   * Whether the build output ends with the app's URL. A git push prints it itself, last,
   * once the release phase has passed and the web dynos are up.
   */
  announceUrl?: boolean;
}

/**
 * Builds: fetch a source archive, run the builder, store the slug, and release it.
 * Builds of one app run one at a time (they share its cache); the output is streamed
 * live to `output_stream_url` and to git pushes.
 */
export class BuildService {
  private readonly appQueues = new Map<string, Promise<unknown>>();
  private readonly outcomes = new Map<string, Promise<BuildOutcome>>();

  constructor(private readonly o: BuildServiceOptions) {
    mkdirSync(join(o.dataDir, 'slugs'), { recursive: true });
    mkdirSync(join(o.dataDir, 'tmp'), { recursive: true });
  }

  async list(appId: string): Promise<BuildRow[]> {
    return this.o.db.selectFrom('builds').selectAll().where('app_id', '=', appId).orderBy('created_at').execute();
  }

  async get(appId: string, id: string): Promise<BuildRow> {
    const row = isUuid(id) ? await this.o.db.selectFrom('builds').selectAll().where('app_id', '=', appId).where('id', '=', id).executeTakeFirst() : undefined;
    if (!row) throw notFound('build', `Couldn't find build ${id}.`);
    return row;
  }

  /** `POST /apps/{app}/builds`: the source comes from a URL (ours from POST /sources, or any http(s) URL). */
  async createFromUrl(app: AppRow, actor: Account, body: { source_blob?: { url?: unknown; version?: unknown }; buildpacks?: unknown }): Promise<BuildRow> {
    const url = body?.source_blob?.url;
    if (typeof url !== 'string' || !/^https?:\/\//.test(url)) {
      throw invalidParams('source_blob.url must be an http(s) URL of a .tar.gz archive (create one with POST /sources).');
    }
    const version = typeof body.source_blob?.version === 'string' ? body.source_blob.version : null;
    const buildpacks = parseBuildpacks(body.buildpacks);
    const build = await this.insert(app, actor, url, version, buildpacks ?? JSON.parse(app.buildpacks));
    this.enqueue(app, build, async (writer) => this.fetchSource(url, build.id, writer));
    return build;
  }

  /** A git push: the archive of the pushed commit is already on disk. */
  async createFromArchive(app: AppRow, actor: Account, archivePath: string, version: string, options: BuildOptions = {}): Promise<BuildRow> {
    const build = await this.insert(app, actor, null, version, JSON.parse(app.buildpacks));
    this.enqueue(app, build, async () => ({ path: archivePath, temporary: false }), options);
    return build;
  }

  /** Resolves when the build (and the release it created, if any) is recorded. */
  outcome(buildId: string): Promise<BuildOutcome> | undefined {
    return this.outcomes.get(buildId);
  }

  private async insert(app: AppRow, actor: Account, url: string | null, version: string | null, buildpacks: string[]): Promise<BuildRow> {
    const stamp = now();
    const row: BuildRow = {
      id: newId(),
      app_id: app.id,
      status: 'pending',
      user_id: actor.id,
      source_url: url,
      source_version: version,
      slug_id: null,
      release_id: null,
      buildpacks: JSON.stringify(buildpacks),
      output_token: newSecret(18),
      failure_message: null,
      created_at: stamp,
      updated_at: stamp,
    };
    await this.o.db.insertInto('builds').values(row).execute();
    this.o.events.emit('build.created', { appId: app.id, buildId: row.id });
    return row;
  }

  private enqueue(app: AppRow, build: BuildRow, source: (writer: (line: string) => void) => Promise<{ path: string; temporary: boolean }>, options: BuildOptions = {}): void {
    const writer = this.o.outputs.open(buildOutputKey(build.id));
    const previous = this.appQueues.get(app.id) ?? Promise.resolve();
    const outcome = previous
      .catch(() => undefined)
      .then(() => this.run(app, build, source, (line) => writer.line(line), options.announceUrl ?? true))
      .finally(() => writer.close());
    this.appQueues.set(app.id, outcome);
    this.outcomes.set(build.id, outcome);
    outcome.finally(() => setTimeout(() => this.outcomes.delete(build.id), 60_000).unref());
  }

  private async run(
    app: AppRow,
    build: BuildRow,
    source: (writer: (line: string) => void) => Promise<{ path: string; temporary: boolean }>,
    say: (line: string) => void,
    announceUrl: boolean,
  ): Promise<BuildOutcome> {
    const work = await mkdtemp(join(this.o.dataDir, 'tmp', `build-`));
    let archive: { path: string; temporary: boolean } | undefined;
    this.o.logs.append(app.id, 'slipway', 'build', `Build ${build.id} started`);
    try {
      archive = await source(say);
      const sourceDir = join(work, 'src');
      await extractSource(archive.path, sourceDir);
      // The app row may have changed since the build was queued (config vars).
      const fresh = (await this.o.db.selectFrom('apps').selectAll().where('id', '=', app.id).executeTakeFirst()) ?? app;
      const slugId = newId();
      const slugDir = join(this.o.dataDir, 'slugs', app.id);
      mkdirSync(slugDir, { recursive: true });
      const slugPath = join(slugDir, `${slugId}.tgz`);
      const result = await this.o.builder.build({
        appId: app.id,
        appName: app.name,
        sourceDir,
        cacheDir: join(this.o.dataDir, 'cache', app.id),
        buildpacks: JSON.parse(build.buildpacks) as string[],
        env: JSON.parse(fresh.config) as Record<string, string>,
        slugPath,
        output: say,
        sourceVersion: build.source_version ?? undefined,
      });
      const stamp = now();
      await this.o.db
        .insertInto('slugs')
        .values({
          id: slugId,
          app_id: app.id,
          path: slugPath,
          size: result.slugSize,
          checksum: result.checksum,
          commit: build.source_version,
          commit_description: null,
          process_types: JSON.stringify(result.processTypes),
          buildpack_provided_description: result.description,
          stack: result.stack,
          created_at: stamp,
          updated_at: stamp,
        })
        .execute();
      say('-----> Launching...');
      const actor = { id: build.user_id, email: await this.emailOf(build.user_id) };
      const description = build.source_version ? `Deploy ${build.source_version.slice(0, 8)}` : 'Deploy';
      const release = await this.o.releases.create({ app: fresh, actor, slugId, config: JSON.parse(fresh.config), description });
      if (release.status === 'pending') {
        // Not live yet: whoever waits for the release phase reports how it ended.
        say(` !     Release command declared: v${release.version} goes live only if it succeeds.`);
      } else {
        say(`       Released v${release.version}`);
        if (announceUrl) say(`       ${deployedLine(this.o.urls, app.name, result.slugSize)}`);
      }
      const finished = { ...build, status: 'succeeded', slug_id: slugId, release_id: release.id, buildpacks: JSON.stringify(result.buildpacks), updated_at: now() };
      await this.o.db.updateTable('builds').set({ status: 'succeeded', slug_id: slugId, release_id: release.id, buildpacks: finished.buildpacks, updated_at: finished.updated_at }).where('id', '=', build.id).execute();
      this.o.events.emit('build.finished', { appId: app.id, buildId: build.id, status: 'succeeded' });
      return { build: finished, release };
    } catch (err) {
      const known = err instanceof BuildError || err instanceof SourceError;
      const message = known ? (err as Error).message : `Slipway could not build this app: ${(err as Error).message}`;
      for (const line of message.split('\n')) say(` !     ${line}`);
      const running = (await this.o.releases.current(app.id).catch(() => undefined))?.slug_id;
      say(running ? ' !     Build failed: the app keeps running its current release.' : ` !     Build failed: nothing was deployed (${app.name} has no deployed code yet). Fix the error above and deploy again.`);
      const stamp = now();
      await this.o.db.updateTable('builds').set({ status: 'failed', failure_message: message, updated_at: stamp }).where('id', '=', build.id).execute();
      this.o.logs.append(app.id, 'slipway', 'build', `Build ${build.id} failed`);
      this.o.events.emit('build.finished', { appId: app.id, buildId: build.id, status: 'failed' });
      return { build: { ...build, status: 'failed', failure_message: message, updated_at: stamp }, release: null };
    } finally {
      rmSync(work, { recursive: true, force: true });
      if (archive?.temporary) rmSync(archive.path, { force: true });
    }
  }

  private async emailOf(accountId: string): Promise<string> {
    const row = await this.o.db.selectFrom('accounts').select('email').where('id', '=', accountId).executeTakeFirst();
    return row?.email ?? 'unknown';
  }

  /** Our own source URLs resolve to the stored file; other URLs are downloaded with a size limit. */
  private async fetchSource(url: string, buildId: string, say: (line: string) => void): Promise<{ path: string; temporary: boolean }> {
    const local = await this.o.sources.localPathFor(url).catch((err) => {
      throw new SourceError((err as Error).message);
    });
    if (local) return { path: local, temporary: false };
    say('-----> Fetching source archive');
    const path = join(this.o.dataDir, 'tmp', `source-${buildId}.tgz`);
    const response = await fetch(url).catch((err) => {
      throw new SourceError(`Could not download the source archive from ${new URL(url).host}: ${(err as Error).message}`);
    });
    if (!response.ok || !response.body) throw new SourceError(`Downloading the source archive failed with HTTP ${response.status}; check source_blob.url.`);
    const limit = this.o.maxSourceBytes;
    await saveLimitedBody(response, path, limit, (declared) =>
      declared
        ? new SourceError(`The source archive is ${formatSize(declared)}, above the ${formatSize(limit)} limit.`)
        : new SourceError(`The source archive is larger than the ${formatSize(limit)} limit.`),
    );
    return { path, temporary: true };
  }

  /** Builds interrupted by a Slipway restart are reported as failed, not left pending forever. */
  async failInterrupted(): Promise<void> {
    const stamp = now();
    await this.o.db
      .updateTable('builds')
      .set({ status: 'failed', failure_message: 'Slipway restarted while this build was running; start it again.', updated_at: stamp })
      .where('status', '=', 'pending')
      .execute();
  }
}

function parseBuildpacks(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw invalidParams('buildpacks must be a list of {"url": "..."} objects.');
  return value.map((b) => {
    const url = typeof b === 'string' ? b : (b as { url?: unknown })?.url;
    if (typeof url !== 'string' || url === '') throw invalidParams('Each buildpack needs a "url" (a name like heroku/nodejs, a path or a git URL).');
    return url;
  });
}
