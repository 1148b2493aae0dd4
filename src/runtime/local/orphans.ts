import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ProcessCgroup } from './cgroups.js';
import { allProcesses, descendants, groupMembers, isSameProcess, readStat, signal, waitUntilGone } from './process-tree.js';

/**
 * One JSON file per started process under `<dataDir>/run/procs/`, written *before* its
 * cgroup and files exist and completed with the pid once it runs. A Slipway killed with -9
 * leaves these behind; the next one reads them and removes whatever is still there.
 */
export interface ProcessRecord {
  processId: string;
  appName: string;
  name: string;
  dynoDir: string;
  cgroup?: { version: 1 | 2; path: string };
  /** Outermost spawned pid (bwrap, or the app itself); also its process group id. */
  pid?: number;
  /** /proc/<pid>/stat start time, so a reused pid is never mistaken for ours. */
  startTime?: number;
}

export class ProcessRecords {
  constructor(private readonly dir: string) {}

  async save(record: ProcessRecord): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const file = join(this.dir, `${record.processId}.json`);
    // Write-then-rename: a crash mid-write must not leave a record we cannot parse.
    await writeFile(`${file}.tmp`, JSON.stringify(record));
    await rename(`${file}.tmp`, file);
  }

  async remove(processId: string): Promise<void> {
    await rm(join(this.dir, `${processId}.json`), { force: true });
  }

  async list(): Promise<ProcessRecord[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const records: ProcessRecord[] = [];
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      try {
        records.push(JSON.parse(await readFile(join(this.dir, name), 'utf8')) as ProcessRecord);
      } catch {
        await rm(join(this.dir, name), { force: true }); // torn or foreign file: nothing to act on
      }
    }
    return records;
  }
}

/** Kills whatever is left of a recorded process tree and removes its cgroup and files. */
export async function reapRecord(record: ProcessRecord): Promise<void> {
  const cgroup = record.cgroup && ProcessCgroup.open(record.cgroup.version, record.cgroup.path);
  if (record.pid !== undefined && record.startTime !== undefined) {
    const { pid, startTime } = record;
    const leaderIsOurs = isSameProcess(pid, startTime);
    // The group id stays ours unless a newer process took over the pid as a group leader.
    const now = readStat(pid);
    const leaderReused = now !== undefined && now.startTime !== startTime;
    const victims = () => {
      const procs = allProcesses();
      const set = new Set<number>();
      if (leaderIsOurs && isSameProcess(pid, startTime)) {
        set.add(pid);
        for (const d of descendants(pid, procs)) set.add(d);
      }
      if (!leaderReused) for (const m of groupMembers(pid, procs)) set.add(m);
      return [...set];
    };
    await waitUntilGone(() => {
      const pids = victims();
      for (const p of pids) signal(p, 'SIGKILL');
      return pids.length > 0;
    }, 10_000);
  }
  if (cgroup) {
    await cgroup.killAll();
    await cgroup.remove();
  }
  await rm(record.dynoDir, { recursive: true, force: true });
}

/** Removes dyno directories that no record (and no live process of ours) owns. */
export async function removeStrayDirs(dynosDir: string, keep: Set<string>): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dynosDir);
  } catch {
    return;
  }
  for (const name of names) if (!keep.has(name)) await rm(join(dynosDir, name), { recursive: true, force: true });
}

/** Removes half-finished slug extractions left by a crash (older than `ageMs`). */
export async function removeStaleExtractions(slugsDir: string, ageMs: number): Promise<void> {
  let names: string[];
  try {
    names = await readdir(slugsDir);
  } catch {
    return;
  }
  for (const name of names.filter((n) => n.startsWith('.tmp-'))) {
    const path = join(slugsDir, name);
    const info = await stat(path).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > ageMs) await rm(path, { recursive: true, force: true });
  }
}
