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
  // The tail: stores only.
  f[S_OVER_RELEASED] = overReleased;
  f[S_COUNT] = countHeld - accepted;
  f[S_HELD] = held;
  f[S_AVAIL] = available;
  f[lf + L_EPOCH] = epoch;
  f[lf + L_COUNT] = laneCount;
  f[lf + L_HELD] = laneHeld;
  f[lf + L_SLICE] = laneSlice;
  if (own < accepted) region.releaseCountOfOthers(accepted - own);
  return accepted;
}
