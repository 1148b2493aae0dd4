// Trigger jobs in `slipway ci run`. A bridge loads its child pipeline from the same work tree
// and runs it with the same scheduler, executors, caches and concurrency slots; the child's
// jobs report under the bridge's name. With `strategy: depend` the bridge waits and takes the
// child's status; without, it succeeds once the child exists and the child runs on beside the
// parent (the run ends when every child has). Multi-project triggers are not run locally.
import { join } from 'node:path';
import { directoryFiles } from '../load/directory-files.js';
import type { PlannedJob } from '../plan/plan.js';
import { followsDownstream, readTrigger } from '../plan/trigger.js';
import { bridgeRefusal, dependentResult, forwardedVariables, planChild } from './bridge.js';
import type { JobResult } from './contract.js';
import type { JobRunner, LocalRunOptions, LocalRunResult } from './local-options.js';
import type { AttemptContext } from './scheduler.js';
import type { SlotPool } from './slot-pool.js';

export interface LocalBridges {
  runAttempt(job: PlannedJob, context: AttemptContext): Promise<JobResult>;
  /** Why a job is not run locally (multi-project triggers), else undefined. */
  notRun(job: PlannedJob): string | undefined;
  /** Waits for the child pipelines whose bridges did not wait for them. */
  settled(): Promise<void>;
  /** Child pipelines by trigger job name. */
  children: Map<string, LocalRunResult>;
}

export function localBridges(options: LocalRunOptions, runner: JobRunner, slots: SlotPool, runPipeline: (o: LocalRunOptions) => Promise<LocalRunResult>): LocalBridges {
  const path = options.parentRun?.path ?? [];
  const children = new Map<string, LocalRunResult>();
  const detached = new Set<Promise<unknown>>();
  let started = 0;
  const say = (job: PlannedJob, text: string) => options.onOutput?.(job, text);
  const fail = (job: PlannedJob, result: JobResult): JobResult => {
    say(job, `ERROR: Job failed: ${result.message ?? result.failureReason}\n`);
    return result;
  };

  const notRun = (job: PlannedJob): string | undefined => {
    const trigger = readTrigger(job.config);
    return trigger?.kind === 'project' ? `not run: multi-project pipelines (trigger:project ${trigger.project}) need a server Slipway does not have` : undefined;
  };

  const runAttempt = async (job: PlannedJob, attempt: AttemptContext): Promise<JobResult> => {
    const trigger = readTrigger(job.config);
    if (!trigger) return fail(job, { status: 'failed', failureReason: 'invalid_bridge_trigger', message: 'the job has no trigger' });
    const refused = bridgeRefusal(trigger, path.length);
    if (refused || trigger.kind !== 'child') return fail(job, refused ?? { status: 'failed', failureReason: 'invalid_bridge_trigger' });
    const { variables, dotenv } = await runner.bridgeVariables(job, attempt.record.played);
    const forwarded = forwardedVariables({ job, config: options.config, trigger, variables, pipelineVariables: options.context.variables, literalPipelineVariables: options.context.literalVariables, dotenv });
    const files = directoryFiles(options.projectDir, options.files ? async () => [...options.files!] : undefined);
    const outcome = await planChild(trigger, job, options.context, forwarded, { files, readArtifact: runner.readArtifact });
    if (!outcome.ok) {
      for (const line of outcome.errors) say(job, `${line}\n`);
      return fail(job, outcome.result);
    }
    const { plan, config, context, files: read } = outcome.child;
    const childPath = [...path, job.name];
    const depend = followsDownstream(trigger);
    say(job, `Created child pipeline from ${read.join(', ')}: ${plan.jobs.length} job${plan.jobs.length === 1 ? '' : 's'}${depend ? ', waiting for it (strategy: depend)' : ''}\n`);
    const reporting = options.downstream?.({ path: childPath, plan }) ?? {};
    // A bridge that waits is canceled with its child; a child nobody waits for only with the run.
    const signals = [...(depend ? [attempt.signal] : []), ...(options.signal ? [options.signal] : [])];
    const run = runPipeline({
      ...options,
      plan,
      config,
      context,
      only: undefined,
      hooks: reporting.hooks,
      onOutput: reporting.onOutput,
      signal: signals.length ? AbortSignal.any(signals) : undefined,
      workDir: join(runner.runDir, `child-${++started}`),
      tree: runner.tree,
      parentRun: { path: childPath, slots },
    }).then((result) => {
      children.set(job.name, result);
      return result;
    });
    if (!depend) {
      const tracked = run.catch((e: unknown) => say(job, `ERROR: the child pipeline stopped: ${(e as Error).message}\n`));
      detached.add(tracked);
      return { status: 'success' };
    }
    try {
      return dependentResult((await run).status) ?? { status: 'success' };
    } catch (e) {
      return fail(job, { status: 'failed', failureReason: 'runner_system_failure', message: `the child pipeline stopped: ${(e as Error).message}` });
    }
  };

  return { runAttempt, notRun, settled: async () => void (await Promise.all(detached)), children };
}
