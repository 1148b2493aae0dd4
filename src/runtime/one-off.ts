import type { Kysely } from 'kysely';
import type { Database, AppRow, ReleaseRow, SlugRow } from '../store/schema.js';
import type { Runtime, RunningProcess } from './contract.js';
import type { LogHub } from '../logs/log-hub.js';
import type { ReleasePhaseRunner } from '../release/releases.js';
import { DynoProcess, pipeLines, type DynoInfo } from './dyno.js';
import { loadDesiredState } from './desired-state.js';
import { dynoEnv } from './dyno-env.js';
import { allocatePort } from './ports.js';
import { DEFAULT_SIZE, memoryForSize, normalizeSize } from '../core/formation.js';
import { newId, newSecret } from '../core/ids.js';
import { notFound, PlatformError } from '../core/errors.js';

export interface OneOffRequest {
  command: string;
  env?: Record<string, string>;
  size?: string;
  attach: boolean;
}

interface PendingAttach {
  info: DynoInfo;
  start: () => Promise<RunningProcess | undefined>;
  timer: NodeJS.Timeout;
}

/** How long an attached one-off dyno waits for its client to connect. */
const ATTACH_WAIT_MS = 60_000;

/**
 * One-off dynos (`run`, `run:detached`) and release-phase processes. An attached dyno
 * starts only when its client connects to the rendezvous endpoint, so no output is lost.
 */
export class OneOffRunner implements ReleasePhaseRunner {
  private readonly running = new Map<string, Map<string, DynoProcess>>();
  private readonly pending = new Map<string, PendingAttach>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly runtime: Runtime,
    private readonly logs: LogHub,
    private readonly stopTimeoutMs: number,
  ) {}

  list(appId: string): DynoInfo[] {
    const waiting = [...this.pending.values()].filter((p) => p.info.appId === appId).map((p) => p.info);
    return [...(this.running.get(appId)?.values() ?? [])].map((d) => d.info).concat(waiting);
  }

  /** Creates a one-off dyno; attached ones return a secret for the rendezvous endpoint. */
  async run(app: AppRow, request: OneOffRequest): Promise<{ info: DynoInfo; attachSecret: string | null }> {
    const desired = await loadDesiredState(this.db, app.id);
    if (!desired) {
      throw new PlatformError(422, 'invalid_params', `${app.name} has no deployed release yet; deploy it (git push) before running commands.`);
    }
    const size = request.size ? normalizeSize(request.size) : DEFAULT_SIZE;
    const name = `run.${1000 + Math.floor(Math.random() * 9000)}`;
    const info = this.newInfo(app.id, name, 'run', request.command, size, desired.release);
    const start = () => this.spawn(app, desired.release, desired.slug, info, request.env ?? {}, request.attach);
    if (!request.attach) {
      // Detached: its output reaches the app's log stream (DynoProcess pipes it there).
      await start();
      return { info, attachSecret: null };
    }
    const secret = newSecret(24);
    const timer = setTimeout(() => {
      this.pending.delete(secret);
      this.logs.append(app.id, 'slipway', name, 'Nobody attached to the one-off dyno within 60 s; it was not started');
    }, ATTACH_WAIT_MS);
    timer.unref();
    this.pending.set(secret, { info, start, timer });
    return { info, attachSecret: secret };
  }

  /** Called by the rendezvous endpoint: starts the dyno behind a secret, once. */
  async attach(secret: string): Promise<RunningProcess | undefined> {
    const entry = this.pending.get(secret);
    if (!entry) return undefined;
    this.pending.delete(secret);
    clearTimeout(entry.timer);
    return entry.start();
  }

  private newInfo(appId: string, name: string, type: string, command: string, size: string, release: ReleaseRow): DynoInfo {
    const stamp = new Date().toISOString();
    return { id: newId(), appId, name, type, state: 'starting', command, size, releaseId: release.id, version: release.version, port: null, attach: false, createdAt: stamp, updatedAt: stamp };
  }

  private async spawn(app: AppRow, release: ReleaseRow, slug: SlugRow, info: DynoInfo, extraEnv: Record<string, string>, interactive: boolean): Promise<RunningProcess | undefined> {
    const port = await allocatePort();
    info.port = port;
    const dyno = new DynoProcess(info, this.runtime, this.logs, () => undefined, true);
    let byName = this.running.get(app.id);
    if (!byName) this.running.set(app.id, (byName = new Map()));
    byName.set(info.name, dyno);
    await dyno.start({
      id: info.id,
      appId: app.id,
      appName: app.name,
      name: info.name,
      command: info.command,
      env: dynoEnv(app, release, slug, info.name, { ...extraEnv, PORT: String(port) }),
      slug: { id: slug.id, path: slug.path },
      memoryMb: memoryForSize(info.size),
      interactive,
    });
    dyno.setState('up');
    dyno.exited.then(() => {
      byName!.delete(info.name);
      if (byName!.size === 0) this.running.delete(app.id);
    });
    return dyno.running;
  }

  async stop(appId: string, name: string): Promise<boolean> {
    const dyno = this.running.get(appId)?.get(name);
    if (!dyno) return false;
    await dyno.stop(this.stopTimeoutMs);
    return true;
  }

  async stopAll(appId: string): Promise<void> {
    for (const [secret, entry] of this.pending) {
      if (entry.info.appId === appId) {
        clearTimeout(entry.timer);
        this.pending.delete(secret);
      }
    }
    await Promise.all([...(this.running.get(appId)?.values() ?? [])].map((d) => d.stop(this.stopTimeoutMs)));
  }

  async shutdown(): Promise<void> {
    await Promise.all([...this.running.keys()].map((appId) => this.stopAll(appId)));
  }

  /**
   * Runs the release command with the release's own config; output goes to the release log and the app log.
   * Other run-to-completion scripts (app.json `postdeploy`) use it with their own `type` and `size`.
   */
  async runReleasePhase(input: { app: AppRow; release: ReleaseRow; slug: SlugRow; command: string; output: (line: string) => void; type?: string; size?: string }) {
    const type = input.type ?? 'release';
    const name = `${type}.${1000 + Math.floor(Math.random() * 9000)}`;
    const info = this.newInfo(input.app.id, name, type, input.command, input.size ? normalizeSize(input.size) : DEFAULT_SIZE, input.release);
    const proc = await this.spawn(input.app, input.release, input.slug, info, {}, false);
    if (!proc) return { exitCode: null, reason: `the ${type} process could not start` };
    // The app log gets these lines too, through the dyno's own output pipe.
    pipeLines(proc.stdout, input.output);
    pipeLines(proc.stderr, input.output);
    const status = await proc.exited;
    const reason = status.oomKilled ? 'out of memory' : status.signal ? `killed by ${status.signal}` : undefined;
    return { exitCode: status.code, reason };
  }

  notFoundError(name: string): PlatformError {
    return notFound('dyno', `No dyno named ${name} is running.`);
  }
}
