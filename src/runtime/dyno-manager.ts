import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { OneOffRunner } from './one-off.js';
import type { Runtime } from './contract.js';
import type { LogHub } from '../logs/log-hub.js';
import type { EventBus } from '../core/events.js';
import type { FormationService } from './formation.js';
import { DynoProcess, type DynoInfo } from './dyno.js';
import { loadDesiredState, type DesiredState } from './desired-state.js';
import { dynoEnv } from './dyno-env.js';
import { allocatePort } from './ports.js';
import { memoryForSize } from '../core/formation.js';
import { newId } from '../core/ids.js';
import { notFound } from '../core/errors.js';

export interface DynoManagerOptions {
  db: Kysely<Database>;
  runtime: Runtime;
  formation: FormationService;
  logs: LogHub;
  events: EventBus;
  stopTimeoutMs: number;
  bootTimeoutMs: number;
  oneOffs: OneOffRunner;
}

/** A formation slot (`web.2`) and the process currently filling it. */
interface Slot {
  type: string;
  index: number;
  dyno: DynoProcess;
  crashes: number;
  restartTimer?: NodeJS.Timeout;
}

const MAX_BACKOFF_MS = 5 * 60_000;
/** A dyno that stayed up this long is considered healthy again: its crash count resets. */
const HEALTHY_AFTER_MS = 60_000;

/**
 * Converges each app's running dynos to its desired state (current release × formation).
 * Reconciles are serialised per app; a crash or a restart of Slipway only means running
 * the same convergence again.
 */
export class DynoManager {
  private readonly slots = new Map<string, Slot[]>();
  private readonly retiring = new Map<string, Set<DynoProcess>>();
  private readonly queues = new Map<string, Promise<void>>();
  private shuttingDown = false;

  constructor(private readonly o: DynoManagerOptions) {
    o.events.on('app.desired-state', ({ appId }) => void this.reconcile(appId));
    o.events.on('app.deleted', ({ appId }) => void this.stopApp(appId));
  }

  /** On start-up: clear what a dead Slipway left behind, then bring every app back. */
  async start(): Promise<void> {
    await this.o.runtime.cleanupOrphans();
    const apps = await this.o.db.selectFrom('apps').select('id').execute();
    await Promise.all(apps.map((a) => this.reconcile(a.id)));
  }

  reconcile(appId: string): Promise<void> {
    const previous = this.queues.get(appId) ?? Promise.resolve();
    const next = previous.then(() => this.converge(appId)).catch((err) => {
      this.o.logs.append(appId, 'slipway', 'manager', `Could not converge dynos: ${(err as Error).message}`);
    });
    this.queues.set(appId, next);
    return next;
  }

  private async converge(appId: string): Promise<void> {
    if (this.shuttingDown) return;
    const desired = await loadDesiredState(this.o.db, appId);
    const slots = this.slots.get(appId) ?? [];
    this.slots.set(appId, slots);
    if (!desired) {
      await Promise.all(slots.splice(0).map((s) => this.retire(appId, s)));
      return;
    }
    await this.o.formation.syncTypes(appId, desired.processTypes);
    const formation = await this.o.formation.list(appId);
    const wanted = new Set<string>();
    const starts: Promise<void>[] = [];
    for (const entry of formation) {
      for (let index = 1; index <= entry.quantity; index++) {
        wanted.add(`${entry.type}.${index}`);
        const slot = slots.find((s) => s.type === entry.type && s.index === index);
        const info = slot?.dyno.info;
        if (slot && info && info.releaseId === desired.release.id && info.command === entry.command && info.size === entry.size) continue;
        starts.push(this.fill(desired, entry.type, index, entry.command, entry.size, slot));
      }
    }
    const surplus = slots.filter((s) => !wanted.has(`${s.type}.${s.index}`));
    for (const slot of surplus) slots.splice(slots.indexOf(slot), 1);
    await Promise.all([...starts, ...surplus.map((s) => this.retire(appId, s))]);
  }

  /** Starts a new process for a slot; web dynos replace the old one only once the new one is up. */
  private async fill(desired: DesiredState, type: string, index: number, command: string, size: string, old?: Slot): Promise<void> {
    const appId = desired.app.id;
    const slots = this.slots.get(appId)!;
    if (old && type !== 'web') await this.retire(appId, old);
    // The old web dyno keeps taking traffic from the retiring set until its replacement is up.
    if (old && type === 'web') this.retiringSet(appId).add(old.dyno);
    const dyno = await this.launch(desired, type, index, command, size);
    // The app was destroyed (or Slipway began shutting down) while this dyno started: nothing
    // will ever stop it if it is not stopped now.
    if (this.slots.get(appId) !== slots || this.shuttingDown) return void (await dyno.stop(this.o.stopTimeoutMs));
    const slot: Slot = { type, index, dyno, crashes: 0 };
    if (old) slots.splice(slots.indexOf(old), 1, slot);
    else slots.push(slot);
    this.watch(appId, slot);
    await dyno.waitUntilUp(this.o.bootTimeoutMs);
    if (old && type === 'web') await this.retire(appId, old);
  }

  private async launch(desired: DesiredState, type: string, index: number, command: string, size: string): Promise<DynoProcess> {
    const name = `${type}.${index}`;
    const port = await allocatePort();
    const stamp = new Date().toISOString();
    const info: DynoInfo = {
      id: newId(),
      appId: desired.app.id,
      name,
      type,
      state: 'starting',
      command,
      size,
      releaseId: desired.release.id,
      version: desired.release.version,
      port,
      attach: false,
      createdAt: stamp,
      updatedAt: stamp,
    };
    const dyno = new DynoProcess(info, this.o.runtime, this.o.logs, (i) =>
      this.o.events.emit('dyno.state', { appId: i.appId, dyno: i.name, state: i.state }),
    );
    await dyno.start({
      id: info.id,
      appId: desired.app.id,
      appName: desired.app.name,
      name,
      command,
      env: dynoEnv(desired.app, desired.release, desired.slug, name, { PORT: String(port) }),
      slug: { id: desired.slug.id, path: desired.slug.path },
      memoryMb: memoryForSize(size),
    });
    return dyno;
  }

  /** Restarts a crashed slot with exponential backoff, as long as the slot is still wanted. */
  private watch(appId: string, slot: Slot): void {
    const startedAt = Date.now();
    slot.dyno.exited.then(() => {
      if (slot.dyno.isStopping || this.shuttingDown) return;
      const slots = this.slots.get(appId);
      if (!slots?.includes(slot)) return;
      if (Date.now() - startedAt > HEALTHY_AFTER_MS) slot.crashes = 0;
      const delay = Math.min(1000 * 2 ** slot.crashes, MAX_BACKOFF_MS);
      slot.crashes++;
      slot.restartTimer = setTimeout(() => void this.restartSlot(appId, slot), delay);
    });
  }

  private async restartSlot(appId: string, slot: Slot): Promise<void> {
    const slots = this.slots.get(appId);
    if (!slots?.includes(slot) || this.shuttingDown) return;
    const desired = await loadDesiredState(this.o.db, appId);
    if (!desired || desired.release.id !== slot.dyno.info.releaseId) return void this.reconcile(appId);
    const info = slot.dyno.info;
    const dyno = await this.launch(desired, info.type, slot.index, info.command, info.size);
    if (!this.slots.get(appId)?.includes(slot) || this.shuttingDown) return void (await dyno.stop(this.o.stopTimeoutMs));
    slot.dyno = dyno;
    this.watch(appId, slot);
    await dyno.waitUntilUp(this.o.bootTimeoutMs);
  }

  private async retire(appId: string, slot: Slot): Promise<void> {
    clearTimeout(slot.restartTimer);
    const set = this.retiringSet(appId);
    set.add(slot.dyno);
    await slot.dyno.stop(this.o.stopTimeoutMs);
    set.delete(slot.dyno);
  }

  private retiringSet(appId: string): Set<DynoProcess> {
    let set = this.retiring.get(appId);
    if (!set) this.retiring.set(appId, (set = new Set()));
    return set;
  }

  list(appId: string): DynoInfo[] {
    const active = (this.slots.get(appId) ?? []).map((s) => s.dyno.info);
    const retiring = [...(this.retiring.get(appId) ?? [])].map((d) => d.info);
    return [...active, ...retiring, ...this.o.oneOffs.list(appId)].sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  }

  /** Web dynos that accept traffic now (old ones keep serving until their replacements are up). */
  webBackends(appId: string): { dyno: string; port: number }[] {
    const result: { dyno: string; port: number }[] = [];
    for (const slot of this.slots.get(appId) ?? []) {
      const info = slot.dyno.info;
      if (info.type === 'web' && info.state === 'up' && info.port !== null && !slot.dyno.isStopping) result.push({ dyno: info.name, port: info.port });
    }
    for (const dyno of this.retiring.get(appId) ?? []) {
      const info = dyno.info;
      if (info.type === 'web' && info.state === 'up' && info.port !== null && !dyno.isStopping) result.push({ dyno: info.name, port: info.port });
    }
    return result;
  }

  /** Restarts matching dynos (a name like `web.1`, a type like `web`, or all). */
  async restart(appId: string, target?: string): Promise<void> {
    if (target && /^run\./.test(target)) {
      if (!(await this.o.oneOffs.stop(appId, target))) throw this.o.oneOffs.notFoundError(target);
      return;
    }
    const matched = this.match(appId, target);
    await Promise.all(
      matched.map(async (slot) => {
        clearTimeout(slot.restartTimer);
        await slot.dyno.stop(this.o.stopTimeoutMs);
        slot.crashes = 0;
        await this.restartSlot(appId, slot);
      }),
    );
  }

  /** Stops matching dynos; the formation brings them back, as on Heroku. */
  async stop(appId: string, target: string): Promise<void> {
    await this.restart(appId, target);
  }

  private match(appId: string, target?: string): Slot[] {
    const slots = this.slots.get(appId) ?? [];
    if (!target) return [...slots];
    const matched = slots.filter((s) => `${s.type}.${s.index}` === target || s.type === target);
    if (matched.length === 0) throw notFound('dyno', `No dyno or process type named ${target} is running.`);
    return matched;
  }

  async stopApp(appId: string): Promise<void> {
    const slots = this.slots.get(appId) ?? [];
    this.slots.delete(appId);
    await Promise.all(slots.map((s) => this.retire(appId, s)));
    await this.o.oneOffs.stopAll(appId);
  }

  /** Stops every dyno (Slipway is shutting down; they come back when it starts again). */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    await Promise.all([...this.slots.keys()].map((appId) => this.stopApp(appId)));
    await this.o.oneOffs.shutdown();
  }

}
