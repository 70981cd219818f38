import { BudgetError } from '../spec/budget-error.js';
import {
  L_COUNT,
  L_EPOCH,
  L_HELD,
  L_SLICE,
  S_AVAIL,
  S_COUNT,
  S_EPOCH,
  S_HELD,
  S_OVER_RELEASED,
  S_UNCLAIMED,
} from './layout.js';
import type { SharedRegion } from './region.js';

const MAX = Number.MAX_SAFE_INTEGER;

/**
 * @internal With the lock held by `region`'s handle: a count-API release of `cost`, the same for
 * every kind whose `S_AVAIL` takes refunds (a guard's available, a token budget's net). Units
 * beyond what the pool holds are over-released — counted, or with `strict` refused: the lock is
 * then released and `OVER_RELEASE` thrown with nothing changed. The handle's own reservations
 * are released first; the rest stop being recorded on the lanes that reserved them. Writes in
 * one tail of stores (see `RegionMemory.slowLock`); the caller releases the lock.
 *
 * @returns the units accepted.
 */
export function releaseCountLocked(region: SharedRegion, cost: number): number {
  const f = region.f64;
  const countHeld = f[S_COUNT]!;
  let accepted = cost;
  let overReleased = f[S_OVER_RELEASED]!;
  if (cost > countHeld) {
    if (region.strict) {
      region.unlock();
      throw new BudgetError({
        code: 'OVER_RELEASE',
        message: `release(${cost}) exceeds the ${countHeld} units held through tryReserve`,
        details: { budget: region.name, cost, held: countHeld },
      });
    }
    accepted = countHeld;
    overReleased = Math.min(overReleased + cost - accepted, MAX);
  }
  const held = f[S_HELD]! - accepted;
  const available = f[S_AVAIL]! + accepted;
  const lf = region.laneF;
  const epoch = f[S_EPOCH]!;
  const fresh = !region.carry && f[lf + L_EPOCH] !== epoch;
  // This handle's own reservations first; the rest were reserved through other handles.
  const recorded = fresh ? 0 : f[lf + L_COUNT]!;
  const own = Math.min(recorded, accepted);
  const laneCount = recorded - own;
  const laneHeld = fresh ? 0 : f[lf + L_HELD]!;
  const laneSlice = fresh ? 0 : f[lf + L_SLICE]!;
  // Units released beyond this handle's own reservations were reserved through other handles:
  // counted in `S_UNCLAIMED`, not taken from their lanes, whose records a lock-free call may
  // not have reached yet; a reclaim settles them (see `SharedRegion.reclaimLane`).
  const unclaimed = unclaimedAfter(f, accepted - own);
  // The tail: stores only.
  f[S_UNCLAIMED] = unclaimed;
  f[S_OVER_RELEASED] = overReleased;
  f[S_COUNT] = countHeld - accepted;
  f[S_HELD] = held;
  f[S_AVAIL] = available;
  f[lf + L_EPOCH] = epoch;
  f[lf + L_COUNT] = laneCount;
  f[lf + L_HELD] = laneHeld;
  f[lf + L_SLICE] = laneSlice;
  return accepted;
}

/**
 * @internal `S_UNCLAIMED` after a release of `others` units that other handles reserved (the
 * count API is one pool): they stay on those handles' lanes, which a reclaim debits by this
 * count first. Computed before the caller's tail and stored in it: a store made by a call
 * after the tail could be lost to a thread terminated on entering that call, leaving the
 * lanes recording units the pool no longer holds, which a reclaim would then give back.
 */
export function unclaimedAfter(f: Float64Array, others: number): number {
  const now = f[S_UNCLAIMED]!;
  return others > 0 ? Math.min(now + others, MAX) : now;
}
