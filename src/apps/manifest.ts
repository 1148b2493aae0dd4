/**
 * Applies a resolved app.json to a new app: config vars, buildpacks, formation, the add-ons it
 * asked for (recorded: Slipway has no add-ons yet) and the postdeploy script, which runs once,
 * on a one-off dyno, after the app's first successful deploy.
 */
import type { Kysely } from 'kysely';
import type { Database, AppRow, AppManifestRow, ReleaseRow, SlugRow } from '../store/schema.js';
import type { Account } from '../auth/accounts.js';
import type { EventBus } from '../core/events.js';
import type { LogHub } from '../logs/log-hub.js';
import type { ReleaseService } from '../release/releases.js';
import type { AppService, CreateAppInput } from './apps.js';
import { addonsNotice, type ResolvedAppJson } from '../core/app-json.js';
import { DEFAULT_SIZE } from '../core/formation.js';
import { newId, now } from '../core/ids.js';

/** Runs a script to completion on a one-off dyno of a release (implemented by the runtime). */
export interface PostdeployRunner {
  runPostdeploy(input: {
    app: AppRow;
    release: ReleaseRow;
    slug: SlugRow;
    command: string;
    size: string;
    output: (line: string) => void;
  }): Promise<{ exitCode: number | null; reason?: string }>;
}

export interface ManifestServiceOptions {
  db: Kysely<Database>;
  apps: AppService;
  releases: ReleaseService;
  logs: LogHub;
  events: EventBus;
  runner: PostdeployRunner;
}

export interface AppliedManifest {
  app: AppRow;
  /** Things the user should know: add-ons not provisioned, stack or image not used. */
  notices: string[];
}

/** The most postdeploy output kept on the record (the end of it); the app log has all of it. */
const MAX_OUTPUT_CHARS = 64 * 1024;
export class ManifestService {
  /** Per app: postdeploy checks run one after another, in event order. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly o: ManifestServiceOptions) {
    o.events.on('release.created', ({ appId, releaseId }) => void this.postdeployFor(appId, releaseId));
    o.events.on('release.updated', ({ appId, releaseId, status }) => {
      if (status === 'succeeded') void this.postdeployFor(appId, releaseId);
    });
  }

  /**
   * Creates an app and applies the manifest to it. If anything fails after the app row exists,
   * the app is destroyed again: no half-created app is left behind.
   */
  async createApp(actor: Account, input: CreateAppInput, resolved: ResolvedAppJson, config: Record<string, string>): Promise<AppliedManifest> {
    const app = await this.o.apps.create(actor, input);
    try {
      return await this.apply(app, actor, resolved, config);
    } catch (err) {
      await this.o.apps.destroy(actor, app.id).catch(() => undefined);
      throw err;
    }
  }

  private async apply(app: AppRow, actor: Account, resolved: ResolvedAppJson, config: Record<string, string>): Promise<AppliedManifest> {
    const stamp = now();
    const postdeploy = resolved.scripts.postdeploy;
    const configJson = JSON.stringify(config);
    const buildpacks = JSON.stringify(resolved.buildpacks);
    await this.o.db.transaction().execute(async (trx) => {
      await trx.updateTable('apps').set({ config: configJson, buildpacks, updated_at: stamp }).where('id', '=', app.id).execute();
      // Formation rows made now are kept by the dyno manager when the first slug brings
      // these process types (it only adds types it does not know), so they apply from the start.
      for (const [type, entry] of Object.entries(resolved.formation)) {
        await trx
          .insertInto('formations')
          .values({
            id: newId(),
            app_id: app.id,
            type,
            quantity: entry.quantity ?? (type === 'web' ? 1 : 0),
            size: entry.size ?? DEFAULT_SIZE,
            created_at: stamp,
            updated_at: stamp,
          })
          .execute();
      }
      await trx
        .insertInto('app_manifests')
        .values({
          app_id: app.id,
          environment: resolved.environment,
          manifest: JSON.stringify(resolved),
          addons: JSON.stringify(resolved.addons),
          postdeploy_command: postdeploy?.command ?? null,
          postdeploy_size: postdeploy?.size ?? null,
          postdeploy_status: postdeploy ? 'pending' : null,
          postdeploy_exit_code: null,
          postdeploy_output: null,
          postdeploy_release_id: null,
          created_at: stamp,
          updated_at: stamp,
        })
        .execute();
    });
    const fresh: AppRow = { ...app, config: configJson, buildpacks, updated_at: stamp };
    await this.o.releases.create({ app: fresh, actor, slugId: null, config, description: 'Initial release' });

    const notices: string[] = [];
    const addons = addonsNotice(resolved.addons);
    if (addons) notices.push(addons);
    if (resolved.stack && resolved.stack !== app.stack) notices.push(`app.json asks for stack ${resolved.stack}; Slipway builds every app on ${app.stack}.`);
    if (resolved.image) notices.push(`app.json names the image ${resolved.image}; Slipway builds with buildpacks and does not use it.`);
    const summary = [
      `${Object.keys(config).length} config vars`,
      resolved.buildpacks.length ? `buildpacks ${resolved.buildpacks.join(', ')}` : 'buildpacks detected at build time',
      Object.keys(resolved.formation).length ? `formation ${Object.entries(resolved.formation).map(([t, f]) => `${t}=${f.quantity ?? '-'}:${f.size ?? DEFAULT_SIZE}`).join(' ')}` : '',
      postdeploy ? 'a postdeploy script (runs after the first deploy)' : '',
    ].filter(Boolean);
    const env = resolved.environment ? ` (environment ${resolved.environment})` : '';
    this.o.logs.append(app.id, 'slipway', 'setup', `app.json applied${env}: ${summary.join(', ')}`);
    for (const notice of notices) this.o.logs.append(app.id, 'slipway', 'setup', notice);
    return { app: fresh, notices };
  }

  async get(appId: string): Promise<AppManifestRow | undefined> {
    return this.o.db.selectFrom('app_manifests').selectAll().where('app_id', '=', appId).executeTakeFirst();
  }

  /**
   * Runs the postdeploy script if this release is the app's first successful deploy and the
   * script has not run yet; resolves with the manifest record once any run has finished.
   * Calls for one app are queued, so a caller that waits here sees the run an event started.
   */
  postdeployFor(appId: string, releaseId: string): Promise<AppManifestRow | undefined> {
    const previous = this.queues.get(appId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.maybeRunPostdeploy(appId, releaseId));
    this.queues.set(appId, next);
    void next.finally(() => {
      if (this.queues.get(appId) === next) this.queues.delete(appId);
    }).catch(() => undefined);
    return next;
  }

  private async maybeRunPostdeploy(appId: string, releaseId: string): Promise<AppManifestRow | undefined> {
    const { db } = this.o;
    const manifest = await this.get(appId);
    if (!manifest || manifest.postdeploy_status !== 'pending' || !manifest.postdeploy_command) return manifest;
    const release = await db.selectFrom('releases').selectAll().where('id', '=', releaseId).executeTakeFirst();
    if (!release || release.status !== 'succeeded' || !release.slug_id) return manifest;
    const slug = await db.selectFrom('slugs').selectAll().where('id', '=', release.slug_id).executeTakeFirst();
    const app = await this.o.apps.getById(appId);
    if (!slug || !app) return manifest;
    // Claim the run: exactly one caller moves it from pending to running.
    const claimed = await db
      .updateTable('app_manifests')
      .set({ postdeploy_status: 'running', postdeploy_release_id: release.id, updated_at: now() })
      .where('app_id', '=', appId)
      .where('postdeploy_status', '=', 'pending')
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) !== 1) return this.get(appId);

    const command = manifest.postdeploy_command;
    this.o.logs.append(appId, 'slipway', 'postdeploy', `Running the app.json postdeploy script on v${release.version}: ${command}`);
    let output = '';
    const keep = (line: string) => {
      output += `${line}\n`;
      if (output.length > MAX_OUTPUT_CHARS * 2) output = output.slice(-MAX_OUTPUT_CHARS);
    };
    let exitCode: number | null = null;
    let reason: string | undefined;
    try {
      const result = await this.o.runner.runPostdeploy({ app, release, slug, command, size: manifest.postdeploy_size ?? DEFAULT_SIZE, output: keep });
      exitCode = result.exitCode;
      reason = result.reason;
    } catch (err) {
      reason = `it could not start: ${(err as Error).message}`;
    }
    const status = exitCode === 0 ? 'succeeded' : 'failed';
    if (status === 'succeeded') {
      this.o.logs.append(appId, 'slipway', 'postdeploy', 'The postdeploy script succeeded');
    } else {
      const why = reason ?? `exit status ${exitCode}`;
      keep(`postdeploy script failed (${why})`);
      this.o.logs.append(appId, 'slipway', 'postdeploy', `The postdeploy script failed (${why}); it will not run again. Fix the problem and run it by hand: slipway run -a ${app.name} -- ${command}`);
    }
    await db
      .updateTable('app_manifests')
      .set({ postdeploy_status: status, postdeploy_exit_code: exitCode, postdeploy_output: output.slice(-MAX_OUTPUT_CHARS), updated_at: now() })
      .where('app_id', '=', appId)
      .execute();
    return this.get(appId);
  }

  /** A postdeploy script that was running when Slipway stopped is reported as failed, not rerun. */
  async failInterrupted(): Promise<void> {
    await this.o.db
      .updateTable('app_manifests')
      .set({ postdeploy_status: 'failed', postdeploy_output: 'Slipway restarted while the postdeploy script was running; run it by hand with `slipway run`.\n', updated_at: now() })
      .where('postdeploy_status', '=', 'running')
      .execute();
  }
}
