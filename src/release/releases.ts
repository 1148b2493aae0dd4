import type { Kysely } from 'kysely';
import type { Database, AppRow, ReleaseRow, SlugRow } from '../store/schema.js';
import type { Account } from '../auth/accounts.js';
import type { EventBus } from '../core/events.js';
import type { LogHub } from '../logs/log-hub.js';
import type { OutputStore } from '../logs/output-store.js';
import { newId, newSecret, now, isUuid } from '../core/ids.js';
import { currentRelease } from '../store/queries.js';
import { conflict, invalidParams, notFound } from '../core/errors.js';

/** Runs a release's `release:` command as a one-off process (implemented by the dyno manager). */
export interface ReleasePhaseRunner {
  runReleasePhase(input: {
    app: AppRow;
    release: ReleaseRow;
    slug: SlugRow;
    command: string;
    output: (line: string) => void;
  }): Promise<{ exitCode: number | null; reason?: string }>;
}

export interface NewRelease {
  app: AppRow;
  actor: Pick<Account, 'id' | 'email'>;
  slugId: string | null;
  config: Record<string, string>;
  description: string;
}

export const releaseOutputKey = (releaseId: string) => `release-${releaseId}`;
export const parseConfig = (json: string): Record<string, string> => JSON.parse(json) as Record<string, string>;

/**
 * Releases: slug + config snapshot + release-phase result, numbered per app. Every config
 * change, deploy and rollback makes a new one; a release becomes current only when its
 * release phase (if any) succeeds.
 */
export class ReleaseService {
  private readonly settled = new Map<string, Promise<ReleaseRow>>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly events: EventBus,
    private readonly logs: LogHub,
    private readonly outputs: OutputStore,
    private readonly phaseRunner: ReleasePhaseRunner,
  ) {}

  async list(appId: string): Promise<ReleaseRow[]> {
    return this.db.selectFrom('releases').selectAll().where('app_id', '=', appId).orderBy('version').execute();
  }

  async get(appId: string, idOrVersion: string): Promise<ReleaseRow> {
    const text = idOrVersion.replace(/^v(?=\d+$)/, '');
    let query = this.db.selectFrom('releases').selectAll().where('app_id', '=', appId);
    if (/^\d+$/.test(text)) query = query.where('version', '=', Number(text));
    else if (isUuid(text)) query = query.where('id', '=', text);
    else throw notFound('release', `Release ${JSON.stringify(idOrVersion)} is not a version (v3) or a release id.`);
    const row = await query.executeTakeFirst();
    if (!row) throw notFound('release', `Couldn't find release ${idOrVersion}.`);
    return row;
  }

  current(appId: string): Promise<ReleaseRow | undefined> {
    return currentRelease(this.db, appId);
  }

  async slug(slugId: string | null): Promise<SlugRow | undefined> {
    if (!slugId) return undefined;
    return this.db.selectFrom('slugs').selectAll().where('id', '=', slugId).executeTakeFirst();
  }

  /**
   * Records a new release. Without a release phase it is current at once; with one it is
   * `pending` until the phase finishes (see `settle`).
   */
  async create(input: NewRelease): Promise<ReleaseRow> {
    const slug = await this.slug(input.slugId);
    const releaseCommand = slug ? (JSON.parse(slug.process_types) as Record<string, string>).release ?? null : null;
    const row = await this.insertNumbered(input, releaseCommand);
    this.logs.append(input.app.id, 'app', 'api', `Release v${row.version} created by user ${input.actor.email}`);
    this.events.emit('release.created', { appId: input.app.id, releaseId: row.id, version: row.version });
    if (releaseCommand && slug) {
      this.settled.set(row.id, this.runPhase(input.app, row, slug, releaseCommand));
    } else {
      await this.becameCurrent(input.app, row);
    }
    return row;
  }

  /** Resolves when the release has left `pending`. */
  async settle(release: ReleaseRow): Promise<ReleaseRow> {
    return (await this.settled.get(release.id)) ?? (await this.db.selectFrom('releases').selectAll().where('id', '=', release.id).executeTakeFirstOrThrow());
  }

  private async insertNumbered(input: NewRelease, releaseCommand: string | null): Promise<ReleaseRow> {
    // Version numbers come from max+1; the unique (app, version) index resolves races.
    for (let attempt = 0; attempt < 5; attempt++) {
      const last = await this.db
        .selectFrom('releases')
        .select('version')
        .where('app_id', '=', input.app.id)
        .orderBy('version', 'desc')
        .limit(1)
        .executeTakeFirst();
      const stamp = now();
      const row: ReleaseRow = {
        id: newId(),
        app_id: input.app.id,
        version: (last?.version ?? 0) + 1,
        description: input.description,
        status: releaseCommand ? 'pending' : 'succeeded',
        slug_id: input.slugId,
        config: JSON.stringify(input.config),
        user_id: input.actor.id,
        release_command: releaseCommand,
        output_token: newSecret(18),
        created_at: stamp,
        updated_at: stamp,
      };
      try {
        await this.db.insertInto('releases').values(row).execute();
        return row;
      } catch (err) {
        if (!String(err).match(/unique|duplicate/i)) throw err;
      }
    }
    throw conflict('Too many releases were created at once for this app; try again.');
  }

  private async runPhase(app: AppRow, release: ReleaseRow, slug: SlugRow, command: string): Promise<ReleaseRow> {
    const writer = this.outputs.open(releaseOutputKey(release.id));
    let status = 'failed';
    try {
      const result = await this.phaseRunner.runReleasePhase({ app, release, slug, command, output: (line) => writer.line(line) });
      if (result.exitCode === 0) status = 'succeeded';
      else writer.line(`Release command failed (${result.reason ?? `exit status ${result.exitCode}`}); v${release.version} was not deployed.`);
    } catch (err) {
      writer.line(`Release phase could not run: ${(err as Error).message}`);
    } finally {
      await writer.close();
    }
    const updated = { ...release, status, updated_at: now() };
    await this.db.updateTable('releases').set({ status, updated_at: updated.updated_at }).where('id', '=', release.id).execute();
    this.events.emit('release.updated', { appId: app.id, releaseId: release.id, version: release.version, status });
    if (status === 'succeeded') await this.becameCurrent(app, updated);
    else this.logs.append(app.id, 'slipway', 'release', `Release v${release.version} failed: its release command exited non-zero`);
    this.settled.delete(release.id);
    return updated;
  }

  private async becameCurrent(app: AppRow, release: ReleaseRow): Promise<void> {
    const stamp = now();
    await this.db.updateTable('apps').set({ released_at: stamp, updated_at: stamp }).where('id', '=', app.id).execute();
    this.logs.append(app.id, 'slipway', 'api', `Release v${release.version} is now current: ${release.description}`);
    this.events.emit('app.desired-state', { appId: app.id, reason: `release v${release.version}` });
  }

  /** Config change: updates the app's config and releases it with the current slug. */
  async updateConfig(app: AppRow, actor: Account, patch: Record<string, string | null>): Promise<{ config: Record<string, string>; release: ReleaseRow | null }> {
    const config = parseConfig(app.config);
    const set: string[] = [];
    const removed: string[] = [];
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) {
        if (key in config) removed.push(key);
        delete config[key];
      } else {
        if (config[key] !== value) set.push(key);
        config[key] = value;
      }
    }
    if (set.length === 0 && removed.length === 0) return { config, release: null };
    const stamp = now();
    await this.db.updateTable('apps').set({ config: JSON.stringify(config), updated_at: stamp }).where('id', '=', app.id).execute();
    const parts = [set.length ? `Set ${set.join(', ')} config vars` : '', removed.length ? `Remove ${removed.join(', ')} config vars` : ''];
    const current = await this.current(app.id);
    const release = await this.create({
      app: { ...app, config: JSON.stringify(config) },
      actor,
      slugId: current?.slug_id ?? null,
      config,
      description: parts.filter(Boolean).join('; '),
    });
    return { config, release };
  }

  /** Restores an earlier release's slug and config as a new release. */
  async rollback(app: AppRow, actor: Account, target: string): Promise<ReleaseRow> {
    const release = await this.get(app.id, target);
    if (release.status !== 'succeeded') {
      throw invalidParams(`v${release.version} ${release.status === 'failed' ? 'failed' : 'is not finished'}; only a succeeded release can be rolled back to.`);
    }
    // A release made before the first build has no code: rolling back to it would stop every dyno.
    if (!release.slug_id) {
      throw invalidParams(
        `v${release.version} (${release.description}) has no build: it was made before ${app.name}'s first deploy, so rolling back to it would stop every dyno. ` +
          'Pick a release that has a build (made after the first deploy); `slipway releases` lists them.',
      );
    }
    const config = parseConfig(release.config);
    await this.db.updateTable('apps').set({ config: release.config, updated_at: now() }).where('id', '=', app.id).execute();
    return this.create({ app, actor, slugId: release.slug_id, config, description: `Rollback to v${release.version}` });
  }

  /** Releases interrupted by a Slipway restart can't finish: say so instead of staying pending. */
  async failInterrupted(): Promise<number> {
    const pending = await this.db.selectFrom('releases').select(['id', 'app_id', 'version']).where('status', '=', 'pending').execute();
    for (const release of pending) {
      await this.db.updateTable('releases').set({ status: 'failed', updated_at: now() }).where('id', '=', release.id).execute();
      this.logs.append(release.app_id, 'slipway', 'release', `Release v${release.version} failed: Slipway restarted during its release phase`);
      this.events.emit('release.updated', { appId: release.app_id, releaseId: release.id, version: release.version, status: 'failed' });
    }
    return pending.length;
  }
}
