import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ProcessSpec, RunningProcess, Runtime } from '../contract.js';
import { detectCgroups, ProcessCgroup, sweepEmptyCgroups, type CgroupSupport } from './cgroups.js';
import { LocalProcess } from './local-process.js';
import { ProcessRecords, reapRecord, removeStaleExtractions, removeStrayDirs, type ProcessRecord } from './orphans.js';
import { bwrapLaunch, inCgroup, plainLaunch, probeBwrap, systemBinds } from './sandbox.js';
import { assertSafeId, SlugCache } from './slug-cache.js';

/**
 * The local Runtime: each dyno is a child process of Slipway, run from a private copy of
 * its slug, inside a bubblewrap sandbox when available, with a memory cgroup when writable.
 *
 * Layout under `<dataDir>/run/`: `slugs/<slugId>` (shared extractions), `dynos/<processId>/app`
 * (one writable copy per process), `spares/` (the next copy of each slug, made ahead of time),
 * `procs/<processId>.json` (records for orphan cleanup).
 */

export interface LocalRuntimeOptions {
  dataDir: string;
  /** 'auto': bubblewrap when it works here; 'bwrap': required; 'none': plain processes. */
  sandbox: 'auto' | 'bwrap' | 'none';
}

let bwrapProbe: { system: string[]; failure: Promise<string | undefined> } | undefined;

/** The sandbox's system binds and whether bwrap works with them, worked out once per Slipway. */
function bwrapAvailability() {
  if (!bwrapProbe) {
    const system = systemBinds();
    bwrapProbe = { system, failure: probeBwrap(system) };
  }
  return bwrapProbe;
}

export class LocalRuntime implements Runtime {
  readonly name = 'local';
  private readonly running = new Map<string, LocalProcess>();
  /** Process ids between "start" and "running": their directories are not strays. */
  private readonly starting = new Set<string>();
  private readonly slugs: SlugCache;
  private readonly records: ProcessRecords;
  private readonly dynosDir: string;

  constructor(
    readonly dataDir: string,
    /** bwrap system binds when sandboxed, undefined for plain processes. */
    private readonly system: string[] | undefined,
    private readonly cgroups: CgroupSupport | undefined,
    readonly isolation: string,
  ) {
    const run = join(dataDir, 'run');
    this.slugs = new SlugCache(join(run, 'slugs'), join(run, 'spares'));
    this.records = new ProcessRecords(join(run, 'procs'));
    this.dynosDir = join(run, 'dynos');
  }

  get sandboxed(): boolean {
    return this.system !== undefined;
  }

  /** The cgroup version enforcing memory limits, or undefined when there are none. */
  get cgroupVersion(): 1 | 2 | undefined {
    return this.cgroups?.version;
  }

  async start(spec: ProcessSpec): Promise<RunningProcess> {
    assertSafeId('process', spec.id);
    if (this.running.has(spec.id) || this.starting.has(spec.id)) throw new Error(`process ${spec.id} is already running`);
    this.starting.add(spec.id);
    try {
      return await this.launch(spec);
    } finally {
      this.starting.delete(spec.id);
    }
  }

  private async launch(spec: ProcessSpec): Promise<LocalProcess> {
    const slugDir = await this.slugs.extracted(spec.slug);
    const dynoDir = join(this.dynosDir, spec.id);
    const appDir = join(dynoDir, 'app');
    await mkdir(this.dynosDir, { recursive: true });
    try {
      await mkdir(dynoDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new Error(`process id ${spec.id} was already used: ${dynoDir} exists`);
      throw err;
    }
    // Recorded before anything else exists, so a crash at any later point is cleaned up.
    const record: ProcessRecord = { processId: spec.id, appName: spec.appName, name: spec.name, dynoDir };
    if (this.cgroups) record.cgroup = { version: this.cgroups.version, path: join(this.cgroups.parent, spec.id) };
    await this.records.save(record);

    let cgroup: ProcessCgroup | undefined;
    try {
      await this.slugs.checkout(spec.slug.id, slugDir, appDir);
      if (this.cgroups) cgroup = ProcessCgroup.create(this.cgroups, spec.id, spec.memoryMb);
      const base = this.system ? bwrapLaunch(spec, appDir, this.system) : plainLaunch(spec, appDir);
      const proc = await LocalProcess.start({
        spec,
        sandboxed: this.sandboxed,
        launch: inCgroup(base, cgroup?.procsFile),
        cgroup,
        record,
        records: this.records,
      });
      this.running.set(spec.id, proc);
      void proc.exited.finally(() => this.running.delete(spec.id));
      return proc;
    } catch (err) {
      await cgroup?.remove().catch(() => undefined);
      await rm(dynoDir, { recursive: true, force: true });
      await this.records.remove(spec.id);
      throw err;
    }
  }

  async cleanupOrphans(): Promise<void> {
    const mine = new Set([...this.running.keys(), ...this.starting]);
    for (const record of await this.records.list()) {
      if (mine.has(record.processId)) continue;
      await reapRecord(record);
      await this.records.remove(record.processId);
    }
    await removeStrayDirs(this.dynosDir, new Set([...this.running.keys(), ...this.starting]));
    await removeStaleExtractions(join(this.dataDir, 'run', 'slugs'), 10 * 60 * 1000);
    if (this.cgroups) sweepEmptyCgroups(this.cgroups, 60 * 1000);
    const spares = join(this.dataDir, 'run', 'spares');
    const keep = [...(await this.slugs.sparePaths())].map((p) => p.slice(spares.length + 1));
    await removeStrayDirs(spares, new Set(keep));
  }

  async forgetSlug(slugId: string): Promise<void> {
    await this.slugs.forget(slugId);
  }
}

export async function createLocalRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  const dataDir = resolve(options.dataDir);
  let system: string[] | undefined;
  let sandboxNote: string;
  if (options.sandbox === 'none') {
    sandboxNote = 'plain processes, no sandbox (sandbox disabled; install bubblewrap and use sandbox "auto" to isolate dynos)';
  } else {
    const probe = bwrapAvailability();
    const failure = await probe.failure;
    if (failure && options.sandbox === 'bwrap') throw new Error(`bubblewrap sandbox required but unavailable: ${failure}`);
    if (failure) {
      sandboxNote = `plain processes, no sandbox (${failure}; install bubblewrap to isolate dynos)`;
    } else {
      system = probe.system;
      sandboxNote = 'bubblewrap sandbox (read-only system, private /app and /tmp, own PID namespace)';
    }
  }
  const cgroups = detectCgroups();
  const memoryNote = cgroups.support
    ? `memory limit per dyno via cgroup v${cgroups.support.version}`
    : `no memory limits (${cgroups.reason})`;
  await mkdir(join(dataDir, 'run', 'slugs'), { recursive: true });
  return new LocalRuntime(dataDir, system, cgroups.support, `${sandboxNote}, ${memoryNote}`);
}
