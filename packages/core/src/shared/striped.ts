import { describe, invalid } from '../budgets/options.js';
import { systemClock } from '../budgets/system-clock.js';
import {
  H_CLOSED,
  HF_DUE,
  KIND_GUARD,
  L_COUNT,
  L_EPOCH,
  L_HELD,
  L_SLICE,
  S_AVAIL,
  S_COUNT,
  S_EPOCH,
  S_HELD,
  S_OVER_RELEASED,
  S_SLICED,
  S_UNCLAIMED,
  W_REFILLS,
} from './layout.js';
import { unclaimedAfter } from './locked-count-release.js';
import { assertSharedMemory, type SharedBudgetDescriptor, SharedRegion } from './region.js';
import { SharedBudget } from './shared-budget.js';
import { checkOpenOptions, type SharedOpenOptions } from './shared-options.js';

const MAX = Number.MAX_SAFE_INTEGER;

/**
 * Options of a striped handle.
 *
 * @example
 * ```ts
 * import type { StripedOpenOptions } from '@budgetry/core';
 *
 * const options: StripedOpenOptions = { slice: 4_096 };
 * ```
 */
export interface StripedOpenOptions extends SharedOpenOptions {
  /**
   * Units the handle takes from the shared pool at a time and serves from without the lock
   * (default 256). It keeps at most twice this many free and gives the rest back.
   */
  slice?: number;
}

/**
 * A handle on a {@link SharedBudget} for heavy contention: it takes a slice of units from the
 * shared pool and serves the count API (`tryReserveSync`, `releaseSync`) from that slice with
 * no lock and no shared write, going to the pool only when the slice runs out or overflows.
 * Permits, `acquire` and refills go through the pool as on any handle.
 *
 * The global total stays exact: a slice is taken from the pool before it is served, so the
 * units held across all threads never exceed the capacity. What a slice holds is recorded in
 * the handle's lane, so `close()`, `releaseOnExit` and an expired lease give all of it back.
 * The cost is availability, not safety: units free in one thread's slice are not available to
 * another, so another thread may be denied while up to `2 × slice` units per striped handle sit
 * unused; a `reset` refill discards every slice with the epoch. For the same reason the count
 * API of a striped handle is its own: release through the handle that reserved. Units one
 * striped handle reserved sit in its slice, so a release of them through another handle finds
 * nothing held in the pool and is counted as over-released; they come back when the handle
 * that holds them releases them or closes.
 *
 * A handle whose lease is reclaimed while its thread is in fact still running (its event loop
 * was blocked for longer than the lease) may serve one more call from its slice before it
 * notices; its next call fails with `LEASE_EXPIRED`.
 *
 * @example
 * ```ts
 * import { SharedBudget, StripedSharedBudget } from '@budgetry/core';
 *
 * const rows = new SharedBudget(1_000_000);
 * // In each worker, with the descriptor it was sent:
 * const local = StripedSharedBudget.open(rows.share(), { slice: 4_096 });
 * if (local.tryReserveSync(10)) local.releaseSync(10);
 * local.close(); // its slice goes back to the pool
 * rows.close();
 * ```
 */
export class StripedSharedBudget extends SharedBudget {
  /** Units taken from the pool per refill of the slice. */
  readonly slice: number;
  /** Units of the slice free to reserve. */
  private sliceFree = 0;
  /** Units of the slice held through the count API. */
  private sliceHeld = 0;
  /** The refill count the slice belongs to. */
  private refillsSeen: number;

  /** @internal Use {@link StripedSharedBudget.open}. */
  constructor(region: SharedRegion, options: StripedOpenOptions, slice: number) {
    if (!Number.isSafeInteger(slice) || slice < 1) {
      throw invalid(`option slice must be a positive safe integer, got ${describe(slice)}`, {
        slice,
      });
    }
    super(0, options, region);
    this.slice = slice;
    this.refillsSeen = Atomics.load(this.i32, W_REFILLS);
  }

  /**
   * Opens a striped handle on a shared budget.
   *
   * @param descriptor - what `SharedBudget.share()` returned.
   * @param options - `slice`, and a handle's observer, leak backstop and clock.
   * @returns the handle.
   * @throws BudgetError `INVALID_ARGUMENT` for a bad slice or descriptor (see `SharedBudget.open`).
   */
  static override open(
    descriptor: SharedBudgetDescriptor,
    options: StripedOpenOptions = {},
  ): StripedSharedBudget {
    assertSharedMemory('StripedSharedBudget.open');
    checkOpenOptions(options);
    const region = SharedRegion.open(descriptor, KIND_GUARD, options.clock ?? systemClock);
    return new StripedSharedBudget(region, options, options.slice ?? 256);
  }

  /** Units this handle could reserve now: the pool's plus its own free slice. */
  override available(): number {
    this.catchUpDue();
    this.sync();
    return super.available() + this.sliceFree;
  }

  /**
   * Reserve `cost` units from this handle's slice, topping it up from the pool when short.
   *
   * @param cost - a non-negative safe integer.
   * @returns `true` when reserved, `false` when neither the slice nor the pool has `cost`.
   */
  override tryReserveSync(cost: number): boolean {
    if (!Number.isSafeInteger(cost) || cost < 0) return super.tryReserveSync(cost);
    if (this.f64[HF_DUE] !== Number.POSITIVE_INFINITY) this.catchUpDue();
    if (Atomics.load(this.i32, W_REFILLS) !== this.refillsSeen) this.sync();
    const i32 = this.i32;
    if (cost > this.sliceFree || i32[this.genIndex] !== this.gen || i32[H_CLOSED] !== 0) {
      return this.topUp(cost);
    }
    this.sliceFree -= cost;
    this.sliceHeld += cost;
    if (--this.callsToBeat === 0) this.beatNow();
    if (this.observer !== undefined) this.report('reserve', cost, this.sliceFree);
    return true;
  }

  /**
   * Return `cost` units: to the slice when this handle holds them, the rest to the pool, whose
   * count API is shared by the plain handles; an excess is counted as over-released, or thrown
   * with `strict` (units in another striped handle's slice are not in the pool: see the class
   * notes).
   *
   * @param cost - a non-negative safe integer.
   */
  override releaseSync(cost: number): void {
    if (!Number.isSafeInteger(cost) || cost < 0) {
      super.releaseSync(cost);
      return;
    }
    if (Atomics.load(this.i32, W_REFILLS) !== this.refillsSeen) this.sync();
    const i32 = this.i32;
    if (cost > this.sliceHeld || i32[this.genIndex] !== this.gen || i32[H_CLOSED] !== 0) {
      this.releaseBeyondSlice(cost);
      return;
    }
    this.sliceHeld -= cost;
    this.sliceFree += cost;
    if (--this.callsToBeat === 0) this.beatNow();
    if (this.sliceFree > 2 * this.slice) this.giveBack(this.sliceFree - this.slice);
    if (this.observer !== undefined) {
      this.observer({
        type: 'release',
        budget: this.name,
        cost,
        refunded: cost,
        available: this.sliceFree,
      });
    }
  }

  /** Gives the slice back to the pool, then closes the handle. */
  override close(): void {
    this.sliceFree = 0;
    this.sliceHeld = 0;
    super.close();
  }

  /** After a refill: under `reset` the slice belonged to the old epoch and is gone. */
  private sync(): void {
    const refills = Atomics.load(this.i32, W_REFILLS);
    if (refills === this.refillsSeen) return;
    this.refillsSeen = refills;
    if (!this.carry) {
      this.sliceFree = 0;
      this.sliceHeld = 0;
    }
  }

  /** Under the lock: takes `cost` plus a slice from the pool, then reserves `cost` from it. */
  private topUp(cost: number): boolean {
    const f = this.f64;
    const lf = this.laneF;
    this.lock();
    if (this.i32[this.genIndex] !== this.gen || this.i32[H_CLOSED] !== 0) this.refuse();
    const epoch = f[S_EPOCH]!;
    const fresh = !this.carry && f[lf + L_EPOCH] !== epoch;
    // A refill the unlocked check missed: the slice belonged to the old epoch. Refills only
    // happen under the lock, so the count read here matches the epoch read here.
    this.refillsSeen = Atomics.load(this.i32, W_REFILLS);
    const sliceFree = fresh ? 0 : this.sliceFree;
    const sliceHeld = fresh ? 0 : this.sliceHeld;
    const pool = f[S_AVAIL]!;
    if (cost - sliceFree > pool) {
      this.unlock();
      this.sliceFree = sliceFree;
      this.sliceHeld = sliceHeld;
      if (this.observer !== undefined) this.report('deny', cost, pool + sliceFree);
      return false;
    }
    const take = Math.min(cost - sliceFree + this.slice, pool);
    const laneSlice = (fresh ? 0 : f[lf + L_SLICE]!) + take;
    const laneCount = fresh ? 0 : f[lf + L_COUNT]!;
    const laneHeld = fresh ? 0 : f[lf + L_HELD]!;
    const sliced = f[S_SLICED]! + take;
    // The tail: stores only (see RegionMemory.slowLock).
    f[S_AVAIL] = pool - take;
    f[S_SLICED] = sliced;
    f[lf + L_EPOCH] = epoch;
    f[lf + L_SLICE] = laneSlice;
    f[lf + L_COUNT] = laneCount;
    f[lf + L_HELD] = laneHeld;
    this.unlock();
    this.sliceFree = sliceFree + take - cost;
    this.sliceHeld = sliceHeld + cost;
    if (this.observer !== undefined) this.report('reserve', cost, this.sliceFree);
    return true;
  }

  /** Under the lock: returns `excess` free slice units to the pool. */
  private giveBack(excess: number): void {
    const f = this.f64;
    const lf = this.laneF;
    this.lock();
    if (this.i32[this.genIndex] !== this.gen || this.i32[H_CLOSED] !== 0) this.refuse();
    this.refillsSeen = Atomics.load(this.i32, W_REFILLS);
    const live = this.carry || f[lf + L_EPOCH] === f[S_EPOCH];
    if (live) {
      const available = f[S_AVAIL]! + excess;
      const sliced = f[S_SLICED]! - excess;
      const laneSlice = f[lf + L_SLICE]! - excess;
      f[S_AVAIL] = available;
      f[S_SLICED] = sliced;
      f[lf + L_SLICE] = laneSlice;
    }
    this.unlock();
    if (live) {
      this.sliceFree -= excess;
      this.region.freed();
    } else {
      // A reset refill crossed: the whole slice went with the old epoch.
      this.sliceFree = 0;
      this.sliceHeld = 0;
    }
  }

  /**
   * Under the lock: a release of more than the slice holds. The slice's part goes back to the
   * slice; the rest is a count-API release on the pool, with its over-release accounting.
   */
  private releaseBeyondSlice(cost: number): void {
    const f = this.f64;
    this.lock();
    if (this.i32[this.genIndex] !== this.gen || this.i32[H_CLOSED] !== 0) this.refuse();
    this.refillsSeen = Atomics.load(this.i32, W_REFILLS);
    if (!this.carry && f[this.laneF + L_EPOCH] !== f[S_EPOCH]) {
      // A reset refill crossed: the slice, and what it held, went with the old epoch.
      this.sliceFree = 0;
      this.sliceHeld = 0;
    }
    const fromSlice = this.sliceHeld;
    const rest = cost - fromSlice;
    const countHeld = f[S_COUNT]!;
    if (rest > countHeld && this.region.strict) this.overReleaseError(cost, fromSlice + countHeld);
    const accepted = Math.min(rest, countHeld);
    const overReleased = Math.min(f[S_OVER_RELEASED]! + rest - accepted, MAX);
    const held = f[S_HELD]! - accepted;
    const available = f[S_AVAIL]! + accepted;
    // Beyond its slice, the units were reserved through other handles.
    const unclaimed = unclaimedAfter(f, accepted);
    // The tail: stores only.
    f[S_UNCLAIMED] = unclaimed;
    f[S_OVER_RELEASED] = overReleased;
    f[S_COUNT] = countHeld - accepted;
    f[S_HELD] = held;
    f[S_AVAIL] = available;
    this.unlock();
    this.sliceHeld = 0;
    this.sliceFree += fromSlice;
    if (accepted > 0) this.region.freed();
    const observer = this.observer;
    if (observer === undefined) return;
    observer({
      type: 'release',
      budget: this.name,
      cost,
      refunded: fromSlice + accepted,
      available: available + this.sliceFree,
    });
    if (fromSlice + accepted !== cost) {
      observer({
        type: 'over-release',
        budget: this.name,
        requested: cost,
        accepted: fromSlice + accepted,
        excess: cost - fromSlice - accepted,
      });
    }
  }
}
