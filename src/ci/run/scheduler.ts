// Decides which job runs when, as GitLab does: stage order, the `needs` DAG, `when`
// (on_success, on_failure, always, manual, delayed), allow_failure (incl. exit_codes), retry,
// resource_group serialisation and cancellation, under a concurrency limit. Trigger jobs
// (bridges) take no slot of that limit: they run no script, they create a downstream pipeline.
//
// Cost is linear in jobs + needs edges: every job is evaluated once, when its prerequisites
// are complete. Stage-based jobs wait on a per-stage counter of unfinished jobs (no walks over
// earlier stages), needs-based jobs on a counter of unfinished needs.
import type { PlannedJob } from '../plan/plan.js';
import { isBridge } from '../plan/trigger.js';
import type { JobRecord, JobResult, JobStatus, PipelineResult, SchedulerHooks } from './contract.js';
import { parseDuration } from './duration.js';
import { retryMatches, retryPolicy, type RetryPolicy } from './retry.js';
import { SlotPool } from './slot-pool.js';

export interface AttemptContext {
  attempt: number;
  signal: AbortSignal;
  record: JobRecord;
}

/** Runs one attempt of one job (workspace, caches, artifacts, executor): the driver's part. */
export type RunAttempt = (job: PlannedJob, context: AttemptContext) => Promise<JobResult>;

export interface SchedulerOptions {
  /** The planned jobs, in plan order (stage, then file order). */
  jobs: readonly PlannedJob[];
  runAttempt: RunAttempt;
  /** How many jobs may run at once (default 1); `slots` replaces it. */
  concurrency?: number;
  /** Slots shared with other schedulers (the child pipelines of the same run). */
  slots?: SlotPool;
  /** Jobs this run does not start: why (they end skipped, with that note, when their turn comes). */
  notRun?(job: PlannedJob): string | undefined;
  /** Manual jobs to play. */
  manual?: Iterable<string>;
  hooks?: SchedulerHooks;
  /** The job's expanded resource_group, if any (jobs sharing one run one at a time). */
  resourceGroup?(job: PlannedJob): string | undefined;
  /** Aborting cancels the pipeline. */
  signal?: AbortSignal;
}

interface Node {
  record: JobRecord;
  stagePos: number;
  needs: Node[] | null;
  dependents: Node[];
  pendingNeeds: number;
  /** Counted as finished in its stage (terminal, or a manual job that does not block). */
  countedInStage: boolean;
  terminal: boolean;
  controller?: AbortController;
  timer?: NodeJS.Timeout;
  group?: string;
  /** Holds a slot of the pool (script jobs do while they run; bridges never). */
  slotted: boolean;
  retry: RetryPolicy;
}

const TERMINAL = new Set<JobStatus>(['success', 'failed', 'canceled', 'skipped']);

export class Scheduler {
  readonly records: JobRecord[];
  private readonly nodes: Node[];
  private readonly byStage: Node[][];
  private readonly remaining: number[];
  private readonly stageFailed: boolean[];
  private readonly slots: SlotPool;
  private readonly played: Set<string>;
  private stagePointer = 0;
  private failedBefore = false;
  private advancing = false;
  private advanceAgain = false;
  private queue: Node[] = [];
  private queueHead = 0;
  private running = 0;
  private scheduled = 0;
  private waitingForResource = 0;
  private readonly heldGroups = new Set<string>();
  private readonly groupWaiters = new Map<string, Node[]>();
  private canceled = false;
  private resolveDone?: () => void;
  private started = 0;

  constructor(private readonly options: SchedulerOptions) {
    this.slots = options.slots ?? new SlotPool(Math.max(1, Math.floor(options.concurrency ?? 1)));
    this.played = new Set(options.manual ?? []);
    const stagePositions = [...new Set(options.jobs.map((j) => j.stageIndex))].sort((a, b) => a - b);
    const posOf = new Map(stagePositions.map((s, i) => [s, i]));
    this.byStage = stagePositions.map(() => []);
    this.remaining = stagePositions.map(() => 0);
    this.stageFailed = stagePositions.map(() => false);
    const byName = new Map<string, Node>();
    this.nodes = options.jobs.map((job) => {
      const record: JobRecord = { job, status: 'created', attempts: 0, allowedFailure: false, played: job.when === 'manual' && this.played.has(job.name), durationMs: 0 };
      const node: Node = { record, stagePos: posOf.get(job.stageIndex)!, needs: null, dependents: [], pendingNeeds: 0, countedInStage: false, terminal: false, slotted: false, retry: retryPolicy(job.config.retry) };
      byName.set(job.name, node);
      return node;
    });
    for (const node of this.nodes) {
      this.remaining[node.stagePos]++;
      const needs = node.record.job.needs;
      if (needs === null) {
        this.byStage[node.stagePos].push(node);
        continue;
      }
      node.needs = [];
      for (const need of needs) {
        const target = byName.get(need.job);
        if (!target || target === node) continue; // not in this run (e.g. a job subset)
        node.needs.push(target);
        target.dependents.push(node);
      }
      node.pendingNeeds = node.needs.length;
    }
    this.records = this.nodes.map((n) => n.record);
  }

  /** Runs the pipeline to its end: every job terminal, or blocked behind a manual job. */
  run(): Promise<PipelineResult> {
    this.started = Date.now();
    const done = new Promise<void>((resolve) => (this.resolveDone = resolve));
    const signal = this.options.signal;
    const onAbort = () => this.cancel();
    if (signal?.aborted) this.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    const unsubscribe = this.slots.subscribe(() => this.pump());
    for (const node of this.nodes) if (node.needs !== null && node.pendingNeeds === 0) this.evaluate(node, false, false);
    this.advanceStages();
    this.pump();
    return done.then(() => {
      signal?.removeEventListener('abort', onAbort);
      unsubscribe();
      return this.result();
    });
  }

  /**
   * Cancels the pipeline: jobs not started become canceled and running jobs are killed.
   * With `interruptibleOnly`, running jobs that are not `interruptible: true` finish first.
   */
  cancel(options: { interruptibleOnly?: boolean } = {}): void {
    if (this.canceled && !options.interruptibleOnly) {
      // A second cancel escalates to every running job.
      for (const node of this.nodes) if (node.record.status === 'running') node.controller?.abort();
      return;
    }
    this.canceled = true;
    for (const node of this.nodes) {
      const status = node.record.status;
      if (status === 'running' && !node.controller && !node.terminal) {
        this.finish(node, 'canceled', 'the pipeline was canceled'); // a bridge waiting for its child pipeline
      } else if (status === 'running') {
        if (!options.interruptibleOnly || node.record.job.interruptible === true) node.controller?.abort();
      } else if (!node.terminal) {
        if (node.timer) {
          clearTimeout(node.timer);
          node.timer = undefined;
          this.scheduled--;
        }
        if (status === 'waiting_for_resource') this.waitingForResource--;
        this.finish(node, 'canceled', 'the pipeline was canceled');
      }
    }
    this.pump();
  }

  private result(): PipelineResult {
    let status: PipelineResult['status'] = 'success';
    if (this.records.some((r) => r.status === 'failed' && !r.allowedFailure)) status = 'failed';
    else if (this.canceled) status = 'canceled';
    // `running` after the end: a bridge whose child pipeline waits for a manual job.
    else if (this.records.some((r) => r.status === 'created' || r.status === 'running' || (r.status === 'manual' && !r.job.allowFailure))) status = 'blocked';
    for (const node of this.nodes) {
      if (node.record.status !== 'created') continue;
      const waiting = node.needs?.filter((n) => !n.terminal).map((n) => n.record.job.name);
      node.record.note = waiting?.length ? `waiting for ${waiting.join(', ')}` : 'waiting for a manual job in an earlier stage';
    }
    return { status, jobs: this.records, durationMs: Date.now() - this.started };
  }

  private setStatus(node: Node, status: JobStatus, note?: string): void {
    const previous = node.record.status;
    node.record.status = status;
    if (note !== undefined) node.record.note = note;
    this.options.hooks?.onJobState?.(node.record, previous);
  }

  /** Decides what a job whose prerequisites are complete does. */
  private evaluate(node: Node, anyFailed: boolean, skippedNeed: boolean): void {
    if (this.canceled) return this.finish(node, 'canceled', 'the pipeline was canceled');
    const job = node.record.job;
    const blocked = anyFailed || skippedNeed;
    switch (job.when) {
      case 'on_failure':
        if (anyFailed && !skippedNeed) return this.enqueue(node);
        return this.finish(node, 'skipped', anyFailed ? 'a needed job was skipped' : 'nothing failed before it (when: on_failure)');
      case 'always':
        return this.enqueue(node);
      case 'manual':
        if (blocked) return this.finish(node, 'skipped', skippedNeed ? 'a needed job was skipped' : 'an earlier job failed');
        if (node.record.played) return this.enqueue(node);
        this.setStatus(node, 'manual', job.allowFailure ? 'manual job, not played (use --manual)' : 'manual job, not played: it blocks later stages (use --manual)');
        if (job.allowFailure) this.countInStage(node, false);
        return;
      case 'delayed': {
        if (blocked) return this.finish(node, 'skipped', skippedNeed ? 'a needed job was skipped' : 'an earlier job failed');
        const seconds = parseDuration(job.startIn) ?? 0;
        this.scheduled++;
        this.setStatus(node, 'scheduled', `starts in ${seconds}s`);
        node.timer = setTimeout(() => {
          node.timer = undefined;
          this.scheduled--;
          this.enqueue(node);
          this.pump();
        }, seconds * 1000);
        return;
      }
      default:
        if (blocked) return this.finish(node, 'skipped', skippedNeed ? 'a needed job was skipped' : 'an earlier job failed');
        return this.enqueue(node);
    }
  }

  private enqueue(node: Node): void {
    const notRun = this.options.notRun?.(node.record.job);
    if (notRun !== undefined) return this.finish(node, 'skipped', notRun);
    this.setStatus(node, 'pending');
    this.queue.push(node);
  }

  private countInStage(node: Node, failed: boolean): void {
    if (node.countedInStage) return;
    node.countedInStage = true;
    this.remaining[node.stagePos]--;
    if (failed) this.stageFailed[node.stagePos] = true;
    this.advanceStages();
  }

  private finish(node: Node, status: JobStatus, note?: string): void {
    if (node.terminal) return;
    node.terminal = true;
    node.record.finishedAt = Date.now();
    this.setStatus(node, status, note);
    this.countInStage(node, status === 'failed' && !node.record.allowedFailure);
    for (const dependent of node.dependents) {
      if (--dependent.pendingNeeds > 0 || dependent.record.status !== 'created') continue;
      const needs = dependent.needs ?? [];
      const failed = needs.some((n) => (n.record.status === 'failed' && !n.record.allowedFailure) || n.record.status === 'canceled');
      const skipped = needs.some((n) => n.record.status === 'skipped');
      this.evaluate(dependent, failed, skipped);
    }
  }

  /** Releases stage-based jobs whose earlier stages are all complete. */
  private advanceStages(): void {
    if (this.advancing) {
      this.advanceAgain = true;
      return;
    }
    this.advancing = true;
    try {
      do {
        this.advanceAgain = false;
        while (this.stagePointer < this.byStage.length) {
          const pos = this.stagePointer;
          const released = this.byStage[pos];
          if (released.length) {
            this.byStage[pos] = [];
            for (const node of released) if (node.record.status === 'created') this.evaluate(node, this.failedBefore, false);
          }
          if (this.remaining[pos] > 0) break;
          this.failedBefore ||= this.stageFailed[pos];
          this.stagePointer++;
        }
      } while (this.advanceAgain);
    } finally {
      this.advancing = false;
    }
  }

  private pump(): void {
    while (this.queueHead < this.queue.length) {
      const node = this.queue[this.queueHead];
      if (node.record.status !== 'pending') {
        this.queueHead++;
        continue;
      }
      const group = node.group ? undefined : this.options.resourceGroup?.(node.record.job);
      if (group && this.heldGroups.has(group)) {
        this.queueHead++;
        const waiters = this.groupWaiters.get(group) ?? [];
        waiters.push(node);
        this.groupWaiters.set(group, waiters);
        this.waitingForResource++;
        this.setStatus(node, 'waiting_for_resource', `waiting for resource_group ${group}`);
        continue;
      }
      const slotted = !isBridge(node.record.job.config);
      if (slotted && !this.slots.tryTake()) break; // woken when a slot is given back
      this.queueHead++;
      node.slotted = slotted;
      if (group) {
        this.heldGroups.add(group);
        node.group = group;
      }
      this.startAttempt(node);
    }
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
    if (this.running === 0 && this.scheduled === 0 && this.waitingForResource === 0 && this.queueHead >= this.queue.length) this.resolveDone?.();
  }

  private startAttempt(node: Node): void {
    const record = node.record;
    this.running++;
    record.attempts++;
    record.startedAt ??= Date.now();
    const controller = new AbortController();
    node.controller = controller;
    this.setStatus(node, 'running');
    const began = Date.now();
    const attempt = record.attempts;
    let outcome: Promise<JobResult>;
    try {
      outcome = this.options.runAttempt(record.job, { attempt, signal: controller.signal, record });
    } catch (e) {
      outcome = Promise.reject(e);
    }
    outcome
      .catch((e: unknown): JobResult => ({ status: 'failed', failureReason: 'runner_system_failure', message: e instanceof Error ? e.message : String(e) }))
      .then((result) => {
        record.durationMs += Date.now() - began;
        this.attemptEnded(node, controller.signal.aborted && result.status !== 'success' ? { ...result, status: 'canceled' } : result);
      });
  }

  private attemptEnded(node: Node, result: JobResult): void {
    const record = node.record;
    record.result = result;
    node.controller = undefined;
    if (result.status === 'failed' && !this.canceled && record.attempts <= node.retry.max && retryMatches(node.retry, result)) {
      this.options.hooks?.onRetry?.(record);
      this.running--;
      this.startAttempt(node); // keeps its concurrency slot and resource group
      return;
    }
    this.running--;
    if (node.slotted) {
      node.slotted = false;
      this.slots.release();
    }
    if (node.group) {
      const waiters = this.groupWaiters.get(node.group);
      while (waiters?.length && waiters[0].terminal) waiters.shift(); // canceled while waiting
      const next = waiters?.shift();
      if (next) {
        this.waitingForResource--;
        next.group = node.group;
        this.setStatus(next, 'pending');
        this.queue.splice(this.queueHead, 0, next);
        // The group stays held: it passes straight to the next waiter.
      } else this.heldGroups.delete(node.group);
      node.group = undefined;
    }
    if (result.status === 'waiting') {
      // A bridge whose child pipeline waits for a manual job: it stays running (as on GitLab).
      record.note = result.message;
      return this.pump();
    }
    if (result.status === 'failed') {
      const codes = record.job.allowFailureExitCodes;
      record.allowedFailure = codes ? result.exitCode !== undefined && codes.includes(result.exitCode) : record.job.allowFailure;
    }
    this.finish(node, result.status, result.message);
    this.pump();
  }
}
