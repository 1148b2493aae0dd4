// Shared shapes of the CI engine: source locations, errors, the pipeline context, and the
// small interfaces through which the engine reaches files, remote includes and diffs.

/** Where something was written: a repository-relative file and a 1-based line. */
export interface SourceLocation {
  file: string;
  line: number;
}

/** A configuration problem, reported as `file:line: message` (line 0 when unknown). */
export interface CiError extends SourceLocation {
  message: string;
}

export const formatCiError = (e: CiError): string => `${e.file}${e.line > 0 ? `:${e.line}` : ''}: ${e.message}`;

/** Repository files as the pipeline sees them: read one, or list all (posix, relative). */
export interface ProjectFiles {
  read(path: string): Promise<string | undefined>;
  list(): Promise<string[]>;
}

/** Fetches an `include:remote` URL. Injected so the engine itself never opens a socket. */
export type RemoteFetcher = (url: string) => Promise<string>;

/**
 * Reads a file of another project for `include:project` (ref undefined = its default branch);
 * undefined when the file does not exist; throws with a readable reason when the project
 * cannot be read (unknown, no access).
 */
export type ProjectFileReader = (project: string, ref: string | undefined, path: string) => Promise<string | undefined>;

/**
 * Reads a file from the artifacts of a job of the parent pipeline, for a child pipeline's
 * `trigger:include:artifact`; undefined when the job left no such file; throws with a readable
 * reason when the job has no artifacts to read.
 */
export type ArtifactFileReader = (job: string, path: string) => Promise<string | undefined>;

/**
 * Paths changed by the push (or merge request) that started the pipeline, for
 * `rules:changes` and `only:changes`. `null` means "there is nothing to compare with"
 * (new branch, tag, schedule, web…), in which case GitLab treats changes as matched.
 */
export type ChangedFiles = (compareTo?: string) => readonly string[] | null;

export type PipelineSource =
  | 'push'
  | 'merge_request_event'
  | 'schedule'
  | 'web'
  | 'api'
  | 'trigger'
  | 'pipeline'
  | 'parent_pipeline'
  | 'chat'
  | 'external'
  | 'external_pull_request_event'
  | 'webide'
  | (string & {});

export interface MergeRequestContext {
  iid: number;
  id?: number;
  sourceBranch: string;
  targetBranch: string;
  title?: string;
  /** CI_MERGE_REQUEST_DESCRIPTION (GitLab cuts it at 2,700 characters). */
  description?: string;
  labels?: string[];
  diffBaseSha?: string;
  eventType?: 'detached' | 'merged_result' | 'merge_train';
  draft?: boolean;
}

/** Everything about the pipeline being created that rules and variables may look at. */
export interface PipelineContext {
  source: PipelineSource;
  /** Exactly one of branch or tag for push-like pipelines; MR pipelines use mergeRequest. */
  branch?: string;
  tag?: string;
  sha: string;
  beforeSha?: string;
  defaultBranch: string;
  projectPath: string;
  projectId?: number;
  serverUrl?: string;
  refProtected?: boolean;
  commitMessage?: string;
  commitTimestamp?: string;
  commitAuthor?: string;
  pipelineIid?: number;
  user?: { id?: number; login?: string; name?: string; email?: string };
  mergeRequest?: MergeRequestContext;
  /** CI_OPEN_MERGE_REQUESTS: open merge requests from this branch (`group/project!iid`, at most 4, newest first). */
  openMergeRequests?: string[];
  /** Pipeline variables (trigger, schedule, manual run, `--variable`): the highest precedence. */
  variables?: Record<string, string>;
  /** Pipeline variables kept as written (no `$` expansion): `expand: false` variables a trigger job passed down. */
  literalVariables?: readonly string[];
  /** Project/group/instance variables: below pipeline variables, above YAML ones. */
  projectVariables?: Record<string, string>;
  changes?: ChangedFiles;
  /** Repository files at the pipeline ref, for `rules:exists`. */
  repositoryFiles?: readonly string[];
}

/** A hash from the YAML, as plain JSON-like data. */
export type Hash = Record<string, unknown>;

export const isHash = (v: unknown): v is Hash => typeof v === 'object' && v !== null && !Array.isArray(v);
