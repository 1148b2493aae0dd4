// The concurrency limit of one `slipway ci run`, shared by the parent pipeline's scheduler and
// those of its child pipelines: `--concurrency N` means N jobs at once in all of them. A
// scheduler that finds no free slot waits; each release wakes the waiting schedulers.

export class SlotPool {
  private used = 0;
  private readonly waiting = new Set<() => void>();

  constructor(readonly size: number) {}

  /** Takes a slot if one is free. */
  tryTake(): boolean {
    if (this.used >= this.size) return false;
    this.used++;
    return true;
  }

  /** Gives a slot back and wakes the schedulers waiting for one (after the releaser is done). */
  release(): void {
    this.used--;
    if (this.waiting.size) queueMicrotask(() => this.waiting.forEach((wake) => wake()));
  }

  /** Calls `wake` whenever a slot is given back, until the returned function is called. */
  subscribe(wake: () => void): () => void {
    this.waiting.add(wake);
    return () => this.waiting.delete(wake);
  }
}
