import type { Entry } from './waiter.js';

/**
 * One priority's waiters in arrival order, in a ring: the waiter numbered `n` (its slot) sits
 * at `items[2 * (n & mask)]` with its cost next to it (one array, no record per waiter), for
 * `head <= n < tail`. A waiter that left before its turn leaves `undefined` until the head
 * passes it. The ring doubles when full and halves when mostly empty, so a line standing at
 * some length allocates nothing per waiter; growing and shrinking keep every waiter's number
 * (only a squeeze renumbers, telling the records it moves).
 */
interface Bucket {
  readonly priority: number;
  items: (Entry | number | undefined)[];
  /** The ring's capacity in waiters, less one (a power of two, less one). */
  mask: number;
  /** The number of the first waiter not yet passed. */
  head: number;
  /** The number the next waiter to join gets. */
  tail: number;
  /** Waiters in this bucket. */
  live: number;
  /** Its index in the line's order (a heap), or -1 when it is not there. */
  at: number;
}

/** Empty buckets kept for reuse, so a line that empties and refills allocates nothing. */
const KEEP_BUCKETS = 16;

/** A ring's smallest capacity, in waiters; it never shrinks below it. */
const MIN_RING = 8;

/** A bucket is squeezed (see `squeeze`) only once its ring spans this many waiters. */
const SQUEEZE_AT = 4_096;

/** An empty ring for `capacity` waiters. */
function ring(capacity: number): (Entry | number | undefined)[] {
  return new Array<Entry | number | undefined>(2 * capacity).fill(undefined);
}

/**
 * @internal The waiting line: first come, first served within a priority, higher priorities
 * first. Joining a priority already waiting, serving the head and leaving from anywhere are
 * O(1) amortized — a waiter that gives up leaves a hole that serving skips, and a bucket
 * mostly made of holes is compacted — so the line's own work per waiter does not grow with
 * its length (an array's `shift` and `splice` would make both O(n)). The priorities waiting
 * are a binary heap of buckets, so a priority's first waiter and its bucket emptying cost
 * O(log P) for P distinct priorities waiting, however many (a priority per waiter, a deadline
 * say, is P = n). What does grow with the length is the garbage collector's work: a waiter's
 * Promise outlives the young generation once tens of thousands wait, which is why the line
 * keeps as little per waiter as it can.
 *
 * What it holds per waiter is an {@link Entry} and a cost, side by side in one array: a
 * waiter that can only be served or closed on is just the function that settles its Promise,
 * with no record around it, which is what a long line is mostly made of. A waiter that may
 * leave from the middle (its signal, its timeout) is a record that knows its slot.
 *
 * The bucket of the priority in use stays in the order while the line is empty, so a line
 * that empties and fills again at once (a caller releasing and queueing again) does not
 * touch the heap each time; an empty bucket is in the order only when it is the only one
 * there.
 */
export class WaiterLine {
  /** Buckets by priority. */
  private readonly buckets = new Map<number, Bucket>();
  /**
   * The buckets waiting, as a binary heap on priority: `order[0]` is served first, and each
   * bucket's priority is above those of the two at `2i + 1` and `2i + 2`.
   */
  private order: Bucket[] = [];
  /** The bucket joined last: the next join is most likely to the same priority. */
  private recent: Bucket | undefined;
  private count = 0;

  /** Waiters in line. */
  get size(): number {
    return this.count;
  }

  /**
   * Puts a waiter at the back of its priority.
   *
   * @returns its slot, which a record must keep to leave from the middle of the line.
   */
  push(entry: Entry, cost: number, priority: number): number {
    let bucket = this.recent;
    if (bucket === undefined || bucket.priority !== priority) bucket = this.bucketOf(priority);
    if (bucket.at < 0) this.list(bucket);
    const slot = bucket.tail;
    if (slot - bucket.head > bucket.mask) this.resize(bucket, 2 * (bucket.mask + 1));
    const at = (slot & bucket.mask) << 1;
    bucket.items[at] = entry;
    bucket.items[at + 1] = cost;
    bucket.tail = slot + 1;
    bucket.live++;
    this.count++;
    return slot;
  }

  /** The waiter served next, or `undefined` for an empty line. */
  peek(): Entry | undefined {
    if (this.count === 0) return undefined;
    // The head is never a hole: whatever leaves from it moves it on (see `advance`).
    const bucket = this.order[0]!;
    return bucket.items[(bucket.head & bucket.mask) << 1] as Entry;
  }

  /** The cost of the waiter {@link WaiterLine.peek} returned; only right after it. */
  peekCost(): number {
    const bucket = this.order[0]!;
    return bucket.items[((bucket.head & bucket.mask) << 1) + 1] as number;
  }

  /** Takes out the waiter {@link WaiterLine.peek} returned; only right after it. */
  shift(): void {
    const bucket = this.order[0]!;
    bucket.items[(bucket.head & bucket.mask) << 1] = undefined;
    this.count--;
    if (--bucket.live === 0) this.emptied(bucket);
    else this.advance(bucket);
  }

  /**
   * Takes a waiter that keeps its slot out of line, wherever it is.
   *
   * @returns whether it was in line (a waiter already served or gone is not).
   */
  remove(entry: Entry, slot: number, priority: number): boolean {
    const bucket = this.buckets.get(priority);
    if (bucket === undefined || slot < bucket.head || slot >= bucket.tail) return false;
    const i = (slot & bucket.mask) << 1;
    if (bucket.items[i] !== entry) return false;
    bucket.items[i] = undefined;
    this.count--;
    if (--bucket.live === 0) this.emptied(bucket);
    else if (slot === bucket.head) this.advance(bucket);
    else if (bucket.tail - bucket.head >= SQUEEZE_AT) this.squeeze(bucket);
    return true;
  }

  /** Empties the line, returning its waiters in the order they would have been served. */
  drain(): Entry[] {
    const all: Entry[] = [];
    for (const bucket of this.order.sort((a, b) => b.priority - a.priority)) {
      const { items, mask } = bucket;
      for (let n = bucket.head; n < bucket.tail; n++) {
        const entry = items[(n & mask) << 1];
        if (entry !== undefined) all.push(entry as Entry);
      }
    }
    this.buckets.clear();
    this.order = [];
    this.recent = undefined;
    this.count = 0;
    return all;
  }

  private bucketOf(priority: number): Bucket {
    let bucket = this.buckets.get(priority);
    if (bucket === undefined) {
      bucket = {
        priority,
        items: ring(MIN_RING),
        mask: MIN_RING - 1,
        head: 0,
        tail: 0,
        live: 0,
        at: -1,
      };
      this.buckets.set(priority, bucket);
    }
    this.recent = bucket;
    return bucket;
  }

  /** Puts a bucket in the order. */
  private list(bucket: Bucket): void {
    const order = this.order;
    // The only bucket in the order may be an empty one kept there: it leaves first.
    if (order.length === 1 && order[0]!.live === 0) this.unlist(order[0]!);
    order.push(bucket);
    this.up(bucket, order.length - 1);
  }

  /**
   * A bucket whose last waiter left: only holes are left, so its numbers start over (they
   * stay small integers) and a large ring is let go. It stays in the order only when it is
   * alone there.
   */
  private emptied(bucket: Bucket): void {
    bucket.head = 0;
    bucket.tail = 0;
    if (bucket.mask >= MIN_RING) {
      bucket.items = ring(MIN_RING);
      bucket.mask = MIN_RING - 1;
    }
    if (this.order.length !== 1) this.unlist(bucket);
  }

  /** Takes an empty bucket out of the order; it is kept for reuse unless many priorities were seen. */
  private unlist(bucket: Bucket): void {
    const order = this.order;
    const last = order.pop()!;
    if (last !== bucket) {
      // The last bucket takes the leaver's place, then moves up or down to where it belongs.
      const at = bucket.at;
      if (at > 0 && order[(at - 1) >> 1]!.priority < last.priority) this.up(last, at);
      else this.down(last, at);
    }
    bucket.at = -1;
    if (this.buckets.size > KEEP_BUCKETS) {
      this.buckets.delete(bucket.priority);
      if (this.recent === bucket) this.recent = undefined;
    }
  }

  /** Places `bucket` at `at` or above it in the heap, moving lower priorities down. */
  private up(bucket: Bucket, at: number): void {
    const order = this.order;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      const above = order[parent]!;
      if (above.priority >= bucket.priority) break;
      order[at] = above;
      above.at = at;
      at = parent;
    }
    order[at] = bucket;
    bucket.at = at;
  }

  /** Places `bucket` at `at` or below it in the heap, moving higher priorities up. */
  private down(bucket: Bucket, at: number): void {
    const order = this.order;
    const n = order.length;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && order[right]!.priority > order[child]!.priority) child = right;
      const below = order[child]!;
      if (below.priority <= bucket.priority) break;
      order[at] = below;
      below.at = at;
      at = child;
    }
    order[at] = bucket;
    bucket.at = at;
  }

  /**
   * Behind a head that is not served, waiters that give up leave holes the head never
   * passes: once they are most of the ring, the waiters still in line are moved together
   * towards the head, in order, and the records among them told their new slots. Each squeeze
   * follows at least as many departures as it moves waiters, so leaving stays O(1) amortized.
   */
  private squeeze(bucket: Bucket): void {
    const { items, mask, head, tail } = bucket;
    if (bucket.live * 2 > tail - head) return;
    // The head is live, so it stays where it is; the write position never passes the read.
    let to = head;
    for (let n = head; n < tail; n++) {
      const from = (n & mask) << 1;
      const entry = items[from] as Entry | undefined;
      if (entry === undefined) continue;
      if (n !== to) {
        const at = (to & mask) << 1;
        items[at] = entry;
        items[at + 1] = items[from + 1];
        items[from] = undefined;
        if (typeof entry !== 'function') entry.slot = to;
      }
      to++;
    }
    bucket.tail = to;
    this.fit(bucket);
  }

  /** Passes the holes at the head. */
  private advance(bucket: Bucket): void {
    const { items, mask, tail } = bucket;
    let head = bucket.head;
    while (head < tail && items[(head & mask) << 1] === undefined) head++;
    bucket.head = head;
    this.fit(bucket);
  }

  /** Halves a ring that is at most a quarter full, down to the smallest. */
  private fit(bucket: Bucket): void {
    const capacity = bucket.mask + 1;
    if (capacity > MIN_RING && (bucket.tail - bucket.head) * 4 <= capacity) {
      this.resize(bucket, capacity >> 1);
    }
  }

  /** Moves the ring's waiters, with their numbers, into a ring of `capacity`. */
  private resize(bucket: Bucket, capacity: number): void {
    const { items, mask, head, tail } = bucket;
    const next = ring(capacity);
    const nextMask = capacity - 1;
    for (let n = head; n < tail; n++) {
      const from = (n & mask) << 1;
      const to = (n & nextMask) << 1;
      next[to] = items[from];
      next[to + 1] = items[from + 1];
    }
    bucket.items = next;
    bucket.mask = nextMask;
  }
}
