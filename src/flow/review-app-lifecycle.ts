/**
 * What happens to one review app: created from a commit's app.json (`environments.review`)
 * through an app setup and coupled at the `review` stage; new commits deployed to it;
 * destroyed. A review app that cannot be made ends `errored` with the reason, and leaves no app.
 */
import type { Kysely } from 'kysely';
import type { Database, ProjectRow, ReviewAppRow } from '../store/schema.js';
import type { Account, AccountService } from '../auth/accounts.js';
import type { AppService } from '../apps/apps.js';
import type { AppSetupService } from '../deploy/app-setups.js';
import type { PipelineService } from './pipelines.js';
import type { CommitSources } from './commit-sources.js';
import type { CommitDeployer } from './commit-deploy.js';
import { settledSetup } from './app-setup-wait.js';
import { now } from '../core/ids.js';

export interface ReviewAppLifecycleDeps {
  db: Kysely<Database>;
  apps: AppService;
  accounts: AccountService;
  pipelines: PipelineService;
  appSetups: AppSetupService;
  sources: CommitSources;
  deployer: CommitDeployer;
}

export class ReviewAppLifecycle {
  constructor(private readonly o: ReviewAppLifecycleDeps) {}

  async update(id: string, fields: Partial<ReviewAppRow>): Promise<void> {
    await this.o.db.updateTable('review_apps').set({ ...fields, updated_at: now() }).where('id', '=', id).execute();
  }

  async row(id: string): Promise<ReviewAppRow | undefined> {
    return this.o.db.selectFrom('review_apps').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Sets the app up from the commit (or the given source URL), then couples it at `review`. */
  async create(id: string, project: ProjectRow | null, sourceUrl?: string): Promise<void> {
    const row = await this.row(id);
    if (!row || row.status !== 'pending') return;
    const actor = await this.o.accounts.getById(row.creator_id);
    if (!actor) return this.errored(row, 'The account that asked for this review app no longer exists.');
    await this.update(id, { status: 'creating', message: `Creating ${row.app_name} from ${row.sha?.slice(0, 7) ?? 'the source'}` });
    let setupId: string;
    let appId: string;
    try {
      const url = sourceUrl ?? (project && row.sha ? await this.o.sources.sourceUrl(actor, project, row.sha) : null);
      if (!url) return this.errored(row, 'There is no source to build the review app from.');
      const setup = await this.o.appSetups.create(actor, {
        app: { name: row.app_name },
        source_blob: { url, version: row.sha },
        environment: 'review',
        overrides: { env: JSON.parse(row.environment) as Record<string, string> },
      });
      setupId = setup.id;
      appId = setup.app_id;
    } catch (err) {
      return this.errored(row, `The review app could not be created: ${(err as Error).message}`);
    }
    await this.update(id, { app_setup_id: setupId, app_id: appId });
    const done = await settledSetup(this.o.db, setupId);
    if (done.status !== 'succeeded') {
      await this.removeApp(appId, actor);
      return this.errored(row, `The review app could not be created: ${done.failure_message ?? 'the app setup failed'}`);
    }
    try {
      await this.o.pipelines.couple(actor, { app: appId, pipeline: row.pipeline_id, stage: 'review' });
    } catch (err) {
      await this.removeApp(appId, actor);
      return this.errored(row, `The review app could not join the pipeline: ${(err as Error).message}`);
    }
    const stamp = now();
    await this.update(id, { status: 'created', message: `Deployed ${row.sha?.slice(0, 7) ?? 'the source'}`, error_status: null, last_deployed_at: stamp });
  }

  /** Builds a new commit of the branch on the review app; a failed build leaves the old one running. */
  async deploy(id: string, project: ProjectRow, sha: string): Promise<void> {
    const row = await this.row(id);
    if (!row || row.status !== 'created' || row.sha === sha) return;
    const app = row.app_id ? await this.o.apps.getById(row.app_id) : undefined;
    if (!app) return this.update(id, { status: 'deleted', message: `Its app ${row.app_name} was destroyed outside of review apps.` });
    const actor = await this.o.accounts.getById(row.creator_id);
    if (!actor) return this.update(id, { message: `${sha.slice(0, 7)} was not deployed: the account that created this review app no longer exists.` });
    await this.update(id, { message: `Deploying ${sha.slice(0, 7)}` });
    const built = await this.o.deployer.build(app, actor, project, sha);
    if (built.error) {
      return this.update(id, { message: `Deploying ${sha.slice(0, 7)} failed: ${built.error}; it keeps running ${row.sha?.slice(0, 7) ?? 'its previous release'}.`, error_status: built.error });
    }
    await this.update(id, { sha, message: `Deployed ${sha.slice(0, 7)}`, error_status: null, last_deployed_at: now() });
  }

  /** Destroys the review app's app; the record stays, `deleted`, with the reason. */
  async destroy(id: string, reason: string): Promise<void> {
    const row = await this.row(id);
    if (!row || row.status === 'deleted') return;
    await this.update(id, { status: 'deleting', message: reason });
    const app = row.app_id ? await this.o.apps.getById(row.app_id) : undefined;
    if (app) {
      const owner = await this.o.accounts.getById(app.owner_id);
      if (owner) await this.o.apps.destroy(owner, app.id);
    }
    await this.update(id, { status: 'deleted', message: reason });
  }

  private async removeApp(appId: string, actor: Account): Promise<void> {
    const app = await this.o.apps.getById(appId);
    if (app) await this.o.apps.destroy(actor, app.id).catch((err) => console.error(`[flow] removing review app ${app.name} failed:`, err));
  }

  private async errored(row: ReviewAppRow, message: string): Promise<void> {
    await this.update(row.id, { status: 'errored', message, error_status: message });
  }
}
