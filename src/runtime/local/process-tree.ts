import { readFileSync, readdirSync } from 'node:fs';

/**
 * Reading and signalling process trees through /proc. Used where no cgroup tracks a
 * dyno, and to tell a recorded pid apart from a later process that reused it.
 */

export interface ProcStat {
  pid: number;
  ppid: number;
  pgid: number;
  /** Start time in clock ticks since boot: with the pid, identifies one process for good. */
  startTime: number;
  state: string;
  /** Executable name, at most 15 characters. */
  comm: string;
}

export function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
  const close = text.lastIndexOf(')');
  const rest = text.slice(close + 2).split(' ');
  return { pid, comm: text.slice(text.indexOf('(') + 1, close), state: rest[0]!, ppid: Number(rest[1]), pgid: Number(rest[2]), startTime: Number(rest[19]) };
}

/** True while `pid` is the very process that started at `startTime` (and not a zombie). */
export function isSameProcess(pid: number, startTime: number): boolean {
  const stat = readStat(pid);
  return stat !== undefined && stat.startTime === startTime && stat.state !== 'Z';
}

export function allProcesses(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat) out.push(stat);
  }
  return out;
}

/** Every live descendant of `root` (not `root` itself), parents before children. */
export function descendants(root: number, procs: ProcStat[] = allProcesses()): number[] {
  const children = new Map<number, number[]>();
  for (const p of procs) {
    if (p.state === 'Z') continue;
    const list = children.get(p.ppid) ?? [];
    list.push(p.pid);
    children.set(p.ppid, list);
  }
  const out: number[] = [];
  const queue = [...(children.get(root) ?? [])];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** Live members of process group `pgid`. */
export function groupMembers(pgid: number, procs: ProcStat[] = allProcesses()): number[] {
  return procs.filter((p) => p.pgid === pgid && p.state !== 'Z').map((p) => p.pid);
}

/** Sends a signal, ignoring processes that are already gone. */
export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `alive` until it returns false or `timeoutMs` passes; returns whether it emptied. */
export async function waitUntilGone(alive: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    if (!alive()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(delay);
  }
}
