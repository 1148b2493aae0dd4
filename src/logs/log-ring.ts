/**
 * The last N log lines of one app, kept off the JavaScript heap: numbers in typed arrays and
 * the text (dyno name and message) as UTF-8 in one byte buffer used as a ring. The router
 * adds a line per request; keeping 1,500 lines as objects and strings made every one of them
 * survive young-generation collections and be promoted, which cost the whole server about a
 * fifth of its throughput. Here an append allocates nothing that outlives it.
 */

/** Longer messages are cut here (Heroku's log pipeline also bounds a line, at 10 KB). */
export const MAX_MESSAGE_CHARS = 10_000;

/** One line as stored; `time` is milliseconds since the epoch. */
export interface RingLine {
  id: number;
  time: number;
  source: number;
  dyno: string;
  message: string;
}

export class LogRing {
  private readonly ids: Float64Array;
  private readonly times: Float64Array;
  private readonly sources: Uint8Array;
  /** Where each line's record starts in `bytes`, its length, and how much of it is the dyno name. */
  private readonly starts: Uint32Array;
  private readonly lengths: Uint32Array;
  private readonly dynoLengths: Uint32Array;
  private bytes: Buffer;
  /** The slot of the oldest line, and how many lines are kept. */
  private first = 0;
  private count = 0;
  /** Where the next record goes in `bytes`. */
  private tail = 0;

  constructor(private readonly capacity: number, initialBytes = 64 * 1024) {
    this.ids = new Float64Array(capacity);
    this.times = new Float64Array(capacity);
    this.sources = new Uint8Array(capacity);
    this.starts = new Uint32Array(capacity);
    this.lengths = new Uint32Array(capacity);
    this.dynoLengths = new Uint32Array(capacity);
    this.bytes = Buffer.allocUnsafe(initialBytes);
  }

  get size(): number {
    return this.count;
  }

  push(id: number, time: number, source: number, dyno: string, message: string): void {
    if (message.length > MAX_MESSAGE_CHARS) message = message.slice(0, MAX_MESSAGE_CHARS);
    if (this.count === this.capacity) this.dropOldest();
    // UTF-8 takes at most three bytes per UTF-16 unit; room for that is made before writing.
    const room = (dyno.length + message.length) * 3 + 1;
    if (!this.makeRoom(room)) this.repack(room);
    const start = this.tail;
    const dynoBytes = this.bytes.write(dyno, start, 'utf8');
    const messageBytes = this.bytes.write(message, start + dynoBytes, 'utf8');
    const slot = (this.first + this.count) % this.capacity;
    this.ids[slot] = id;
    this.times[slot] = time;
    this.sources[slot] = source;
    this.starts[slot] = start;
    this.lengths[slot] = dynoBytes + messageBytes;
    this.dynoLengths[slot] = dynoBytes;
    this.count++;
    this.tail = start + dynoBytes + messageBytes;
  }

  /** The lines kept, oldest first, whose id is above `afterId`. */
  lines(afterId = 0): RingLine[] {
    const out: RingLine[] = [];
    for (let i = 0; i < this.count; i++) {
      const slot = (this.first + i) % this.capacity;
      if (this.ids[slot] <= afterId) continue;
      const start = this.starts[slot];
      const dynoEnd = start + this.dynoLengths[slot];
      out.push({
        id: this.ids[slot],
        time: this.times[slot],
        source: this.sources[slot],
        dyno: this.bytes.toString('utf8', start, dynoEnd),
        message: this.bytes.toString('utf8', dynoEnd, start + this.lengths[slot]),
      });
    }
    return out;
  }

  private dropOldest(): void {
    this.first = (this.first + 1) % this.capacity;
    this.count--;
  }

  /**
   * Points `tail` at `room` free contiguous bytes if the buffer has them: after the newest
   * record, or from the start of the buffer when the live records do not wrap and leave
   * enough in front of them. Returns false when only a larger buffer would do.
   */
  private makeRoom(room: number): boolean {
    if (this.count === 0) {
      this.tail = 0;
      return room <= this.bytes.length;
    }
    const oldest = this.starts[this.first];
    if (oldest < this.tail) {
      // Live bytes run from `oldest` to `tail` without wrapping.
      if (this.tail + room <= this.bytes.length) return true;
      if (room <= oldest) {
        this.tail = 0;
        return true;
      }
      return false;
    }
    // Live bytes wrap: free space runs from `tail` up to `oldest`.
    return this.tail + room <= oldest;
  }

  /** Moves the live records, in order, to the front of a buffer with `room` bytes to spare. */
  private repack(room: number): void {
    let live = 0;
    for (let i = 0; i < this.count; i++) live += this.lengths[(this.first + i) % this.capacity];
    const next = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, (live + room) * 2));
    let at = 0;
    for (let i = 0; i < this.count; i++) {
      const slot = (this.first + i) % this.capacity;
      this.bytes.copy(next, at, this.starts[slot], this.starts[slot] + this.lengths[slot]);
      this.starts[slot] = at;
      at += this.lengths[slot];
    }
    this.bytes = next;
    this.tail = at;
  }
}
