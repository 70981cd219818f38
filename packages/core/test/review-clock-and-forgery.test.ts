// What a hostile review found: a rate limiter that one unreadable clock reading turned into
// no limit (or a dead one), and a token reservation built by the caller with the budget as its
// owner, which the budget took at its word and so minted tokens.
import { describe, expect, it } from 'vitest';
import { AtomicTokenBudget } from '../src/budgets/atomic-token-budget.js';
import { slidingWindow } from '../src/budgets/sliding-window.js';
import { tokenBucket } from '../src/budgets/token-bucket.js';
import { TokenReservation } from '../src/budgets/token-reservation.js';
import { BudgetError } from '../src/spec/budget-error.js';

/** A clock that reads `time()` each time; no timers. */
const clockOf = (time: () => number) => ({ now: time, setTimer: () => () => {} });

describe('a clock reading that is not a finite time is ignored', () => {
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
    it(`tokenBucket: one reading of ${bad} neither lifts the limit nor stops the refill`, () => {
      let now = 0;
      let reading = () => now;
      const bucket = tokenBucket({
        burst: 10,
        rate: 1,
        per: 1_000,
        clock: clockOf(() => reading()),
      });
      expect(bucket.tryReserveSync(10)).toBe(true);
      reading = () => bad;
      expect(bucket.available()).toBe(0);
      reading = () => now;
      now = 1; // no whole token yet
      expect([1, 1, 1000].map((cost) => bucket.tryReserveSync(cost))).toEqual([
        false,
        false,
        false,
      ]);
      expect(bucket.available()).toBe(0);
      now = 5_000; // five tokens accrued
      expect(bucket.available()).toBe(5);
    });

    it(`slidingWindow: a grant at a reading of ${bad} still slides out of the window`, () => {
      let reading = () => 0;
      const window = slidingWindow({ limit: 5, windowMs: 10, clock: clockOf(() => reading()) });
      reading = () => bad;
      expect(window.tryReserveSync(5)).toBe(true);
      expect(window.tryReserveSync(1)).toBe(false);
      reading = () => 100;
      expect(window.available()).toBe(5);
      expect(window.tryReserveSync(1)).toBe(true);
    });
  }

  it('tokenBucket: a clock unreadable when the bucket is built starts it at the first good reading', () => {
    let now = Number.NaN;
    const bucket = tokenBucket({ burst: 5, rate: 1, per: 1_000, clock: clockOf(() => now) });
    now = 0;
    expect(bucket.tryReserveSync(5)).toBe(true);
    now = 3_000;
    expect(bucket.available()).toBe(3);
  });
});

describe('a token reservation the budget did not issue is refused, whatever its owner says', () => {
  it('recordUsageSync: FOREIGN_HANDLE, nothing changed', () => {
    const tokens = new AtomicTokenBudget(100, { leakBackstop: false });
    const forged = new TokenReservation({
      estimate: 1_000,
      owner: tokens,
      epoch: tokens.epoch,
      refund: () => {},
      backstop: false,
    });
    const before = tokens.snapshot();
    let code: string | undefined;
    try {
      tokens.recordUsageSync(forged, 0, 0);
    } catch (error) {
      code = BudgetError.isInstance(error) ? error.code : String(error);
    }
    expect(code).toBe('FOREIGN_HANDLE');
    expect(tokens.snapshot()).toEqual(before);
    expect(forged.state).toBe('armed');
    const real = tokens.tryReserveTokensSync(10)!;
    tokens.recordUsageSync(real, 4, 2);
    expect(tokens.snapshot()).toMatchObject({ available: 94, consumed: 6, reserved: 0 });
  });
});
