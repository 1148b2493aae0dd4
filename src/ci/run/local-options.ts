// The shapes of a local run (`slipway ci run`, and the server's job attempts): its options,
// what it gives back, and the job runner both drivers call. Apart from local.ts so the
// downstream (child pipeline) driver can use them without importing the runner itself.
import type { Plan, PlannedJob } from '../plan/plan.js';
import type { ArtifactFileReader, Hash, PipelineContext } from '../types.js';
import type { StoredArtifacts } from './artifacts.js';
import type { Executor, JobRecord, JobResult, PipelineResult, SchedulerHooks } from './contract.js';
import type { SlotPool } from './slot-pool.js';
import type { SourceTree } from './workspace.js';

export interface LocalRunOptions {
  /** The project directory (a git work tree's top level). */
  projectDir: string;
  plan: Plan;
  config: Hash;
  context: PipelineContext;
  /** The pipeline file, for CI_CONFIG_PATH. */
  entry?: string;
  /** The files a checkout holds (default: git ls-files -co --exclude-standard). */
  files?: readonly string[];
  /** Run only these jobs (plus what they need); named manual jobs are played. */
  only?: readonly string[];
  /** Manual jobs to play. */
  manual?: readonly string[];
  concurrency?: number;
  /** 'auto' (default): bubblewrap when it works. */
  sandbox?: 'auto' | 'on' | 'off';
  /** Run jobs that set `image:`/`services:` on the shell executor anyway. */
  shellForImages?: boolean;
  /** Values to mask in logs. */
  masked?: readonly string[];
  /** Keeps job directories and artifacts (in runDir) after the run. */
  keep?: boolean;
  /** Default: ciStateDir(projectDir). */
  stateDir?: string;
  executor?: Executor;
  hooks?: SchedulerHooks;
  /** Job output, masked, in lines. */
  onOutput?(job: PlannedJob, text: string): void;
  signal?: AbortSignal;
  /** Server mode: the ids and URLs the server gave the pipeline and its jobs (default: a local counter). */
  ids?: { pipelineId: number; pipelineIid: number; pipelineUrl: string; createdAt?: string; job(job: PlannedJob): { id: number; url: string } };
  /** Server mode: artifacts kept outside the run directory (durable, per job attempt). */
  artifactStore?: ArtifactStore;
  /** Where job directories go (default: a new temporary directory); removed at the end unless `keep`. */
  workDir?: string;
  /** CI_RUNNER_DESCRIPTION (default `slipway ci run`). */
  runnerDescription?: string;
  /**
   * Server mode: called before each attempt with the job's predefined variables; may add
   * predefined variables (CI_JOB_TOKEN…), replace the project variables for this job
   * (environment scopes), add values to mask, and give file variables to write.
   */
  prepareJob?(job: PlannedJob, info: { attempt: number; timeoutMs: number; predefined: Record<string, string> }): Promise<JobPreparation | undefined>;
  /** Directories put first on every job's PATH and paths bound read-only into job sandboxes. */
  jobTools?: { path: readonly string[]; binds: readonly string[] };
  /** The files jobs check out, when already read (a child pipeline checks out its parent's). */
  tree?: SourceTree;
  /** Child pipelines: how their jobs report (default: not at all). */
  downstream?(child: DownstreamInfo): DownstreamReporting;
  /** Set for a child pipeline: where it sits below the top pipeline, and what it shares with it. */
  parentRun?: ParentRun;
}

/** A child pipeline being started by a trigger job. */
export interface DownstreamInfo {
  /** The trigger jobs from the top pipeline down to this child (`['child', 'grandchild']`). */
  path: string[];
  plan: Plan;
}

export interface DownstreamReporting {
  hooks?: SchedulerHooks;
  onOutput?(job: PlannedJob, text: string): void;
}

/** What a child pipeline's run takes from the run that triggered it. */
export interface ParentRun {
  path: string[];
  slots: SlotPool;
}

export interface JobPreparation {
  predefined?: Record<string, string>;
  projectVariables?: Record<string, string>;
  masked?: readonly string[];
  /** Absolute path → contents (file-type variables), written with mode 0600 after the checkout. */
  files?: Record<string, string>;
}

/** Where a server keeps artifacts: what earlier jobs left, and where a job's go. */
export interface ArtifactStore {
  /** The artifacts of the pipeline's jobs so far (the newest attempt of each), in pipeline order. */
  list(): Promise<StoredArtifacts[]>;
  /** The (emptied) directory for this attempt's artifacts. */
  dir(job: PlannedJob): string;
  save(job: PlannedJob, entry: StoredArtifacts): Promise<void>;
}

/** One run's job attempts: what the scheduler (local) or the server's pipeline runner calls. */
export interface JobRunner {
  runDir: string;
  tree: SourceTree;
  /**
   * A trigger job's variables, as a job of the pipeline would have them (predefined, YAML,
   * dotenv, project, pipeline), and the dotenv variables it receives.
   */
  bridgeVariables(job: PlannedJob, played: boolean): Promise<{ variables: Record<string, string>; dotenv: Record<string, string> }>;
  /** Reads a file the pipeline's jobs left as artifacts (trigger:include:artifact). */
  readArtifact: ArtifactFileReader;
  runAttempt(job: PlannedJob, context: { attempt: number; signal: AbortSignal; record: Pick<JobRecord, 'played'> }): Promise<JobResult>;
  resourceGroup(job: PlannedJob): string | undefined;
  artifacts: StoredArtifacts[];
  executorName(): string;
  close(): Promise<void>;
}

export interface LocalRunResult extends PipelineResult {
  runDir: string;
  executor: string;
  artifacts: StoredArtifacts[];
  /** The child pipelines its trigger jobs created, by trigger job name. */
  children: Map<string, LocalRunResult>;
}
