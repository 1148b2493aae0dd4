/**
 * Merge requests on CI projects: open one from a source branch into a target branch, edit,
 * close, reopen and merge it. Opening, reopening and every push to the source branch run a
 * merge request pipeline; a deleted source (or target) branch closes it; a push that brings its
 * head into the target marks it merged. Each change is announced as `merge_request.changed`.
 * However it is merged or closed, the environments its pipelines deployed are stopped (GitLab).
 */
import type { Kysely } from 'kysely';
import type { Account } from '../../auth/accounts.js';
import type { DomainEvents, EventBus } from '../../core/events.js';
import { conflict, invalidParams, notFound } from '../../core/errors.js';
import { now } from '../../core/ids.js';
import type { CiPipelineRow, Database, MergeRequestRow, ProjectRow } from '../../store/schema.js';
import type { CiService } from '../ci.js';
import type { EnvironmentService } from '../environments.js';
import type { ProtectedRefService } from '../protected-refs.js';
import { defaultBranch } from '../repository.js';
import { branchTip, isAncestor, newCommitSubjects } from './git.js';
import { branchParam, descriptionParam, labelsParam, titleFromBranch, titleParam, type MergeRequestInput } from './input.js';
import { mergeInto, type MergeOptions } from './merge.js';
import { runMergeRequestPipeline, type PipelineStarter } from './pipelines.js';
import { MergeRequestRecords, type MergeRequestState } from './records.js';

/** A review app as another service describes it for a merge request. */
export interface ReviewAppRef {
  name: string;
  url: string | null;
  [key: string]: unknown;
}

/** Plugged in by the composition root once review apps exist; optional. */
export interface ReviewAppLookup {
  forMergeRequest(mergeRequestId: string): Promise<ReviewAppRef | null | undefined>;
}

export interface MergeRequestServiceOptions {
  db: Kysely<Database>;
  events: EventBus;
  ci: CiService;
  /** The bare repository of a project. */
  repoDir(project: ProjectRow): string;
  /** Environments to stop on merge or close. */
  environments: EnvironmentService;
  /** Protected branches (a protected source branch is never removed). */
  protectedRefs: ProtectedRefService;
}

/** A change and what happened along the way (pipelines started, warnings), for the caller. */
export interface Outcome {
  mr: MergeRequestRow;
  pipeline?: CiPipelineRow;
  messages: string[];
}

type Action = DomainEvents['merge_request.changed']['action'];
const ZERO = /^0+$/;

export const mergeRequestNotFound = () => notFound('merge_request', "Couldn't find that merge request.");

export class MergeRequestService {
  readonly records: MergeRequestRecords;
  private reviewApps?: ReviewAppLookup;
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly background = new Set<Promise<void>>();
  private readonly environments: EnvironmentService;
  private readonly protectedRefs: ProtectedRefService;

  constructor(private readonly o: MergeRequestServiceOptions) {
    this.records = new MergeRequestRecords(o.db);
    this.environments = o.environments;
    this.protectedRefs = o.protectedRefs;
    o.events.on('project.pushed', (event) => {
      const done: Promise<void> = this.onPushed(event)
        .catch((err) => console.error(`[merge-requests] handling a push to ${event.ref} failed:`, err))
        .finally(() => this.background.delete(done));
      this.background.add(done);
    });
  }

  setReviewApps(lookup: ReviewAppLookup): void {
    this.reviewApps = lookup;
  }

  /** The merge request's review app, when review apps are plugged in and it has one. */
  async reviewApp(mr: MergeRequestRow): Promise<ReviewAppRef | null> {
    if (!this.reviewApps) return null;
    try {
      return (await this.reviewApps.forMergeRequest(mr.id)) ?? null;
    } catch (err) {
      console.error(`[merge-requests] review app lookup for ${mr.id} failed:`, err);
      return null;
    }
  }

  async get(project: ProjectRow, iid: number): Promise<MergeRequestRow> {
    const mr = await this.records.byIid(project.id, iid);
    if (!mr) throw mergeRequestNotFound();
    return mr;
  }

  list(project: ProjectRow, state?: MergeRequestState): Promise<MergeRequestRow[]> {
    return this.records.list(project.id, state);
  }

  async create(actor: Account, project: ProjectRow, body: MergeRequestInput = {}): Promise<Outcome> {
    const repoDir = this.o.repoDir(project);
    const source = branchParam(body.source_branch, 'source', true);
    const target = branchParam(body.target_branch, 'target', false) ?? (await defaultBranch(repoDir));
    const title = titleParam(body.title);
    const description = descriptionParam(body.description) ?? '';
    const labels = labelsParam(body.labels) ?? [];
    return this.serialised(project.id, async () => {
      const { sourceSha, targetSha } = await this.checkBranches(project, repoDir, source, target);
      await this.refuseDuplicate(project, source, target);
      const stamp = now();
      const mr = await this.serialised('numbers', async () => {
        const { id, iid } = await this.records.nextNumbers(project.id);
        const row: MergeRequestRow = {
          id,
          project_id: project.id,
          iid,
          title: title ?? (await defaultTitle(repoDir, targetSha, sourceSha, source)),
          description,
          labels: JSON.stringify(labels),
          source_branch: source,
          target_branch: target,
          state: 'opened',
          author_id: actor.id,
          head_sha: sourceSha,
          merge_commit_sha: null,
          merged_by_id: null,
          merged_at: null,
          closed_by_id: null,
          closed_at: null,
          created_at: stamp,
          updated_at: stamp,
        };
        await this.records.insert(row);
        return row;
      });
      this.announce(mr, 'opened');
      return this.withPipeline(project, repoDir, mr, targetSha, { userId: actor.id, userEmail: actor.email });
    });
  }

  /** Edits title, description, labels or target branch; `state_event` closes or reopens. */
  async update(actor: Account, project: ProjectRow, iid: number, body: MergeRequestInput & { state_event?: unknown } = {}): Promise<Outcome> {
    const stateEvent = body.state_event;
    if (stateEvent !== undefined && stateEvent !== 'close' && stateEvent !== 'reopen') throw invalidParams('state_event must be "close" or "reopen".');
    const title = titleParam(body.title);
    const description = descriptionParam(body.description);
    const labels = labelsParam(body.labels);
    const target = branchParam(body.target_branch, 'target', false);
    let outcome = await this.serialised(project.id, async () => {
      let mr = await this.get(project, iid);
      const patch: Partial<MergeRequestRow> = {};
      if (title !== undefined) patch.title = title;
      if (description !== undefined) patch.description = description;
      if (labels !== undefined) patch.labels = JSON.stringify(labels);
      if (target !== undefined && target !== mr.target_branch) {
        if (mr.state !== 'opened') throw conflict(`!${iid} is ${mr.state}: only an open merge request can change its target branch.`);
        await this.checkBranches(project, this.o.repoDir(project), mr.source_branch, target);
        await this.refuseDuplicate(project, mr.source_branch, target, mr.id);
        patch.target_branch = target;
      }
      if (Object.keys(patch).length) mr = await this.records.update(mr.id, { ...patch, updated_at: now() });
      return { mr, messages: [] } as Outcome;
    });
    if (stateEvent === 'close') outcome = await this.close(actor, project, iid);
    if (stateEvent === 'reopen') outcome = await this.reopen(actor, project, iid);
    return outcome;
  }

  async close(actor: Account, project: ProjectRow, iid: number): Promise<Outcome> {
    return this.serialised(project.id, async () => {
      const mr = await this.get(project, iid);
      if (mr.state !== 'opened') throw conflict(`!${iid} is already ${mr.state}; only an open merge request can be closed.`);
      const closed = await this.markClosed(mr, actor.id);
      return { mr: closed, messages: await this.stopEnvironments(project, closed, actor.id) };
    });
  }

  async reopen(actor: Account, project: ProjectRow, iid: number): Promise<Outcome> {
    return this.serialised(project.id, async () => {
      const mr = await this.get(project, iid);
      if (mr.state === 'merged') throw conflict(`!${iid} was merged; a merged merge request cannot be reopened.`);
      if (mr.state === 'opened') throw conflict(`!${iid} is already open.`);
      const repoDir = this.o.repoDir(project);
      const { sourceSha, targetSha } = await this.checkBranches(project, repoDir, mr.source_branch, mr.target_branch);
      await this.refuseDuplicate(project, mr.source_branch, mr.target_branch, mr.id);
      const reopened = await this.records.update(mr.id, { state: 'opened', head_sha: sourceSha, closed_by_id: null, closed_at: null, updated_at: now() });
      this.announce(reopened, 'reopened');
      return this.withPipeline(project, repoDir, reopened, targetSha, { userId: actor.id, userEmail: actor.email });
    });
  }

  /** Merges the source branch into the target in the repository, as a push would. */
  async merge(actor: Account, project: ProjectRow, iid: number, options: MergeOptions = {}): Promise<Outcome> {
    return this.serialised(project.id, async () => {
      const mr = await this.get(project, iid);
      return mergeInto({
        ci: this.o.ci,
        records: this.records,
        project,
        repoDir: this.o.repoDir(project),
        mr,
        actor,
        options,
        merged: (row) => this.announce(row, 'merged'),
        stopEnvironments: (row) => this.stopEnvironments(project, row, actor.id),
        isProtectedBranch: (branch) => this.protectedRefs.isProtected(project, 'branch', branch),
      });
    });
  }

  pipelines(mr: MergeRequestRow): Promise<CiPipelineRow[]> {
    return this.records.pipelines(mr);
  }

  headPipeline(mr: MergeRequestRow): Promise<CiPipelineRow | undefined> {
    return this.records.headPipeline(mr);
  }

  /** Waits for push handling in progress (tests and shutdown). */
  async idle(): Promise<void> {
    await Promise.all([...this.background]);
  }

  /** A push moved or deleted a branch: follow it in the open merge requests that use it. */
  private async onPushed(event: DomainEvents['project.pushed']): Promise<void> {
    if (event.tag) return;
    const project = await this.records.project(event.projectId);
    if (!project) return;
    await this.serialised(project.id, async () => {
      const branch = event.refName;
      if (event.deleted) {
        const affected = [...(await this.records.openWith(project.id, 'source_branch', branch)), ...(await this.records.openWith(project.id, 'target_branch', branch))];
        // The deleted branch's own environments were stopped with the push; these may be others.
        for (const mr of affected) await this.stopEnvironments(project, await this.markClosed(mr, event.userId), event.userId);
        return;
      }
      const repoDir = this.o.repoDir(project);
      const pusher = { userId: event.userId, userEmail: (await this.records.account(event.userId))?.email ?? '' };
      for (const mr of await this.records.openWith(project.id, 'source_branch', branch)) {
        if (mr.head_sha === event.newSha) continue;
        const updated = await this.records.update(mr.id, { head_sha: event.newSha, updated_at: now() });
        this.announce(updated, 'updated');
        await this.withPipeline(project, repoDir, updated, await branchTip(repoDir, mr.target_branch), pusher);
      }
      // GitLab marks a merge request merged when a push brings its head into the target.
      for (const mr of await this.records.openWith(project.id, 'target_branch', branch)) {
        if (!(await isAncestor(repoDir, mr.head_sha, event.newSha))) continue;
        if (!ZERO.test(event.oldSha) && (await isAncestor(repoDir, mr.head_sha, event.oldSha))) continue;
        const stamp = now();
        const merged = await this.records.update(mr.id, { state: 'merged', merged_by_id: event.userId, merged_at: stamp, updated_at: stamp });
        this.announce(merged, 'merged');
        await this.stopEnvironments(project, merged, event.userId);
      }
    });
  }

  private async markClosed(mr: MergeRequestRow, byId: string): Promise<MergeRequestRow> {
    const stamp = now();
    const closed = await this.records.update(mr.id, { state: 'closed', closed_by_id: byId, closed_at: stamp, updated_at: stamp });
    this.announce(closed, 'closed');
    return closed;
  }

  /** Stops what the merge request's pipelines deployed, as `userId`; never fails the merge or close itself. */
  private async stopEnvironments(project: ProjectRow, mr: MergeRequestRow, userId: string): Promise<string[]> {
    try {
      return await this.environments.mergeRequestClosed(project, mr.id, userId);
    } catch (err) {
      console.error(`[merge-requests] stopping the environments of ${project.name}!${mr.iid} failed:`, err);
      return [`The environments of !${mr.iid} could not be stopped: ${(err as Error).message}`];
    }
  }

  private async withPipeline(project: ProjectRow, repoDir: string, mr: MergeRequestRow, targetSha: string | undefined, by: PipelineStarter): Promise<Outcome> {
    const messages: string[] = [];
    try {
      const pipeline = await runMergeRequestPipeline(this.o.ci, { project, repoDir, mr, targetSha, by, out: (line) => messages.push(line) });
      return { mr, messages, ...(pipeline ? { pipeline } : {}) };
    } catch (err) {
      console.error(`[merge-requests] the pipeline of ${project.name}!${mr.iid} could not start:`, err);
      messages.push(`The merge request pipeline could not start: ${(err as Error).message}`);
      return { mr, messages };
    }
  }

  private async checkBranches(project: ProjectRow, repoDir: string, source: string, target: string): Promise<{ sourceSha: string; targetSha: string }> {
    if (source === target) throw invalidParams(`The source and target branch are both ${source}: a merge request merges one branch into another.`);
    const sourceSha = await branchTip(repoDir, source);
    if (!sourceSha) throw invalidParams(`${project.name} has no branch ${source}: push it first (git push <project git URL> ${source}).`);
    const targetSha = await branchTip(repoDir, target);
    if (!targetSha) throw invalidParams(`${project.name} has no branch ${target} to merge into.`);
    return { sourceSha, targetSha };
  }

  private async refuseDuplicate(project: ProjectRow, source: string, target: string, except?: string): Promise<void> {
    const other = await this.records.openFor(project.id, source, target, except);
    if (other) throw conflict(`Another open merge request already proposes ${source} for ${target}: !${other.iid}.`);
  }

  private announce(mr: MergeRequestRow, action: Action): void {
    this.o.events.emit('merge_request.changed', {
      projectId: mr.project_id,
      mergeRequestId: mr.id,
      iid: mr.iid,
      sourceBranch: mr.source_branch,
      targetBranch: mr.target_branch,
      sha: mr.head_sha,
      action,
    });
  }

  private serialised<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    const next = previous.then(fn, fn);
    this.locks.set(key, next.catch(() => undefined));
    return next;
  }
}

/** GitLab's default title: the commit's subject for a one-commit change, else the branch name. */
async function defaultTitle(repoDir: string, targetSha: string, sourceSha: string, source: string): Promise<string> {
  const subjects = await newCommitSubjects(repoDir, targetSha, sourceSha).catch(() => []);
  const title = subjects.length === 1 ? subjects[0] : titleFromBranch(source);
  return title.slice(0, 255) || source;
}
