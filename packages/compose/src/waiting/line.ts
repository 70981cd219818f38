import type { Waiter } from './waiter.js';

/** One priority's waiters in arrival order; removed ones leave a hole until passed. */
interface Bucket {
  readonly priority: number;
  items: (Waiter | undefined)[];
  /** Index in `items` of the first slot not yet passed. */
  head: number;
  /** The absolute slot number of `items[0]` (slots keep their number across compaction). */
  base: number;
  live: number;
}

/** Empty buckets kept for reuse, so a line that empties and refills allocates nothing. */
const KEEP_BUCKETS = 16;

/** Past this many passed slots, and more than half of the array, a bucket is compacted. */
const COMPACT_AT = 1_024;

/**
 * @internal The waiting line: first come, first served within a priority, higher priorities
 * first. Joining is O(log P) for P distinct priorities waiting, serving the head and leaving
 * from anywhere are O(1) amortized — a waiter that gives up leaves a hole that serving skips,
 * and a bucket mostly made of holes is compacted — so a line of 100 000 serves as fast as a
 * line of one (an array's `shift` and `splice` would make both O(n)).
 */
export class WaiterLine {
  /** Buckets by priority, and their priorities, highest first. */
  private readonly buckets = new Map<number, Bucket>();
  private priorities: number[] = [];
  private count = 0;

  /** Waiters in line. */
  get size(): number {
    return this.count;
  }

  push(waiter: Waiter): void {
    let bucket = this.buckets.get(waiter.priority);
    if (bucket === undefined) {
      bucket = { priority: waiter.priority, items: [], head: 0, base: 0, live: 0 };
      this.buckets.set(waiter.priority, bucket);
    }
    if (bucket.live === 0) {
      // Highest first: binary search for the insertion point.
      const ps = this.priorities;
      let lo = 0;
      let hi = ps.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (ps[mid]! > waiter.priority) lo = mid + 1;
        else hi = mid;
      }
      ps.splice(lo, 0, waiter.priority);
    }
    waiter.slot = bucket.base + bucket.items.length;
    bucket.items.push(waiter);
    bucket.live++;
    this.count++;
  }

  /** The waiter served next, or `undefined` for an empty line. */
  peek(): Waiter | undefined {
    if (this.count === 0) return undefined;
    const bucket = this.buckets.get(this.priorities[0]!)!;
    const items = bucket.items;
    while (items[bucket.head] === undefined) bucket.head++;
    return items[bucket.head];
  }

  /**
   * Takes `waiter` out of line.
   *
   * @returns whether it was in line (a waiter already served or gone is not).
   */
  remove(waiter: Waiter): boolean {
    const bucket = this.buckets.get(waiter.priority);
    if (bucket === undefined || bucket.live === 0) return false;
    const i = waiter.slot - bucket.base;
    if (i < bucket.head || bucket.items[i] !== waiter) return false;
    bucket.items[i] = undefined;
    this.count--;
    if (--bucket.live === 0) this.drop(bucket);
    else if (i === bucket.head) this.advance(bucket);
    return true;
  }

  /** Empties the line, returning its waiters in the order they would have been served. */
  drain(): Waiter[] {
    const all: Waiter[] = [];
    for (const p of this.priorities) {
      const bucket = this.buckets.get(p)!;
      for (let i = bucket.head; i < bucket.items.length; i++) {
        const w = bucket.items[i];
        if (w !== undefined) all.push(w);
      }
    }
    this.buckets.clear();
    this.priorities = [];
    this.count = 0;
    return all;
  }

  private advance(bucket: Bucket): void {
    const items = bucket.items;
    while (items[bucket.head] === undefined) bucket.head++;
    if (bucket.head >= COMPACT_AT && bucket.head * 2 > items.length) {
      bucket.items = items.slice(bucket.head);
      bucket.base += bucket.head;
      bucket.head = 0;
    }
  }

  /** An emptied bucket leaves the order; it is kept for reuse unless many priorities were seen. */
  private drop(bucket: Bucket): void {
    this.priorities.splice(this.priorities.indexOf(bucket.priority), 1);
    bucket.base += bucket.items.length;
    bucket.items = [];
    bucket.head = 0;
    if (this.buckets.size > KEEP_BUCKETS) this.buckets.delete(bucket.priority);
  }
}
