import type { Readable, Writable } from 'node:stream';

/**
 * The Runtime contract: how Slipway starts one process of an app from a slug.
 * The local runtime implements it with (sandboxed) child processes; Docker and cluster
 * runtimes implement the same contract and pass the same conformance suite.
 * The dyno manager decides *what* runs; a Runtime only knows *how* to run one process.
 */
export interface ProcessSpec {
  /** Unique id of this process instance (a new one per start, also per restart). */
  id: string;
  appId: string;
  appName: string;
  /** Dyno name: `web.1`, `worker.2`, `run.4821`, `release.7`. */
  name: string;
  /** Shell command line, run with `bash -c` inside /app. */
  command: string;
  /** The complete environment (config vars, PORT, DYNO, ...). Nothing else leaks in. */
  env: Record<string, string>;
  /** The slug to run: a gzipped tarball whose contents become /app. */
  slug: { id: string; path: string };
  /** Memory limit for the process tree, applied where cgroups are writable. */
  memoryMb: number;
  /** Keep stdin open for an attached one-off dyno. */
  interactive?: boolean;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when the memory limit killed the process. */
  oomKilled?: boolean;
}

export interface RunningProcess {
  readonly spec: ProcessSpec;
  readonly pid: number | undefined;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Only useful when `spec.interactive`; otherwise already closed. */
  readonly stdin: Writable;
  /** Resolves once the whole process tree has exited and its files are cleaned up. */
  readonly exited: Promise<ExitStatus>;
  /** SIGTERM to the whole tree, SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs: number): Promise<ExitStatus>;
}

export interface Runtime {
  readonly name: string;
  /** Human description of the isolation in use, e.g. "bubblewrap sandbox" or "plain processes". */
  readonly isolation: string;
  start(spec: ProcessSpec): Promise<RunningProcess>;
  /** Kills processes left over by an earlier Slipway process that died without stopping them. */
  cleanupOrphans(): Promise<void>;
  /** Removes cached slug extractions that no current release uses. */
  forgetSlug(slugId: string): Promise<void>;
}
