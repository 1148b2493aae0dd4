/**
 * Response deadlines for in-flight requests. Every request gets the same timeout, so
 * deadlines arrive in insertion order: a linked list plus one timer armed for the oldest
 * entry replaces a timer per request (allocated and cancelled on the hot path).
 */

export interface Expirable {
  deadline: number;
  prevDue: Expirable | undefined;
  nextDue: Expirable | undefined;
  queued: boolean;
  expire(): void;
}

export class DeadlineQueue {
  private head: Expirable | undefined;
  private tail: Expirable | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly ms: number) {}

  add(item: Expirable, now: number): void {
    item.deadline = now + this.ms;
    item.prevDue = this.tail;
    item.nextDue = undefined;
    item.queued = true;
    if (this.tail === undefined) this.head = item;
    else this.tail.nextDue = item;
    this.tail = item;
    if (this.timer === undefined) this.arm(this.ms);
  }

  remove(item: Expirable): void {
    if (!item.queued) return;
    item.queued = false;
    const { prevDue, nextDue } = item;
    if (prevDue === undefined) this.head = nextDue;
    else prevDue.nextDue = nextDue;
    if (nextDue === undefined) this.tail = prevDue;
    else nextDue.prevDue = prevDue;
    item.prevDue = item.nextDue = undefined;
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(delay: number): void {
    this.timer = setTimeout(this.fire, delay);
    this.timer.unref(); // pending requests keep their own sockets (and the process) alive
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    const now = Date.now();
    for (let item = this.head; item !== undefined && item.deadline <= now; item = this.head) {
      this.remove(item);
      try {
        item.expire();
      } catch {
        // One failing request must not stop the others from timing out.
      }
    }
    if (this.head !== undefined) this.arm(Math.max(1, this.head.deadline - now));
  };
}
