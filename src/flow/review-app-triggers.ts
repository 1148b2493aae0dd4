/**
 * What makes review apps come and go: pushes to branches other than the default one, merge
 * requests opened, merged or closed, CI results (when review apps wait for CI), deleted
 * branches, and idleness (a sweep destroys review apps not deployed for the configured time).
 */
import type { Kysely } from 'kysely';
import type { Database, PipelineRow, ProjectRow, ReviewAppConfigRow } from '../store/schema.js';
import type { DomainEvents, EventBus } from '../core/events.js';
import type { ReviewAppService } from './review-apps.js';
import { formatIdle } from './review-app-config.js';
import { KeyedQueue } from './keyed-queue.js';

type Pushed = DomainEvents['project.pushed'];
type MergeRequestChanged = DomainEvents['merge_request.changed'];
type CiFinished = DomainEvents['ci.pipeline.finished'];

const MIN_SWEEP_MS = 1000;
const MAX_SWEEP_MS = 60_000;

export class ReviewAppTriggers {
  private readonly queue = new KeyedQueue();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly db: Kysely<Database>,
    events: EventBus,
    private readonly reviewApps: ReviewAppService,
  ) {
    const on = (projectId: string, what: string, task: () => Promise<void>) => this.queue.spawn(projectId, what, task);
    events.on('project.pushed', (e) => on(e.projectId, `review apps for a push to ${e.refName}`, () => this.onPushed(e)));
    events.on('merge_request.changed', (e) => on(e.projectId, `review apps for !${e.iid}`, () => this.onMergeRequest(e)));
    events.on('ci.pipeline.finished', (e) => on(e.projectId, `review apps after CI #${e.number}`, () => this.onCiFinished(e)));
    reviewApps.o.configs.onChange(() => {
      if (this.timer) this.schedule(MIN_SWEEP_MS);
    });
  }

  /** Starts the idle sweep. */
  start(): void {
    this.schedule(MIN_SWEEP_MS);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }

  async idle(): Promise<void> {
    await this.queue.idle();
    await this.reviewApps.idle();
  }

  private async enabledPipelines(projectId: string): Promise<Array<{ pipeline: PipelineRow; config: ReviewAppConfigRow; project: ProjectRow }>> {
    const project = await this.db.selectFrom('projects').selectAll().where('id', '=', projectId).executeTakeFirst();
    if (!project) return [];
    const result = [];
    for (const pipeline of await this.reviewApps.o.connections.connectedTo(projectId)) {
      const config = await this.reviewApps.o.configs.forPipeline(pipeline.id);
      if (config) result.push({ pipeline, config, project });
    }
    return result;
  }

  private async onPushed(e: Pushed): Promise<void> {
    if (e.tag) return;
    for (const { pipeline, config, project } of await this.enabledPipelines(e.projectId)) {
      const live = await this.reviewApps.liveFor(pipeline.id, e.refName);
      if (e.deleted) {
        if (live) this.reviewApps.destroy(live, `The branch ${e.refName} was deleted.`);
        continue;
      }
      if (e.refName === (await this.reviewApps.o.sources.defaultBranch(project))) continue;
      if (config.wait_for_ci) continue; // the CI result decides
      if (live) this.reviewApps.deploy(live, project, e.newSha);
      else if (config.automatic) await this.reviewApps.start({ pipeline, config, project, branch: e.refName, sha: e.newSha, creatorId: config.created_by, mergeRequest: await this.openMergeRequest(project.id, e.refName) });
    }
  }

  private async onMergeRequest(e: MergeRequestChanged): Promise<void> {
    for (const { pipeline, config, project } of await this.enabledPipelines(e.projectId)) {
      const live = await this.reviewApps.liveFor(pipeline.id, e.sourceBranch);
      if (e.action === 'merged' || e.action === 'closed') {
        if (live && (live.merge_request_id === e.mergeRequestId || live.merge_request_id === null)) {
          this.reviewApps.destroy(live, `Merge request !${e.iid} was ${e.action}.`);
        }
        continue;
      }
      if (e.action !== 'opened' && e.action !== 'reopened') continue;
      if (live) {
        if (live.merge_request_id !== e.mergeRequestId) await this.reviewApps.o.lifecycle.update(live.id, { merge_request_id: e.mergeRequestId, pr_number: e.iid });
      } else if (config.automatic && !config.wait_for_ci) {
        await this.reviewApps.start({ pipeline, config, project, branch: e.sourceBranch, sha: e.sha, creatorId: config.created_by, mergeRequest: { id: e.mergeRequestId, iid: e.iid } });
      }
    }
  }

  /** With wait_for_ci, a green pipeline of the branch creates or updates its review app. */
  private async onCiFinished(e: CiFinished): Promise<void> {
    if (e.source !== 'push' && e.source !== 'merge_request_event') return;
    for (const { pipeline, config, project } of await this.enabledPipelines(e.projectId)) {
      if (!config.wait_for_ci || e.ref === (await this.reviewApps.o.sources.defaultBranch(project))) continue;
      const tip = await this.reviewApps.o.sources.branchTip(project, e.ref);
      if (tip !== e.sha) continue; // an older commit of the branch
      const live = await this.reviewApps.liveFor(pipeline.id, e.ref);
      if (e.status !== 'success') {
        if (live) await this.reviewApps.o.lifecycle.update(live.id, { message: `CI pipeline #${e.number} ${e.status}: ${e.sha.slice(0, 7)} was not deployed.` });
        continue;
      }
      if (live) this.reviewApps.deploy(live, project, e.sha);
      else if (config.automatic) {
        const mr = e.mergeRequestId ? await this.db.selectFrom('merge_requests').select(['id', 'iid']).where('id', '=', e.mergeRequestId).executeTakeFirst() : await this.openMergeRequest(project.id, e.ref);
        await this.reviewApps.start({ pipeline, config, project, branch: e.ref, sha: e.sha, creatorId: config.created_by, mergeRequest: mr ?? null });
      }
    }
  }

  private async openMergeRequest(projectId: string, branch: string): Promise<{ id: string; iid: number } | null> {
    const mr = await this.db.selectFrom('merge_requests').select(['id', 'iid']).where('project_id', '=', projectId).where('source_branch', '=', branch).where('state', '=', 'opened').executeTakeFirst();
    return mr ?? null;
  }

  // ---- idle sweep ------------------------------------------------------------------------------

  private schedule(ms: number): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.sweep()
        .catch((err) => console.error('[flow] the review app idle sweep failed:', err))
        .then((next) => this.schedule(next ?? MAX_SWEEP_MS));
    }, ms);
    this.timer.unref();
  }

  /** Destroys idle review apps; returns when to look again (sooner for short idle times). */
  private async sweep(): Promise<number> {
    const configs = await this.db.selectFrom('review_app_configs').selectAll().where('destroy_stale', '=', 1).execute();
    let next = MAX_SWEEP_MS;
    for (const config of configs) {
      next = Math.min(next, Math.max(MIN_SWEEP_MS, (config.stale_seconds * 1000) / 4));
      const cutoff = new Date(Date.now() - config.stale_seconds * 1000).toISOString();
      const idle = await this.db
        .selectFrom('review_apps')
        .selectAll()
        .where('pipeline_id', '=', config.pipeline_id)
        .where('status', '=', 'created')
        .where('last_deployed_at', '<', cutoff)
        .execute();
      for (const row of idle) this.reviewApps.destroy(row, `Not deployed for ${formatIdle(config.stale_seconds)}: destroyed as idle.`);
    }
    return next;
  }
}
