import type { Entry } from './waiter.js';

/**
 * One priority's waiters in arrival order. `items` interleaves each waiter's entry and cost
 * (`[entry, cost, entry, cost, …]`): one array, no record per waiter, and a waiter's cost sits
 * next to its entry. A waiter that left before its turn leaves `undefined` as its entry until
 * the head passes it.
 */
interface Bucket {
  readonly priority: number;
  items: (Entry | number | undefined)[];
  /** Index in `items` of the first waiter not yet passed (always even). */
  head: number;
  /** The slot number of the waiter at `items[0]` (slots keep their number across compaction). */
  base: number;
  /** Waiters in this bucket. */
  live: number;
  /** Whether the bucket is in the line's order. */
  listed: boolean;
}

/** Empty buckets kept for reuse, so a line that empties and refills allocates nothing. */
const KEEP_BUCKETS = 16;

/** Past this many passed waiters, and more than half of the array, a bucket is compacted. */
const COMPACT_AT = 1_024;

/**
 * @internal The waiting line: first come, first served within a priority, higher priorities
 * first. Joining is O(log P) for P distinct priorities waiting, serving the head and leaving
 * from anywhere are O(1) amortized — a waiter that gives up leaves a hole that serving skips,
 * and a bucket mostly made of holes is compacted — so the line's own work per waiter does not
 * grow with its length (an array's `shift` and `splice` would make both O(n)). What does grow
 * is the garbage collector's: a waiter's Promise outlives the young generation once tens of
 * thousands wait, which is why the line keeps as little per waiter as it can.
 *
 * What it holds per waiter is an {@link Entry} and a cost, side by side in one array: a
 * waiter that can only be served or closed on is just the function that settles its Promise,
 * with no record around it, which is what a long line is mostly made of. A waiter that may
 * leave from the middle (its signal, its timeout) is a record that knows its slot.
 *
 * The bucket of the priority in use stays in the order while the line is empty, so a line
 * that empties and fills again at once (a caller releasing and queueing again) does not
 * re-sort its priorities each time; an empty bucket is in the order only when it is the only
 * one there.
 */
export class WaiterLine {
  /** Buckets by priority. */
  private readonly buckets = new Map<number, Bucket>();
  /** Buckets in the order they are served, highest priority first. */
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
    if (!bucket.listed) this.list(bucket);
    const items = bucket.items;
    const slot = bucket.base + (items.length >> 1);
    items.push(entry, cost);
    bucket.live++;
    this.count++;
    return slot;
  }

  /** The waiter served next, or `undefined` for an empty line. */
  peek(): Entry | undefined {
    if (this.count === 0) return undefined;
    const bucket = this.order[0]!;
    const items = bucket.items;
    let head = bucket.head;
    while (items[head] === undefined) head += 2;
    bucket.head = head;
    return items[head] as Entry;
  }

  /** The cost of the waiter {@link WaiterLine.peek} returned; only right after it. */
  peekCost(): number {
    const bucket = this.order[0]!;
    return bucket.items[bucket.head + 1] as number;
  }

  /** Takes out the waiter {@link WaiterLine.peek} returned; only right after it. */
  shift(): void {
    const bucket = this.order[0]!;
    bucket.items[bucket.head] = undefined;
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
    if (bucket === undefined || bucket.live === 0) return false;
    const i = (slot - bucket.base) * 2;
    if (i < bucket.head || bucket.items[i] !== entry) return false;
    bucket.items[i] = undefined;
    this.count--;
    if (--bucket.live === 0) this.emptied(bucket);
    else if (i === bucket.head) this.advance(bucket);
    else if (bucket.items.length - bucket.head >= 4 * COMPACT_AT) this.squeeze(bucket);
    return true;
  }

  /** Empties the line, returning its waiters in the order they would have been served. */
  drain(): Entry[] {
    const all: Entry[] = [];
    for (const bucket of this.order) {
      const items = bucket.items;
      for (let i = bucket.head; i < items.length; i += 2) {
        const entry = items[i];
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
      bucket = { priority, items: [], head: 0, base: 0, live: 0, listed: false };
      this.buckets.set(priority, bucket);
    }
    this.recent = bucket;
    return bucket;
  }

  /** Puts a bucket in the order: binary search, highest priority first. */
  private list(bucket: Bucket): void {
    const order = this.order;
    // The only bucket in the order may be an empty one kept there: it leaves first.
    if (order.length === 1 && order[0]!.live === 0) this.unlist(order[0]!);
    let lo = 0;
    let hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (order[mid]!.priority > bucket.priority) lo = mid + 1;
      else hi = mid;
    }
    order.splice(lo, 0, bucket);
    bucket.listed = true;
  }

  /** A bucket whose last waiter left: it stays in the order only when it is alone there. */
  private emptied(bucket: Bucket): void {
    if (this.order.length === 1) {
      this.advance(bucket);
      return;
    }
    this.unlist(bucket);
  }

  /** Takes an empty bucket out of the order; it is kept for reuse unless many priorities were seen. */
  private unlist(bucket: Bucket): void {
    this.order.splice(this.order.indexOf(bucket), 1);
    bucket.listed = false;
    bucket.base += bucket.items.length >> 1;
    bucket.items = [];
    bucket.head = 0;
    if (this.buckets.size > KEEP_BUCKETS) {
      this.buckets.delete(bucket.priority);
      if (this.recent === bucket) this.recent = undefined;
    }
  }

  /**
   * Behind a head that is not served, waiters that give up leave holes the head never
   * passes: once they are most of the bucket, the waiters still in line are moved together,
   * in order, and the records among them told their new slots. Each squeeze follows at least
   * as many departures as it moves waiters, so leaving stays O(1) amortized.
   */
  private squeeze(bucket: Bucket): void {
    const items = bucket.items;
    const waiting = (items.length - bucket.head) >> 1;
    if (bucket.live * 2 > waiting) return;
    const base = bucket.base + (items.length >> 1);
    const kept: (Entry | number | undefined)[] = [];
    for (let i = bucket.head; i < items.length; i += 2) {
      const entry = items[i] as Entry | undefined;
      if (entry === undefined) continue;
      if (typeof entry !== 'function') entry.slot = base + (kept.length >> 1);
      kept.push(entry, items[i + 1]);
    }
    bucket.items = kept;
    bucket.base = base;
    bucket.head = 0;
  }

  /** Passes the holes at the head; compacts a bucket whose array is mostly passed. */
  private advance(bucket: Bucket): void {
    const items = bucket.items;
    let head = bucket.head;
    while (head < items.length && items[head] === undefined) head += 2;
    if (head >= 2 * COMPACT_AT && head * 2 > items.length) {
      bucket.items = items.slice(head);
      bucket.base += head >> 1;
      head = 0;
    }
    bucket.head = head;
  }
}
