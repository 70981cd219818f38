import { catchUpDue, type RefillSite, refillNow, refillScheduled } from './due-refill.js';
import { tell } from './hierarchy-events.js';
import type { HierarchyTree } from './hierarchy-tree.js';
import { HF_DONE, HF_DUE, S_EPOCH, S_UNCLAIMED, W_REFILLS } from './layout.js';

const MAX = Number.MAX_SAFE_INTEGER;

/**
 * @internal A shared hierarchy's refills through one handle: the whole tree begins a new
 * epoch in one store (every node starts empty; holds of older epochs are fenced off).
 */
export class TreeRefills implements RefillSite {
  private epoch = 0;

  constructor(
    private readonly tree: HierarchyTree,
    /** What the root could grant after a refill, for the observer. */
    private readonly capacity: () => number,
  ) {}

  /** `times` refills, now. */
  refill(times: number): void {
    refillNow(this, this.tree.f64, times);
  }

  /** Before an operation: the schedule's boundary, when the clock has passed it. */
  catchUpDue(): void {
    if (this.tree.f64[HF_DUE] !== Number.POSITIVE_INFINITY) catchUpDue(this, this.tree.region);
  }

  /** The schedule's catch-up (see `refillScheduled`). */
  scheduled(times: number, first: number, next: number, now: number, period: number): void {
    refillScheduled(this, this.tree.region, times, first, next, now, period);
  }

  lockForRefill(): void {
    const t = this.tree;
    t.lock();
    if (!t.usable()) t.refuse();
  }

  unlock(): void {
    this.tree.unlock();
  }

  refillLocked(times: number, due: number, done: number): void {
    const f = this.tree.f64;
    const epoch = Math.min(f[S_EPOCH]! + times, MAX);
    this.epoch = epoch;
    // Counted for striped handles, which read it without the lock; stored in the tail, since an
    // Atomics call there is a point a terminated thread can stop at, halfway through the tail.
    const refills = (this.tree.i32[W_REFILLS]! + 1) | 0;
    // The tail: stores only.
    f[S_EPOCH] = epoch;
    // Records of older epochs are fenced off: none holds spent units of the new one.
    f[S_UNCLAIMED] = 0;
    f[HF_DUE] = due;
    f[HF_DONE] = done;
    this.tree.i32[W_REFILLS] = refills;
  }

  afterRefill(): void {
    const t = this.tree;
    t.region.wake();
    const list = t.listeners;
    if (list === undefined) return;
    const epoch = this.epoch;
    const available = this.capacity();
    tell(list, { type: 'refill', budget: undefined, epoch, policy: 'reset', available, path: [] });
  }
}
