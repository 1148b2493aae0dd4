/**
 * Runs tasks one after another per key (a pipeline stage, a review app's branch), and keeps
 * track of what is in flight so tests and shutdown can wait for it.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();
  private readonly active = new Set<Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(task);
    const settled = next.catch(() => undefined);
    this.tails.set(key, settled);
    this.active.add(settled);
    void settled.finally(() => {
      this.active.delete(settled);
      if (this.tails.get(key) === settled) this.tails.delete(key);
    });
    return next;
  }

  /** Starts a task in the background; failures are logged with `what`. */
  spawn(key: string, what: string, task: () => Promise<unknown>): void {
    this.run(key, task).catch((err) => console.error(`[flow] ${what} failed:`, err));
  }

  /** Resolves once nothing is queued or running. */
  async idle(): Promise<void> {
    while (this.active.size > 0) await Promise.all([...this.active]);
  }
}
