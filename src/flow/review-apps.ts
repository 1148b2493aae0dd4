/**
 * Review apps: one app per branch (or merge request) of the connected project, created from the
 * commit's app.json `environments.review`, coupled at the `review` stage, following its branch,
 * and destroyed when the merge request is merged or closed, the branch is deleted, or it stays
 * idle too long. The records (Heroku's review-app resource) outlive their apps.
 */
import type { Kysely } from 'kysely';
import { randomBytes } from 'node:crypto';
import type { Database, PipelineRow, ProjectRow, ReviewAppConfigRow, ReviewAppRow } from '../store/schema.js';
import type { Account } from '../auth/accounts.js';
import type { AppService } from '../apps/apps.js';
import type { PipelineService } from './pipelines.js';
import type { PipelineConnectionService } from './connections.js';
import type { ReviewAppConfigService } from './review-app-config.js';
import type { ReviewAppLifecycle } from './review-app-lifecycle.js';
import type { CommitSources } from './commit-sources.js';
import { KeyedQueue } from './keyed-queue.js';
import { appNameFrom } from './app-setup-wait.js';
import { conflict, forbidden, invalidParams, notFound } from '../core/errors.js';
import { isUuid, newId, now } from '../core/ids.js';

export interface ReviewAppServiceOptions {
  db: Kysely<Database>;
  apps: AppService;
  pipelines: PipelineService;
  connections: PipelineConnectionService;
  configs: ReviewAppConfigService;
  lifecycle: ReviewAppLifecycle;
  sources: CommitSources;
  /** The app's web URL. */
  appUrl(appName: string): string;
}

export interface NewReviewApp {
  pipeline: PipelineRow;
  config: ReviewAppConfigRow;
  project: ProjectRow | null;
  branch: string;
  sha: string | null;
  creatorId: string;
  mergeRequest?: { id: string; iid: number } | null;
  environment?: Record<string, string>;
  sourceUrl?: string;
}

const LIVE = ['pending', 'creating', 'created'];
const reviewAppNotFound = (id: string) => notFound('review-app', `Couldn't find review app ${id}.`);

export class ReviewAppService {
  readonly queue = new KeyedQueue();

  constructor(readonly o: ReviewAppServiceOptions) {}

  /** Review apps of a pipeline that have not been deleted, newest first. */
  async list(actor: Account, pipelineIdOrName: string): Promise<ReviewAppRow[]> {
    const pipeline = await this.o.pipelines.resolve(actor, pipelineIdOrName);
    return this.o.db.selectFrom('review_apps').selectAll().where('pipeline_id', '=', pipeline.id).where('status', '!=', 'deleted').orderBy('created_at', 'desc').execute();
  }

  async get(actor: Account, id: string): Promise<ReviewAppRow> {
    const row = isUuid(id) ? await this.o.lifecycle.row(id) : undefined;
    if (!row) throw reviewAppNotFound(id);
    await this.o.pipelines.resolve(actor, row.pipeline_id).catch(() => {
      throw reviewAppNotFound(id);
    });
    return row;
  }

  /** The review app of an app (GET /apps/{app}/review-app). */
  async forApp(actor: Account, appIdOrName: string): Promise<ReviewAppRow> {
    const app = await this.o.apps.resolve(actor, appIdOrName);
    const row = await this.o.db.selectFrom('review_apps').selectAll().where('app_id', '=', app.id).orderBy('created_at', 'desc').executeTakeFirst();
    if (!row) throw notFound('review-app', `${app.name} is not a review app.`);
    return row;
  }

  /** The live review app of a merge request, for the merge request's JSON. */
  async forMergeRequest(mergeRequestId: string): Promise<{ id: string; name: string; url: string | null; status: string; message: string | null } | null> {
    const row = await this.o.db
      .selectFrom('review_apps')
      .selectAll()
      .where('merge_request_id', '=', mergeRequestId)
      .where('status', '!=', 'deleted')
      .orderBy('created_at', 'desc')
      .executeTakeFirst();
    if (!row) return null;
    return { id: row.id, name: row.app_name, url: row.status === 'created' ? this.o.appUrl(row.app_name) : null, status: row.status, message: row.message };
  }

  /** POST /review-apps: a review app for a branch, from its tip (source_blob.url "resolve") or a tarball URL. */
  async createFromApi(actor: Account, body: Record<string, unknown>): Promise<ReviewAppRow> {
    if (typeof body.pipeline !== 'string' || body.pipeline === '') throw invalidParams('pipeline must be the id of a pipeline.');
    if (typeof body.branch !== 'string' || body.branch === '') throw invalidParams('branch must be the name of a branch.');
    const blob = (body.source_blob ?? {}) as { url?: unknown; version?: unknown };
    if (typeof blob !== 'object' || blob === null) throw invalidParams('source_blob must be {"url": "resolve"} or {"url": "https://…/app.tgz", "version": "…"}.');
    const pipeline = await this.o.pipelines.resolveOwned(actor, body.pipeline);
    const { config } = await this.o.configs.get(actor, pipeline.id);
    const project = await this.o.connections.projectOf(pipeline);
    let sha = typeof blob.version === 'string' && blob.version !== '' ? blob.version : null;
    let sourceUrl: string | undefined;
    if (typeof blob.url === 'string' && /^https?:\/\//.test(blob.url)) {
      sourceUrl = blob.url;
    } else if (blob.url === undefined || blob.url === 'resolve') {
      if (!project) throw invalidParams(`${pipeline.name} is not connected to a CI project, so branch ${body.branch} cannot be resolved; give source_blob.url.`);
      sha = await this.o.sources.branchTip(project, body.branch);
      if (!sha) throw invalidParams(`${project.name} has no branch ${body.branch}; push it first.`);
    } else {
      throw invalidParams('source_blob.url must be "resolve" (the branch tip of the connected project) or an http(s) URL of a .tar.gz.');
    }
    if (await this.liveFor(pipeline.id, body.branch)) throw conflict(`${pipeline.name} already has a review app for ${body.branch}.`);
    const environment = body.environment ?? {};
    if (typeof environment !== 'object' || environment === null || Object.values(environment).some((v) => typeof v !== 'string')) {
      throw invalidParams('environment must be an object of config vars, e.g. {"FEATURE": "on"}.');
    }
    const pr = body.pr_number;
    if (pr !== undefined && pr !== null && !Number.isInteger(pr)) throw invalidParams('pr_number must be a whole number.');
    const mr = project && typeof pr === 'number' ? await this.o.db.selectFrom('merge_requests').select(['id', 'iid']).where('project_id', '=', project.id).where('iid', '=', pr).executeTakeFirst() : undefined;
    return this.start({ pipeline, config, project, branch: body.branch, sha, creatorId: actor.id, mergeRequest: mr ?? null, environment: environment as Record<string, string>, ...(sourceUrl ? { sourceUrl } : {}) });
  }

  /** DELETE /review-apps/{id}: destroys it in the background. */
  async destroyFromApi(actor: Account, id: string): Promise<ReviewAppRow> {
    const row = await this.get(actor, id);
    const pipeline = await this.o.pipelines.resolve(actor, row.pipeline_id);
    if (!actor.admin && pipeline.owner_id !== actor.id && row.creator_id !== actor.id) throw forbidden(`Only the owner of ${pipeline.name} can delete its review apps.`);
    if (row.status === 'deleted') return row;
    this.destroy(row, `Deleted by ${actor.email}`);
    return { ...row, status: 'deleting' };
  }

  /** Records a review app and creates it in the background. */
  async start(input: NewReviewApp): Promise<ReviewAppRow> {
    const base = input.config.base_name ?? input.pipeline.name;
    const suffix = input.mergeRequest ? `pr-${input.mergeRequest.iid}` : input.branch;
    let name = appNameFrom(base, suffix);
    if (await this.o.db.selectFrom('apps').select('id').where('name', '=', name).executeTakeFirst()) name = appNameFrom(base, `${suffix.slice(0, 12)}-${randomBytes(2).toString('hex')}`);
    const stamp = now();
    const row: ReviewAppRow = {
      id: newId(),
      pipeline_id: input.pipeline.id,
      project_id: input.project?.id ?? null,
      branch: input.branch,
      pr_number: input.mergeRequest?.iid ?? null,
      merge_request_id: input.mergeRequest?.id ?? null,
      app_id: null,
      app_name: name,
      app_setup_id: null,
      sha: input.sha,
      status: 'pending',
      message: null,
      error_status: null,
      creator_id: input.creatorId,
      wait_for_ci: input.config.wait_for_ci,
      environment: JSON.stringify(input.environment ?? {}),
      last_deployed_at: null,
      created_at: stamp,
      updated_at: stamp,
    };
    await this.o.db.insertInto('review_apps').values(row).execute();
    this.queue.spawn(row.id, `creating review app ${name}`, () => this.o.lifecycle.create(row.id, input.project, input.sourceUrl));
    return row;
  }

  deploy(row: ReviewAppRow, project: ProjectRow, sha: string): void {
    this.queue.spawn(row.id, `deploying ${sha.slice(0, 7)} to ${row.app_name}`, () => this.o.lifecycle.deploy(row.id, project, sha));
  }

  destroy(row: ReviewAppRow, reason: string): void {
    this.queue.spawn(row.id, `destroying review app ${row.app_name}`, () => this.o.lifecycle.destroy(row.id, reason));
  }

  /** The review app of a branch that exists or is on its way. */
  liveFor(pipelineId: string, branch: string): Promise<ReviewAppRow | undefined> {
    return this.o.db.selectFrom('review_apps').selectAll().where('pipeline_id', '=', pipelineId).where('branch', '=', branch).where('status', 'in', LIVE).orderBy('created_at', 'desc').executeTakeFirst();
  }

  async idle(): Promise<void> {
    await this.queue.idle();
  }
}
