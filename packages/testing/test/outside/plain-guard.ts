// A budget guard written from the documented interface only, with switchable planted bugs.
import { assertAmount, BudgetError } from '@budgetry/core';
import { type Boundary, cross } from './boundary.js';

/** Which deviation from the correct guard to plant; `none` is the control. */
export type GuardBug =
  | 'none'
  | 'check-then-act'
  | 'lost-release'
  | 'large-vs-small'
  | 'slow-drift'
  | 'rare-drift'
  | 'very-rare-drift'
  | 'int32-cells'
  | 'batch-refill-unfenced'
  | 'rare-permit-drift';

/** Options for {@link PlainGuard}. */
export interface PlainGuardOptions {
  /** What `refill()` does with units still held (default `reset`). */
  policy?: 'reset' | 'carry';
  /** What every async method awaits first (default `microtask`). */
  boundary?: Boundary;
  /** The planted bug (default `none`). */
  bug?: GuardBug;
}

/** A handle on reserved units, settled exactly once. */
export interface PlainPermit extends AsyncDisposable {
  readonly cost: number;
  /** Return the units; `false` (and no refund) if already settled. */
  release(): Promise<boolean>;
  /** Keep the units spent until the next refill; `false` if already settled. */
  commit(): Promise<boolean>;
}

// The guard's private record of one permit.
interface Hold {
  readonly cost: number;
  readonly epoch: number;
  state: 'held' | 'released' | 'committed';
}

/** Costs above this take the split path under the `large-vs-small` bug. */
const SMALL = 4;
/** Under a drift bug, every this-many-th successful reserve loses one extra unit. */
const DRIFT_EVERY = { 'slow-drift': 16, 'rare-drift': 100, 'very-rare-drift': 500 } as const;

export class PlainGuard {
  readonly capacity: number;
  readonly policy: 'reset' | 'carry';
  /** The boundary to await, or `null` for `none` (where not even a microtask is spent). */
  private readonly wait: Exclude<Boundary, 'none'> | null;
  private readonly bug: GuardBug;
  /** Where `avail` lives: a 64-bit float holds every amount; under `int32-cells`, 32 bits. */
  private readonly cell: Float64Array | Int32Array;
  /** Units held through the count API (`tryReserve`/`release`) in live epochs. */
  private countPool = 0;
  /** Permits still held in live epochs. */
  private readonly held = new Set<Hold>();
  private epoch = 0;
  /** Successful reserves so far (both APIs); drives `slow-drift`. */
  private grants = 0;

  constructor(capacity: number, options: PlainGuardOptions = {}) {
    assertAmount(capacity, 'capacity');
    const policy = options.policy ?? 'reset';
    if (policy !== 'reset' && policy !== 'carry') {
      throw new BudgetError({
        code: 'INVALID_ARGUMENT',
        message: `policy must be 'reset' or 'carry', got ${String(policy)}`,
      });
    }
    this.capacity = capacity;
    this.policy = policy;
    const boundary = options.boundary ?? 'microtask';
    this.wait = boundary === 'none' ? null : boundary;
    this.bug = options.bug ?? 'none';
    // BUG (int32-cells): the count wraps past 2^31 − 1, as in a typed array sized for speed.
    this.cell = this.bug === 'int32-cells' ? new Int32Array(1) : new Float64Array(1);
    this.avail = capacity;
  }

  private get avail(): number {
    return this.cell[0]!;
  }

  private set avail(value: number) {
    this.cell[0] = value;
  }

  /** Units that can be reserved right now. */
  available(): number {
    return this.avail;
  }

  /** Start `times` new epochs at once (default one), as that many calls would. */
  refill(times = 1): void {
    if (!Number.isSafeInteger(times) || times < 1) {
      throw new BudgetError({
        code: 'INVALID_ARGUMENT',
        message: `times must be a positive safe integer, got ${String(times)}`,
      });
    }
    if (this.bug === 'batch-refill-unfenced' && times > 1) {
      // BUG: the batch path refills the units but begins no epoch: older permits stay live.
      this.avail = this.capacity - (this.policy === 'reset' ? 0 : this.heldUnits());
      if (this.policy === 'reset') this.countPool = 0;
      return;
    }
    this.epoch += times;
    if (this.policy === 'reset') {
      // Older permits and count units are fenced: they can never return units.
      this.avail = this.capacity;
      this.countPool = 0;
      this.held.clear();
      return;
    }
    this.avail = this.capacity - this.heldUnits();
  }

  /** Units held through the count API and by permits in live epochs. */
  private heldUnits(): number {
    let units = this.countPool;
    for (const hold of this.held) units += hold.cost;
    return units;
  }

  /** Count API: reserve `cost` units. */
  async tryReserve(cost: number): Promise<boolean> {
    assertAmount(cost, 'cost');
    const granted = await this.take(cost, () => {
      this.countPool += cost;
      return true;
    });
    return granted ?? false;
  }

  /** Count API: return up to `cost` units, never more than the count API holds. */
  async release(cost: number): Promise<void> {
    assertAmount(cost, 'cost');
    const seen = this.avail; // read early: only the `lost-release` bug uses it
    if (this.wait) await cross(this.wait);
    const accepted = Math.min(cost, this.countPool);
    this.countPool -= accepted;
    this.avail = (this.bug === 'lost-release' ? seen : this.avail) + accepted;
  }

  /** Reserve `cost` units behind a permit. */
  async tryAcquire(cost: number): Promise<PlainPermit | null> {
    assertAmount(cost, 'cost');
    return this.take(cost, () => {
      // BUG (rare-permit-drift): every 150th permit loses a unit, on the permit path only.
      if (this.bug === 'rare-permit-drift' && ++this.permitGrants % 150 === 0 && this.avail > 0)
        this.avail -= 1;
      return this.issue(cost);
    });
  }

  /** Permits granted so far; drives `rare-permit-drift`. */
  private permitGrants = 0;

  /**
   * The shared reserve path: wait out the boundary, check, deduct, then record the hold with
   * `onGrant` in the same tick as the deduction. Resolves `null` on denial.
   */
  private async take<T>(cost: number, onGrant: () => T): Promise<T | null> {
    if (this.bug === 'check-then-act') {
      // BUG: the check uses a value read before the boundary.
      const seen = this.avail;
      if (this.wait) await cross(this.wait);
      if (cost > seen) return null;
      this.avail = seen - cost;
      return onGrant();
    }
    if (this.wait) await cross(this.wait);
    if (cost > this.avail) return null;
    if (this.bug === 'large-vs-small' && cost > SMALL) {
      // BUG: deduct in two halves with a boundary between, and no second check.
      const half = Math.floor(cost / 2);
      this.avail -= half;
      if (this.wait) await cross(this.wait);
      this.avail -= cost - half;
      return onGrant();
    }
    this.grants++;
    // BUG (slow-drift, rare-drift, very-rare-drift): every 16th (100th, 500th) grant loses one
    // more unit than it holds.
    const every =
      this.bug === 'slow-drift' || this.bug === 'rare-drift' || this.bug === 'very-rare-drift'
        ? DRIFT_EVERY[this.bug]
        : 0;
    const drift = every > 0 && this.grants % every === 0 && this.avail > cost ? 1 : 0;
    this.avail -= cost + drift;
    return onGrant();
  }

  /** Units held in `epoch` still return to the pool. */
  private isLive(epoch: number): boolean {
    return this.policy === 'carry' || epoch === this.epoch;
  }

  private issue(cost: number): PlainPermit {
    const hold: Hold = { cost, epoch: this.epoch, state: 'held' };
    this.held.add(hold);
    const release = async (): Promise<boolean> => {
      const seen = this.avail; // read early: only the `lost-release` bug uses it
      if (this.wait) await cross(this.wait);
      if (hold.state !== 'held') return false;
      hold.state = 'released';
      this.held.delete(hold);
      // A permit fenced by a reset refill settles but returns nothing.
      if (this.isLive(hold.epoch)) {
        this.avail = (this.bug === 'lost-release' ? seen : this.avail) + cost;
      }
      return true;
    };
    const commit = async (): Promise<boolean> => {
      if (this.wait) await cross(this.wait);
      if (hold.state !== 'held') return false;
      hold.state = 'committed';
      this.held.delete(hold);
      return true;
    };
    return Object.freeze({
      cost,
      release,
      commit,
      [Symbol.asyncDispose]: async (): Promise<void> => {
        await release();
      },
    });
  }
}
