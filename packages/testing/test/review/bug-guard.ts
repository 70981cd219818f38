// A guard written from the brief alone, with switchable bugs found in review: what the kit must catch.
// `boundary` is what each async method awaits before (and, for two-phase acquire, between)
// its steps: nothing, a microtask, or a timer turn (setTimeout(0), a stand-in for a round trip).
import { assertAmount, BudgetError } from '@budgetry/core';

export type Boundary = 'none' | 'microtask' | 'timer';

export type GuardBug =
  | 'none'
  // Count API: no count pool, release just adds (the reference's clamp at capacity).
  | 'count-release-clamped-at-capacity'
  // Count API: the count pool is not emptied by a reset refill (stale count releases inflate).
  | 'count-pool-survives-reset'
  // Partial commit: the unused rest of a permit fenced by a reset still comes back.
  | 'partial-commit-rest-unfenced'
  // Partial commit: `used || cost` — commit(0) keeps everything.
  | 'partial-commit-zero-keeps-all'
  // Partial commit: returns one unit too many when used > 0.
  | 'partial-commit-off-by-one'
  // Two-phase acquire: the permit's epoch is read after the second round trip.
  | 'epoch-stamped-late'
  // Optimistic concurrency with one retry, then a blind write: needs 3 overlapping writers.
  | 'cas-one-retry-then-blind'
  // Permit settle: checks state before the boundary, sets it after (double settle).
  | 'settle-check-then-act'
  // Carry: committed units are carried into the new epoch as if still held.
  | 'carry-keeps-committed'
  // A release of a permit that was committed partially refunds the rest again.
  | 'release-after-partial-commit-refunds'
  // Every 7th grant above 6 units loses a unit (needs a specific cost and count).
  | 'big-grant-drift';

export interface BugGuardOptions {
  policy?: 'reset' | 'carry';
  boundary?: Boundary;
  bug?: GuardBug;
}

interface Hold {
  readonly cost: number;
  epoch: number;
  state: 'held' | 'released' | 'committed';
  /** Units committed by a partial commit (for the release-after-partial bug). */
  rest: number;
}

function cross(boundary: Boundary): Promise<void> | undefined {
  if (boundary === 'none') return undefined;
  if (boundary === 'microtask') return Promise.resolve();
  return new Promise((resolve) => setTimeout(resolve, 0));
}

export class BugGuard {
  readonly capacity: number;
  readonly policy: 'reset' | 'carry';
  private readonly boundary: Boundary;
  private readonly bug: GuardBug;
  private avail: number;
  private countPool = 0;
  private readonly held = new Set<Hold>();
  private epoch = 0;
  private version = 0;
  private grants = 0;

  constructor(capacity: number, options: BugGuardOptions = {}) {
    assertAmount(capacity, 'capacity');
    this.capacity = capacity;
    this.policy = options.policy ?? 'reset';
    this.boundary = options.boundary ?? 'microtask';
    this.bug = options.bug ?? 'none';
    this.avail = capacity;
  }

  private async hop(): Promise<void> {
    const p = cross(this.boundary);
    if (p) await p;
  }

  available(): number {
    return this.avail;
  }

  refill(): void {
    this.epoch++;
    this.version++;
    if (this.policy === 'reset') {
      this.avail = this.capacity;
      if (this.bug !== 'count-pool-survives-reset') this.countPool = 0;
      this.held.clear();
      return;
    }
    let heldCost = 0;
    for (const h of this.held) heldCost += h.cost;
    if (this.bug === 'carry-keeps-committed') {
      // BUG: committed units are still subtracted (they are remembered as held).
      this.avail = this.capacity - this.countPool - heldCost - this.committedThisEpoch;
    } else this.avail = this.capacity - this.countPool - heldCost;
    this.committedThisEpoch = 0;
  }

  private committedThisEpoch = 0;

  /** Check-and-deduct; with the CAS bug, an optimistic read-modify-write. */
  private async take(cost: number, onGrant: () => void): Promise<boolean> {
    if (this.bug === 'cas-one-retry-then-blind') {
      for (let attempt = 0; ; attempt++) {
        const v = this.version;
        const seen = this.avail;
        await this.hop();
        if (this.version !== v && attempt < 1) continue; // retry once
        // BUG: after one retry, write what was read before the boundary.
        if (cost > seen) return false;
        this.avail = seen - cost;
        this.version++;
        onGrant();
        return true;
      }
    }
    await this.hop();
    if (cost > this.avail) return false;
    this.avail -= cost;
    this.grants++;
    if (this.bug === 'big-grant-drift' && cost > 6 && this.grants % 7 === 0 && this.avail > 0) {
      this.avail -= 1; // BUG
    }
    onGrant();
    return true;
  }

  private async give(units: number): Promise<void> {
    if (this.bug === 'cas-one-retry-then-blind') {
      for (let attempt = 0; ; attempt++) {
        const v = this.version;
        const seen = this.avail;
        await this.hop();
        if (this.version !== v && attempt < 1) continue;
        this.avail = seen + units; // BUG after one retry
        this.version++;
        return;
      }
    }
    this.avail += units;
  }

  async tryReserve(cost: number): Promise<boolean> {
    assertAmount(cost, 'cost');
    return this.take(cost, () => {
      this.countPool += cost;
    });
  }

  async release(cost: number): Promise<void> {
    assertAmount(cost, 'cost');
    if (this.bug === 'count-release-clamped-at-capacity') {
      await this.hop();
      // BUG (the reference's): no count pool, clamp at capacity.
      this.avail = Math.min(this.capacity, this.avail + cost);
      return;
    }
    if (this.bug !== 'cas-one-retry-then-blind') await this.hop();
    const accepted = Math.min(cost, this.countPool);
    this.countPool -= accepted;
    await this.give(accepted);
  }

  async tryAcquire(cost: number): Promise<Permit | null> {
    assertAmount(cost, 'cost');
    if (this.bug === 'epoch-stamped-late') {
      await this.hop();
      if (cost > this.avail) return null;
      this.avail -= cost;
      const hold: Hold = { cost, epoch: this.epoch, state: 'held', rest: 0 };
      this.held.add(hold);
      await this.hop(); // second round trip: write the hold record
      hold.epoch = this.epoch; // BUG: stamped with the epoch current after the round trip
      if (this.policy === 'reset' && !this.held.has(hold)) this.held.add(hold);
      return new Permit(this, hold);
    }
    let hold: Hold | undefined;
    const ok = await this.take(cost, () => {
      hold = { cost, epoch: this.epoch, state: 'held', rest: 0 };
      this.held.add(hold);
    });
    return ok ? new Permit(this, hold!) : null;
  }

  live(hold: Hold): boolean {
    return this.policy === 'carry' || hold.epoch === this.epoch;
  }

  async settle(hold: Hold, used: number | 'release'): Promise<boolean> {
    if (used !== 'release' && used !== hold.cost && used !== undefined) {
      if (!Number.isSafeInteger(used) || used < 0 || used > hold.cost) {
        throw new BudgetError({ code: 'INVALID_AMOUNT', message: `bad used ${String(used)}` });
      }
    }
    if (this.bug === 'settle-check-then-act') {
      if (hold.state !== 'held') return false;
      await this.hop();
    } else {
      await this.hop();
      if (hold.state !== 'held') {
        if (
          this.bug === 'release-after-partial-commit-refunds' &&
          used === 'release' &&
          hold.state === 'committed' &&
          hold.rest > 0
        ) {
          // BUG: "release" of a partially committed permit returns its unused rest again.
          if (this.live(hold)) this.avail += hold.rest;
          hold.rest = 0;
        }
        return false;
      }
    }
    hold.state = used === 'release' ? 'released' : 'committed';
    const wasHeld = this.held.delete(hold);
    const live = this.live(hold);
    if (used === 'release') {
      if (live) this.avail += hold.cost;
      return true;
    }
    const rest = hold.cost - used;
    hold.rest = rest;
    if (live) {
      let back = rest;
      if (this.bug === 'partial-commit-off-by-one' && used > 0 && used < hold.cost) back += 1;
      this.avail += back;
      this.committedThisEpoch += used;
    } else if (this.bug === 'partial-commit-rest-unfenced') {
      this.avail += rest; // BUG: the rest of a fenced permit comes back to the new epoch
    }
    void wasHeld;
    return true;
  }
}

export class Permit {
  constructor(
    private readonly guard: BugGuard,
    private readonly hold: Hold,
  ) {}
  get cost(): number {
    return this.hold.cost;
  }
  release(): Promise<boolean> {
    return this.guard.settle(this.hold, 'release');
  }
  commit(used?: number): Promise<boolean> {
    const bug = (this.guard as unknown as { bug: GuardBug }).bug;
    // Only an absent `used` means "all of it"; null is a bad amount like any other.
    const spent =
      bug === 'partial-commit-zero-keeps-all'
        ? used || this.hold.cost
        : used === undefined
          ? this.hold.cost
          : used;
    return this.guard.settle(this.hold, spent);
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }
}
