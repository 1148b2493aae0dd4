// Running pipelines: the Executor contract, the scheduler, the shell executor and the local
// driver behind `slipway ci run`. Separate from ../index.ts so `ci lint`/`ci list` load none of it.
export type { ExecutionRequest, Executor, FailureReason, JobRecord, JobResult, JobStatus, PipelineResult, PipelineStatus, SchedulerHooks } from './contract.js';
export { Scheduler, type AttemptContext, type RunAttempt, type SchedulerOptions } from './scheduler.js';
export { retryPolicy, retryMatches, type RetryPolicy } from './retry.js';
export { ShellExecutor, bwrapWorks, shellScript, type ShellExecutorOptions } from './shell-executor.js';
export { artifactSources, artifactSpec, collectPaths, parseDotenv, type ArtifactSpec, type StoredArtifacts } from './artifacts.js';
export { cacheSpecs, restoreCache, saveCache, type CacheSpec } from './cache.js';
export { jobVariables, environmentSlug, LineMasker, MIN_MASKED_LENGTH, type JobVariableSources } from './variables.js';
export { checkout, sourceTree, type SourceTree } from './workspace.js';
export { parseDuration } from './duration.js';
export { runLocalPipeline, createJobRunner, loadPipelineCached, selectJobs, ciStateDir, UnknownJobError, type ArtifactStore, type DownstreamInfo, type DownstreamReporting, type JobRunner, type LocalRunOptions, type LocalRunResult } from './local.js';
export { bridgeRefusal, dependentResult, forwardedVariables, planChild, type ChildOutcome, type ChildPlan } from './bridge.js';
export { progress, pipelineStatus, failureAllowed, ACTIVE_STATUSES, type JobState, type Transition } from './progress.js';
