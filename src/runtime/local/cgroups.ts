import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { signal, sleep, waitUntilGone } from './process-tree.js';

/**
 * Memory cgroups for dynos: one cgroup per process tree at `<own>/slipway/<processId>`,
 * where `<own>` is the cgroup Slipway itself runs in. Works on cgroup v1 (memory
 * controller hierarchy) and v2 (unified); when neither is writable, dynos run without a
 * memory limit and `detectCgroups` says why.
 */

export interface CgroupSupport {
  version: 1 | 2;
  /** `<own>/slipway`: the parent of every per-process cgroup. */
  parent: string;
}

export interface CgroupDetection {
  support?: CgroupSupport;
  /** Why memory limits are unavailable (only when `support` is undefined). */
  reason?: string;
}

interface Mount {
  root: string;
  mountPoint: string;
  fsType: string;
  superOptions: string[];
}

function readMounts(): Mount[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [left, right = ''] = line.split(' - ');
      const fields = left!.split(' ');
      const [fsType = '', , superOpts = ''] = right.split(' ');
      // mountinfo escapes spaces and friends as octal (\040).
      const unescape = (s: string) => s.replace(/\\(\d{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
      return { root: unescape(fields[3]!), mountPoint: unescape(fields[4]!), fsType, superOptions: superOpts.split(',') };
    });
}

/** Maps a path from /proc/self/cgroup onto the filesystem through the mount that shows it. */
function onDisk(mount: Mount, cgroupPath: string): string | undefined {
  if (mount.root === '/') return join(mount.mountPoint, cgroupPath);
  if (cgroupPath === mount.root || cgroupPath.startsWith(`${mount.root}/`)) return join(mount.mountPoint, cgroupPath.slice(mount.root.length));
  return undefined;
}

/** Finds Slipway's own memory cgroup directory and which cgroup version holds it. */
function ownMemoryCgroup(): { version: 1 | 2; dir: string } | undefined {
  const lines = readFileSync('/proc/self/cgroup', 'utf8').split('\n').filter(Boolean);
  const mounts = readMounts();
  // The memory controller lives in exactly one hierarchy: look for it in v1 first.
  for (const line of lines) {
    const [, controllers = '', ...rest] = line.split(':');
    if (!controllers.split(',').includes('memory')) continue;
    const mount = mounts.find((m) => m.fsType === 'cgroup' && m.superOptions.includes('memory'));
    const dir = mount && onDisk(mount, rest.join(':'));
    if (dir) return { version: 1, dir };
  }
  const unified = lines.find((l) => l.startsWith('0::'));
  const mount = mounts.find((m) => m.fsType === 'cgroup2');
  const dir = unified && mount && onDisk(mount, unified.slice(3));
  return dir ? { version: 2, dir } : undefined;
}

const read = (path: string) => readFileSync(path, 'utf8');

function hasController(dir: string, file: string): boolean {
  try {
    return read(join(dir, file)).split(/\s+/).includes('memory');
  } catch {
    return false;
  }
}

/**
 * cgroup v2 only lets a cgroup hand controllers to its children when it holds no
 * processes itself. When Slipway is alone in its cgroup (a systemd service with
 * Delegate=yes), it moves itself into a `supervisor` leaf to make room for dynos.
 */
function delegateMemoryV2(own: string): void {
  if (hasController(own, 'cgroup.subtree_control')) return;
  try {
    writeFileSync(join(own, 'cgroup.subtree_control'), '+memory');
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EBUSY') throw err;
  }
  const procs = read(join(own, 'cgroup.procs')).split('\n').filter(Boolean).map(Number);
  if (procs.length !== 1 || procs[0] !== process.pid) {
    throw new Error(`cgroup ${own} also holds other processes, so it cannot delegate the memory controller`);
  }
  const leaf = join(own, 'supervisor');
  mkdirSync(leaf, { recursive: true });
  writeFileSync(join(leaf, 'cgroup.procs'), String(process.pid));
  writeFileSync(join(own, 'cgroup.subtree_control'), '+memory');
}

export function detectCgroups(): CgroupDetection {
  let own: { version: 1 | 2; dir: string } | undefined;
  try {
    own = ownMemoryCgroup();
  } catch (err) {
    return { reason: `cannot read cgroup information (${(err as Error).message})` };
  }
  if (!own) return { reason: 'no cgroup hierarchy with the memory controller is mounted' };
  const parent = join(own.dir, 'slipway');
  try {
    if (own.version === 2) {
      if (!hasController(own.dir, 'cgroup.controllers')) return { reason: `cgroup v2 memory controller is not available in ${own.dir}` };
      delegateMemoryV2(own.dir);
      mkdirSync(parent, { recursive: true });
      if (!hasController(parent, 'cgroup.subtree_control')) writeFileSync(join(parent, 'cgroup.subtree_control'), '+memory');
    } else {
      mkdirSync(parent, { recursive: true });
    }
    // Prove that a child cgroup can be made and limited before promising limits.
    const probe = join(parent, `probe-${process.pid}`);
    mkdirSync(probe, { recursive: true });
    try {
      writeFileSync(join(probe, own.version === 1 ? 'memory.limit_in_bytes' : 'memory.max'), String(64 * 1024 * 1024));
    } finally {
      rmdirSync(probe);
    }
  } catch (err) {
    return { reason: `cgroup v${own.version} at ${own.dir} is not writable (${(err as Error).message})` };
  }
  return { support: { version: own.version, parent } };
}

/** The cgroup of one dyno process tree. */
export class ProcessCgroup {
  private constructor(
    readonly version: 1 | 2,
    readonly path: string,
  ) {}

  /** Creates the cgroup and sets its memory limit (memory+swap too, so swap cannot dodge it). */
  static create(support: CgroupSupport, processId: string, memoryMb: number): ProcessCgroup {
    const path = join(support.parent, processId);
    mkdirSync(path);
    const cg = new ProcessCgroup(support.version, path);
    const bytes = String(Math.max(1, Math.floor(memoryMb)) * 1024 * 1024);
    try {
      if (support.version === 1) {
        writeFileSync(join(path, 'memory.limit_in_bytes'), bytes);
        cg.writeOptional('memory.memsw.limit_in_bytes', bytes);
      } else {
        writeFileSync(join(path, 'memory.max'), bytes);
        cg.writeOptional('memory.swap.max', '0');
      }
    } catch (err) {
      rmdirSync(path);
      throw new Error(`cannot set the memory limit of cgroup ${path}: ${(err as Error).message}`);
    }
    return cg;
  }

  /** Re-opens a cgroup recorded by an earlier Slipway process. */
  static open(version: 1 | 2, path: string): ProcessCgroup | undefined {
    return existsSync(path) ? new ProcessCgroup(version, path) : undefined;
  }

  private writeOptional(file: string, value: string): void {
    try {
      if (existsSync(join(this.path, file))) writeFileSync(join(this.path, file), value);
    } catch {
      // memsw/swap accounting may be switched off by the kernel; the plain limit still holds.
    }
  }

  /** The file a process writes its own pid into to join this cgroup. */
  get procsFile(): string {
    return join(this.path, 'cgroup.procs');
  }

  pids(): number[] {
    try {
      return read(this.procsFile).split('\n').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  }

  /** Whether the kernel OOM-killed anything in this cgroup; undefined when it cannot tell. */
  oomKilled(): boolean | undefined {
    try {
      const file = this.version === 1 ? 'memory.oom_control' : 'memory.events';
      const match = /^oom_kill (\d+)$/m.exec(read(join(this.path, file)));
      if (match) return Number(match[1]) > 0;
      // Kernels before 4.13 (v1) have no oom_kill counter: hitting the limit is the best hint.
      if (this.version === 1) return Number(read(join(this.path, 'memory.failcnt'))) > 0 ? undefined : false;
      return undefined;
    } catch {
      return undefined;
    }
  }

  /** SIGKILLs everything in the cgroup until it is empty (new forks are caught by looping). */
  async killAll(timeoutMs = 10_000): Promise<boolean> {
    const killFile = join(this.path, 'cgroup.kill');
    return waitUntilGone(() => {
      const pids = this.pids();
      if (pids.length === 0) return false;
      if (this.version === 2 && existsSync(killFile)) writeFileSync(killFile, '1');
      else for (const pid of pids) signal(pid, 'SIGKILL');
      return true;
    }, timeoutMs);
  }

  /** Removes the cgroup; the kernel refuses while exiting tasks linger, so retry briefly. */
  async remove(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        rmdirSync(this.path);
        return;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') return;
        if (code !== 'EBUSY' || attempt >= 50) throw new Error(`cannot remove cgroup ${this.path}: ${(err as Error).message}`);
        await sleep(20);
      }
    }
  }
}

/**
 * Removes empty per-process cgroups older than `minAgeMs` that no record points to any more
 * (e.g. their Slipway was killed and its data dir deleted). The age guard spares cgroups
 * another Slipway has just made and not yet moved its process into.
 */
export function sweepEmptyCgroups(support: CgroupSupport, minAgeMs: number): void {
  let names: string[];
  try {
    names = readdirSync(support.parent);
  } catch {
    return;
  }
  for (const name of names) {
    const path = join(support.parent, name);
    try {
      if (!statSync(path).isDirectory() || Date.now() - statSync(path).ctimeMs < minAgeMs) continue;
      if (read(join(path, 'cgroup.procs')).trim() === '') rmdirSync(path);
    } catch {
      // busy, gone or not ours to remove: leave it
    }
  }
}
