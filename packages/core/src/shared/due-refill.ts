import { checkEpochRoom, invalid } from '../budgets/options.js';
import { HF_DONE, HF_DUE, HF_PERIOD, S_EPOCH } from './layout.js';
import type { SharedRegion } from './region.js';

/**
 * @internal What a shared budget kind gives the refill schedule's catch-up, which may run in
 * any thread (see `HF_DUE`).
 */
export interface RefillSite {
  /** Takes the lock, or throws why this handle cannot be used (the lock released again). */
  lockForRefill(): void;
  unlock(): void;
  /**
   * With the lock held: applies `times` refills in one tail of stores, which also stores
   * `due` and `done` into `HF_DUE` and `HF_DONE`.
   */
  refillLocked(times: number, due: number, done: number): void;
  /** After the lock is released: wakes waiters and tells the observer of the last refill. */
  afterRefill(): void;
}

/** @internal `times` refills now (a budget's `refill`), leaving the schedule's words as they are. */
export function refillNow(site: RefillSite, f64: Float64Array, times: number): void {
  site.lockForRefill();
  refillInRoom(site, f64, times, f64[HF_DUE]!, f64[HF_DONE]!);
  site.unlock();
  site.afterRefill();
}

/**
 * With the lock held: `times` refills, or, when they would take the epoch past 2^53 − 1, none:
 * the lock is released and `INVALID_ARGUMENT` thrown, so that a budget out of epochs refuses
 * every operation that would begin one rather than stop fencing older holds.
 */
function refillInRoom(
  site: RefillSite,
  f64: Float64Array,
  times: number,
  due: number,
  done: number,
): void {
  try {
    checkEpochRoom(f64[S_EPOCH]!, times);
  } catch (error) {
    site.unlock();
    throw error;
  }
  site.refillLocked(times, due, done);
}

/** @internal Whether a schedule attached through some handle publishes its boundaries. */
export function scheduledElsewhere(f64: Float64Array): boolean {
  return f64[HF_DUE] !== Number.POSITIVE_INFINITY;
}

/** How far the schedule's clock and a budget's may disagree when the schedule attaches. */
const CLOCK_SKEW_MS = 1_000;

/**
 * @internal Before an operation, in any thread, when a schedule is attached (`HF_DUE` is
 * finite): when the clock has passed the boundary due, applies its refill, unless another
 * thread was first. With equal periods (`HF_PERIOD`) it applies every boundary passed and
 * publishes the next itself; otherwise the thread that runs the schedule publishes the next
 * when it catches up, and until then nothing more is due.
 */
export function catchUpDue(site: RefillSite, region: SharedRegion): void {
  const f = region.f64;
  const now = region.clock.now(); // user code: read before the lock
  if (!(f[HF_DUE]! <= now)) return;
  try {
    site.lockForRefill();
  } catch {
    return; // an unusable handle: the operation itself fails, saying why
  }
  const due = f[HF_DUE]!;
  if (!(due <= now)) {
    site.unlock();
    return;
  }
  // With equal periods every boundary passed is known: apply them all and publish the next.
  // Otherwise apply this one; the scheduling thread publishes the next when it catches up.
  const period = f[HF_PERIOD]!;
  const passed = period > 0 ? Math.floor((now - due) / period) + 1 : 1;
  const last = period > 0 ? due + (passed - 1) * period : due;
  const next = period > 0 ? last + period : Number.POSITIVE_INFINITY;
  refillInRoom(site, f, passed, next, last);
  site.unlock();
  site.afterRefill();
}

/**
 * @internal The schedule's own catch-up: `times` refills for the boundaries from `first`
 * on, less the one at `first` when another thread applied it already, and `next` published
 * as the boundary due. With `times` 0 it only publishes `next` (`Infinity`: no schedule).
 *
 * @throws BudgetError `INVALID_ARGUMENT` when publishing, if the schedule's clock (`now`) and
 * this budget's disagree by more than a second: every thread compares its own clock with the
 * boundary, so they must read the same time.
 */
export function refillScheduled(
  site: RefillSite,
  region: SharedRegion,
  times: number,
  first: number,
  next: number,
  now: number,
  periodMs: number,
): void {
  if (times === 0 && next !== Number.POSITIVE_INFINITY) {
    const own = region.clock.now();
    if (!(Math.abs(own - now) <= CLOCK_SKEW_MS)) {
      throw invalid(
        `the refill schedule's clock reads ${now} and the shared budget's clock ${own}: every thread compares its own clock with the schedule's boundaries, so give the budget (and every handle) a clock that reads the same time as the schedule's`,
        { scheduleNow: now, budgetNow: own },
      );
    }
  }
  site.lockForRefill();
  const f = region.f64;
  // Boundaries from `first` on that other handles applied: up to the last one they did.
  const done = f[HF_DONE]!;
  let applied = 0;
  if (done >= first) applied = periodMs > 0 ? Math.floor((done - first) / periodMs) + 1 : 1;
  const owed = times - Math.min(applied, times);
  const period = periodMs > 0 ? periodMs : Number.NaN;
  const lastCrossed = periodMs > 0 ? first + (times - 1) * periodMs : first;
  if (owed > 0) refillInRoom(site, f, owed, next, Math.max(lastCrossed, done));
  else f[HF_DUE] = Math.max(next, f[HF_DUE] === Number.POSITIVE_INFINITY ? next : f[HF_DUE]!);
  f[HF_PERIOD] = period;
  site.unlock();
  if (owed > 0) site.afterRefill();
}
