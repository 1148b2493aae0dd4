/**
 * The server's job slots, shared by every pipeline: at most `limit` jobs run at once (like a
 * runner's `concurrent`), first come first served, and jobs of one project that share a
 * `resource_group` run one at a time across all its pipelines (GitLab's semantics); a job
 * waiting for its group is told so (waiting_for_resource) and the next job behind it may start.
 */
export interface SlotRequest {
  /** `<project id>:<expanded resource_group>`, if the job has one. */
  group?: string;
  /** Called once if the job has to wait for its resource group. */
  onWaitingForResource?(): void;
}

export interface Slot {
  /** Resolves with a release function when the job may start. */
  granted: Promise<() => void>;
  /** Gives up a request that was not granted yet (a canceled job). */
  cancel(): void;
}

interface Waiter extends SlotRequest {
  grant(release: () => void): void;
  told: boolean;
  done: boolean;
}

export class JobSlots {
  private running = 0;
  private waiters: Waiter[] = [];
  private readonly held = new Set<string>();

  constructor(private readonly limit: number) {}

  acquire(request: SlotRequest): Slot {
    let grant!: (release: () => void) => void;
    const granted = new Promise<() => void>((resolve) => (grant = resolve));
    const waiter: Waiter = { ...request, grant, told: false, done: false };
    this.waiters.push(waiter);
    this.pump();
    return {
      granted,
      cancel: () => {
        if (waiter.done) return;
        waiter.done = true;
        this.waiters = this.waiters.filter((w) => w !== waiter);
        this.pump();
      },
    };
  }

  private pump(): void {
    for (const waiter of [...this.waiters]) {
      if (this.running >= this.limit) break;
      if (waiter.done) continue;
      if (waiter.group && this.held.has(waiter.group)) {
        if (!waiter.told) {
          waiter.told = true;
          waiter.onWaitingForResource?.();
        }
        continue;
      }
      waiter.done = true;
      this.waiters = this.waiters.filter((w) => w !== waiter);
      this.running++;
      if (waiter.group) this.held.add(waiter.group);
      let released = false;
      waiter.grant(() => {
        if (released) return;
        released = true;
        this.running--;
        if (waiter.group) this.held.delete(waiter.group);
        this.pump();
      });
    }
  }
}
