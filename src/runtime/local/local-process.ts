import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { constants } from 'node:os';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import type { ExitStatus, ProcessSpec, RunningProcess } from '../contract.js';
import type { ProcessCgroup } from './cgroups.js';
import type { ProcessRecord, ProcessRecords } from './orphans.js';
import { allProcesses, descendants, groupMembers, readStat, signal, waitUntilGone } from './process-tree.js';
import type { Launch } from './sandbox.js';

/** One running dyno process tree, spawned by the local runtime. */

export interface LocalProcessOptions {
  spec: ProcessSpec;
  sandboxed: boolean;
  launch: Launch;
  cgroup?: ProcessCgroup;
  record: ProcessRecord;
  records: ProcessRecords;
}

const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(
  Object.entries(constants.signals).map(([name, num]) => [num, name as NodeJS.Signals]),
);

export class LocalProcess implements RunningProcess {
  readonly exited: Promise<ExitStatus>;
  private done = false;
  private killedByUs = false;
  /** The pid record being written; finish() must not delete it before it exists. */
  private recorded: Promise<void> = Promise.resolve();

  private constructor(
    private readonly options: LocalProcessOptions,
    private readonly child: ChildProcess,
    readonly stdin: Writable,
    readonly stdout: Readable,
    readonly stderr: Readable,
  ) {
    this.exited = new Promise<ExitStatus>((resolve) => {
      child.once('exit', (code, sig) => {
        this.finish(code, sig).then(resolve, (err: Error) => {
          process.emitWarning(`slipway: cleanup of ${options.spec.appName} ${options.spec.name} failed: ${err.message}`);
          resolve(this.status(code, sig));
        });
      });
    });
  }

  /** Spawns the launch plan; resolves once the process exists (or rejects if it cannot). */
  static async start(options: LocalProcessOptions): Promise<LocalProcess> {
    const { launch, spec } = options;
    const child = spawn(launch.file, launch.args, {
      cwd: launch.cwd,
      env: launch.env,
      // Its own process group (and session), so signals to Slipway's group never hit it.
      detached: true,
      stdio: [spec.interactive ? 'pipe' : 'ignore', 'pipe', 'pipe', ...(launch.fd3Args ? ['pipe' as const] : [])],
    });
    if (launch.fd3Args) {
      const fd3 = child.stdio[3] as Writable;
      // A launcher that dies before reading closes its end; its exit status tells why.
      fd3.on('error', () => undefined);
      fd3.end(Buffer.from(launch.fd3Args.map((arg) => `${arg}\0`).join('')));
    }
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (err) => reject(new Error(`cannot start ${spec.appName} ${spec.name}: ${err.message}`)));
    });
    // Node discards a child's unread output when it exits before anyone listens, and a caller
    // cannot listen before start() resolves: pipe into our own buffers right away.
    const stdout = child.stdout!.pipe(new PassThrough());
    const stderr = child.stderr!.pipe(new PassThrough());
    let stdin: Writable;
    if (child.stdin) stdin = child.stdin;
    else {
      stdin = new PassThrough();
      stdin.end();
    }
    const proc = new LocalProcess(options, child, stdin, stdout, stderr);
    const stat = readStat(child.pid!);
    proc.recorded = options.records.save({ ...options.record, pid: child.pid, startTime: stat?.startTime });
    await proc.recorded;
    return proc;
  }

  get spec(): ProcessSpec {
    return this.options.spec;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  async stop(graceMs: number): Promise<ExitStatus> {
    if (this.done) return this.exited;
    for (const pid of this.appPids()) signal(pid, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<'timeout'>((resolve) => (timer = setTimeout(resolve, Math.max(0, graceMs), 'timeout')));
    const outcome = await Promise.race([this.exited, grace]);
    clearTimeout(timer);
    if (outcome === 'timeout') await this.killTree();
    return this.exited;
  }

  /**
   * The processes that should see SIGTERM: everything in the tree except bubblewrap's own
   * helpers (the outer monitor and the PID-namespace init). Signalling those would tear the
   * namespace down with SIGKILL before the app could shut down gracefully.
   */
  private appPids(): number[] {
    const root = this.child.pid;
    if (root === undefined) return [];
    const procs = allProcesses();
    const helpers = new Set<number>();
    if (this.options.sandboxed) {
      helpers.add(root);
      for (const pid of descendants(root, procs)) {
        const p = procs.find((q) => q.pid === pid);
        if (p && helpers.has(p.ppid) && p.comm === 'bwrap') helpers.add(pid);
      }
    }
    const tree = new Set<number>(this.options.cgroup ? this.options.cgroup.pids() : [root, ...descendants(root, procs)]);
    if (!this.options.sandboxed) for (const pid of groupMembers(root, procs)) tree.add(pid);
    return [...tree].filter((pid) => !helpers.has(pid));
  }

  /** SIGKILL to every process of the tree until none is left. */
  private async killTree(): Promise<void> {
    this.killedByUs = true;
    const root = this.child.pid;
    if (this.options.cgroup) await this.options.cgroup.killAll();
    if (root === undefined) return;
    // Without a cgroup: the tree below the root, plus its process group (catches children
    // that were re-parented after their parent died).
    await waitUntilGone(() => {
      const procs = allProcesses();
      // Once the root is reaped its pid may be reused, so only its group (whose id the
      // kernel keeps reserved while members live) identifies what is left.
      const running = this.child.exitCode === null && this.child.signalCode === null;
      const pids = new Set([...(running ? [root, ...descendants(root, procs)] : []), ...groupMembers(root, procs)]);
      for (const pid of pids) signal(pid, 'SIGKILL');
      return pids.size > 0;
    }, 10_000);
  }

  private status(code: number | null, sig: NodeJS.Signals | null): ExitStatus {
    // bwrap reports a signal death of the app as 128+n, the way shells do.
    if (this.options.sandboxed && code !== null && code > 128 && SIGNAL_NAMES.has(code - 128)) {
      return { code: null, signal: SIGNAL_NAMES.get(code - 128)! };
    }
    return { code, signal: sig };
  }

  /** The app is gone: kill anything it left behind, then remove its cgroup, files and record. */
  private async finish(code: number | null, sig: NodeJS.Signals | null): Promise<ExitStatus> {
    const status = this.status(code, sig);
    const stoppedByKill = this.killedByUs;
    await this.killTree();
    await this.streamsClosed();
    const { cgroup, record, records } = this.options;
    if (cgroup) {
      const oom = cgroup.oomKilled();
      status.oomKilled = oom ?? (status.signal === 'SIGKILL' && !stoppedByKill);
      await cgroup.remove();
    }
    await rm(record.dynoDir, { recursive: true, force: true });
    await this.recorded.catch(() => undefined);
    await records.remove(record.processId);
    this.done = true;
    return status;
  }

  /**
   * Waits until the app's output has reached our stdout/stderr buffers, so `exited` means
   * all output is readable. A consumer that does not read can stall that; give up waiting
   * after a while (the streams still end once they are drained).
   */
  private async streamsClosed(): Promise<void> {
    const ended = (stream: Readable | null) =>
      new Promise<void>((resolve) => {
        if (!stream || stream.readableEnded || stream.destroyed) resolve();
        else stream.once('close', resolve);
      });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, 5_000)));
    await Promise.race([Promise.all([ended(this.child.stdout), ended(this.child.stderr)]), timeout]);
    clearTimeout(timer);
  }
}
