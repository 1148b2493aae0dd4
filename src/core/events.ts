import { EventEmitter } from 'node:events';

/**
 * Domain events that let one stage react to another without importing it: the release
 * service announces a new current release, the dyno manager converges to it.
 */
export interface DomainEvents {
  /** The app's current release or formation changed: dynos must converge. */
  'app.desired-state': { appId: string; reason: string };
  /** The app was deleted: stop everything it had. */
  'app.deleted': { appId: string; appName: string };
  /** An app was created or changed (name, maintenance, domains): routing must refresh. */
  'app.changed': { appId: string };
  'release.created': { appId: string; releaseId: string; version: number };
  /** A release left `pending` (its release phase finished, or Slipway restarted during it). */
  'release.updated': { appId: string; releaseId: string; version: number; status: string };
  'build.created': { appId: string; buildId: string };
  'build.finished': { appId: string; buildId: string; status: string };
  /** Quantities or sizes of process types changed. */
  'formation.changed': { appId: string; types: string[] };
  'dyno.state': { appId: string; dyno: string; state: string };
  /** A push updated (or deleted) a branch or tag of a CI project. */
  'project.pushed': { projectId: string; ref: string; refName: string; tag: boolean; oldSha: string; newSha: string; deleted: boolean; userId: string };
  /** A merge request was opened, got new commits (its source branch moved), or was merged or closed. */
  'merge_request.changed': { projectId: string; mergeRequestId: string; iid: number; sourceBranch: string; targetBranch: string; sha: string; action: 'opened' | 'updated' | 'merged' | 'closed' | 'reopened' };
  /** A CI pipeline reached its final status (success, failed, canceled…). */
  'ci.pipeline.finished': { projectId: string; pipelineId: string; number: number; ref: string; sha: string; source: string; mergeRequestId: string | null; status: string };
}

export class EventBus {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(100);
  }

  emit<K extends keyof DomainEvents>(name: K, payload: DomainEvents[K]): void {
    this.emitter.emit(name, payload);
  }

  on<K extends keyof DomainEvents>(name: K, listener: (payload: DomainEvents[K]) => void): () => void {
    this.emitter.on(name, listener);
    return () => this.emitter.off(name, listener);
  }
}
