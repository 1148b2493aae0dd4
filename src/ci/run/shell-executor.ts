// The shell executor: bash, as GitLab Runner's shell executor runs it. `before_script` and
// `script` run in one shell (`set -eo pipefail`, each command echoed as `$ cmd`, stdin empty);
// `after_script` runs in a fresh shell with CI_JOB_STATUS and its own timeout, never changes
// the job's status, and is skipped after a timeout. With bubblewrap the job sees a read-only
// system, its directory read-write at the same path, a private /tmp and pid namespace, and
// only its variables as environment; without it, a plain process in its own session. Either
// way the whole process tree is killed on timeout, cancel, and when the script ends.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import type { ExecutionRequest, Executor, JobResult } from './contract.js';
import { LineMasker } from './variables.js';
import { probeBwrap } from './bwrap-probe.js';

export const BWRAP = '/usr/bin/bwrap';
const BASH = '/bin/bash';

const shq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The bash program for a list of commands: strict mode, echo each command, run it via eval. */
export function shellScript(commands: readonly string[]): string {
  let body = '';
  for (const command of commands) body += `printf '%s\\n' ${shq(`$ ${command}`)}\n${command}\n`;
  return `exec 2>&1\nset -eo pipefail\nset +o noclobber\n: | eval ${shq(body)}\n`;
}

/** Read-only binds for the host system, as seen inside every job sandbox. */
export function systemBinds(path: string | undefined): string[] {
  const args = ['--ro-bind', '/usr', '/usr'];
  for (const dir of ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32']) {
    let stat;
    try {
      stat = lstatSync(dir);
    } catch {
      continue;
    }
    if (stat.isSymbolicLink()) args.push('--symlink', readlinkSync(dir), dir);
    else if (stat.isDirectory()) args.push('--ro-bind', dir, dir);
  }
  args.push('--ro-bind', '/etc', '/etc');
  // Hide what only the runner's uid may read (shadow files, private keys).
  for (const secret of ['/etc/shadow', '/etc/gshadow', '/etc/shadow-', '/etc/gshadow-', '/etc/ssl/private']) {
    try {
      const stat = lstatSync(secret);
      if (stat.isDirectory()) args.push('--tmpfs', secret);
      else if (stat.isFile()) args.push('--ro-bind', '/dev/null', secret);
    } catch {
      // absent
    }
  }
  try {
    const resolv = realpathSync('/etc/resolv.conf');
    if (!resolv.startsWith('/etc/') && !resolv.startsWith('/usr/')) args.push('--ro-bind', resolv, resolv);
  } catch {
    // no resolv.conf
  }
  // Tools on the PATH outside /usr (e.g. ~/.cargo/bin, /opt/x/bin) stay usable, read-only.
  const covered = (p: string) => ['/usr/', '/bin/', '/sbin/', '/lib/', '/etc/'].some((root) => `${p}/`.startsWith(root));
  for (const dir of new Set((path ?? '').split(':'))) {
    if (!dir.startsWith('/') || covered(dir) || !existsSync(dir)) continue;
    args.push('--ro-bind', dir, dir);
  }
  return args;
}

const NAMESPACES = ['--unshare-pid', '--unshare-ipc', '--unshare-uts', '--hostname', 'slipway-ci', '--die-with-parent', '--new-session', '--cap-drop', 'ALL'];

let probed: Promise<boolean> | undefined;

/** Whether bubblewrap is installed and can create a sandbox here (checked once, remembered). */
export function bwrapWorks(): Promise<boolean> {
  probed ??= probeBwrap(BWRAP, [...NAMESPACES, ...systemBinds(undefined), '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp']);
  return probed;
}

export interface ShellExecutorOptions {
  /** Run jobs in a bubblewrap sandbox (check bwrapWorks() first). */
  sandbox: boolean;
  /** The runner's environment that jobs start from (PATH, LANG…); job variables win. */
  baseEnv?: Record<string, string>;
  /** Directories put first on PATH, and paths bound read-only into the sandbox (server mode: the `slipway` CLI). */
  tools?: { path: readonly string[]; binds: readonly string[] };
}

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  aborted: boolean;
}

export class ShellExecutor implements Executor {
  readonly name: string;
  private readonly binds: string[];
  private readonly toolBinds: string[];
  private readonly baseEnv: Record<string, string>;

  constructor(private readonly options: ShellExecutorOptions) {
    this.name = options.sandbox ? 'shell (bubblewrap)' : 'shell';
    const base = options.baseEnv ?? defaultBaseEnv(options.sandbox);
    const tools = options.tools;
    this.baseEnv = tools?.path.length ? { ...base, PATH: [...tools.path, base.PATH].filter(Boolean).join(':') } : base;
    this.binds = options.sandbox ? systemBinds(base.PATH) : [];
    // Bound after the private /tmp is mounted, so tools kept under /tmp stay visible.
    this.toolBinds = options.sandbox ? [...(tools?.path ?? []), ...(tools?.binds ?? [])].filter((p) => existsSync(p)).flatMap((p) => ['--ro-bind', p, p]) : [];
  }

  async run(request: ExecutionRequest): Promise<JobResult> {
    const env = { ...this.baseEnv, ...request.variables };
    const masker = new LineMasker(request.masked, request.onOutput);
    const main = await this.spawnShell(shellScript([...request.beforeScript, ...request.script]), env, request.workdir, request.timeoutMs, request.signal, masker);
    let result: JobResult;
    if (main.timedOut) {
      result = { status: 'failed', failureReason: 'job_execution_timeout', message: `execution took longer than ${formatSeconds(request.timeoutMs)}` };
    } else if (main.aborted) {
      result = { status: 'canceled', message: 'canceled' };
    } else if (main.code === 0) {
      result = { status: 'success', exitCode: 0 };
    } else {
      const code = main.code ?? 128 + signalNumber(main.signal);
      result = { status: 'failed', exitCode: code, failureReason: 'script_failure', message: `exit code ${code}` };
    }
    // after_script: a new shell, after success, script failure or cancel; not after a timeout.
    if (request.afterScript.length > 0 && !main.timedOut) {
      masker.write('Running after_script\n');
      const status = result.status === 'success' ? 'success' : result.status === 'canceled' ? 'canceled' : 'failed';
      const after = await this.spawnShell(shellScript(request.afterScript), { ...env, CI_JOB_STATUS: status }, request.workdir, request.afterScriptTimeoutMs, undefined, masker);
      if (after.timedOut) masker.write(`WARNING: after_script timed out after ${formatSeconds(request.afterScriptTimeoutMs)}\n`);
      else if (after.code !== 0) masker.write(`WARNING: after_script failed with exit code ${after.code ?? 128 + signalNumber(after.signal)}\n`);
    }
    masker.end();
    return result;
  }

  private spawnShell(script: string, env: Record<string, string>, workdir: string, timeoutMs: number, signal: AbortSignal | undefined, masker: LineMasker): Promise<Outcome> {
    const shellArgs = ['--noprofile', '--norc', '-c', script, 'slipway-job'];
    let child: ChildProcess;
    if (this.options.sandbox) {
      // File variables live next to the job directory (<dir>.tmp), as GitLab Runner keeps them.
      const files = existsSync(`${workdir}.tmp`) ? ['--ro-bind', `${workdir}.tmp`, `${workdir}.tmp`] : [];
      const args = [...NAMESPACES, ...this.binds, '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', ...this.toolBinds, '--bind', workdir, workdir, ...files, '--chdir', workdir, '--', BASH, ...shellArgs];
      child = spawn(BWRAP, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    } else {
      child = spawn(BASH, shellArgs, { cwd: workdir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    }
    return new Promise<Outcome>((resolve) => {
      let timedOut = false;
      let aborted = false;
      let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
      let closed = false;
      let finished = false;
      const pid = child.pid;
      const kill = () => killTree(pid, !this.options.sandbox);
      const timer = timeoutMs > 0 && Number.isFinite(timeoutMs) ? setTimeout(() => ((timedOut = true), kill()), Math.min(timeoutMs, 2 ** 31 - 1)) : undefined;
      const onAbort = () => {
        aborted = true;
        kill();
      };
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
      child.stdout?.setEncoding('utf8');
      child.stderr?.setEncoding('utf8');
      child.stdout?.on('data', (chunk: string) => masker.write(chunk));
      child.stderr?.on('data', (chunk: string) => masker.write(chunk));
      let grace: NodeJS.Timeout | undefined;
      const done = () => {
        if (finished || !exited || !closed) return;
        finished = true;
        if (timer) clearTimeout(timer);
        if (grace) clearTimeout(grace);
        signal?.removeEventListener('abort', onAbort);
        resolve({ ...exited, timedOut, aborted });
      };
      child.on('error', (e) => {
        masker.write(`ERROR: could not start the job's shell: ${e.message}\n`);
        exited = { code: 127, signal: null };
        closed = true;
        done();
      });
      child.on('exit', (code, sig) => {
        exited = { code, signal: sig };
        // The script is over: whatever it left running in the background goes too.
        killTree(pid, false);
        // Output pipes held open by an escaped process must not hold the job forever.
        grace = setTimeout(() => {
          child.stdout?.destroy();
          child.stderr?.destroy();
          closed = true;
          done();
        }, 2000);
        done();
      });
      child.on('close', () => {
        closed = true;
        done();
      });
    });
  }
}

/** The runner's environment for jobs: PATH and locale from the host; HOME private in a sandbox. */
export function defaultBaseEnv(sandbox: boolean): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', SHELL: BASH };
  for (const key of ['LANG', 'LC_ALL', 'TZ', 'USER', 'LOGNAME']) if (process.env[key] !== undefined) env[key] = process.env[key]!;
  env.HOME = sandbox ? '/tmp' : (process.env.HOME ?? '/tmp');
  return env;
}

/** Kills a process group and, for plain processes, every descendant that left it. */
function killTree(pid: number | undefined, descendants: boolean): void {
  if (!pid) return;
  const victims = descendants ? descendantsOf(pid) : [];
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
  for (const p of victims) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function descendantsOf(root: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    const p = stack.pop()!;
    for (const c of children.get(p) ?? []) {
      out.push(c);
      stack.push(c);
    }
  }
  return out;
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15 };
const signalNumber = (signal: NodeJS.Signals | null): number => (signal ? (SIGNALS[signal] ?? 1) : 1);

function formatSeconds(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s % 3600 === 0 && s > 0) return `${s / 3600}h`;
  if (s % 60 === 0 && s > 0) return `${s / 60}m`;
  return `${s} seconds`;
}
