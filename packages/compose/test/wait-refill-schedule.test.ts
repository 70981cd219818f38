import {
  AtomicBudget,
  AtomicTokenBudget,
  BudgetError,
  type SchedulableCapabilities,
} from '@budgetry/core';
import { afterEach, describe, expect, it } from 'vitest';
import { calendarRefill, intervalRefill, lazyRefill } from '../src/index.js';
import { TestClock } from './helpers/test-clock.js';

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    return BudgetError.isInstance(error) ? error.code : 'not a BudgetError';
  }
  return 'none';
};

/** Makes `budget.refill()` throw on the calls listed (1-based); counts every call. */
function failRefills<B extends { refill(times?: number): void }>(budget: B, failOn: number[]) {
  const real = budget.refill.bind(budget);
  const seen = { calls: 0 };
  budget.refill = (times?: number) => {
    if (failOn.includes(++seen.calls)) throw new Error(`refill ${seen.calls} failed`);
    real(times);
  };
  return seen;
}

/**
 * A token budget that does not declare `refill(times)`: a schedule applies each boundary's
 * refill with its own call (the path budgets written elsewhere take).
 */
class OneAtATime extends AtomicTokenBudget {
  override get capabilities(): SchedulableCapabilities {
    return { ...super.capabilities, batchRefill: false };
  }
}

/** A token budget in `debt` tokens of debt at clock 0, on a 100 ms schedule. */
function indebted(capacity: number, debt: number, clock: TestClock, batch = false) {
  const tokens = batch
    ? new AtomicTokenBudget(capacity, { leakBackstop: false })
    : new OneAtATime(capacity, { leakBackstop: false });
  const scheduled = lazyRefill(tokens, { intervalMs: 100, clock });
  scheduled.recordUsageSync(scheduled.tryReserveTokensSync(0)!, capacity + debt, 0);
  expect(scheduled.debt()).toBe(debt);
  return { tokens, scheduled };
}

describe('refill schedules: a refill that throws', () => {
  it('leaves its boundary due, so the next access applies it', () => {
    const clock = new TestClock(0);
    const b = new AtomicBudget(5);
    const s = lazyRefill(b, { intervalMs: 100, clock });
    expect(s.tryReserveSync(5)).toBe(true);
    failRefills(b, [1]);
    clock.advance(100);
    expect(codeOf(() => s.available())).toBe('BACKEND');
    expect(s.available()).toBe(5);
    expect(s.epoch).toBe(1);
    expect(s.nextRefillAt()).toBe(200);
  });

  it('surfaces as BACKEND with the refill’s error as cause', () => {
    const clock = new TestClock(0);
    const b = new AtomicBudget(5);
    const s = lazyRefill(b, { intervalMs: 100, clock });
    failRefills(b, [1]);
    clock.advance(100);
    let caught: unknown;
    try {
      s.tryReserveSync(1);
    } catch (error) {
      caught = error;
    }
    expect(BudgetError.isInstance(caught) && (caught.cause as Error).message).toBe(
      'refill 1 failed',
    );
    expect(b.available()).toBe(5); // the refused reservation took nothing
  });

  it('keeps the debt-paying refills it did not apply owed, and applies them on the next access', () => {
    const clock = new TestClock(0);
    const { tokens, scheduled } = indebted(10, 25, clock);
    failRefills(tokens, [2]); // the second of the refills a five-boundary catch-up needs
    clock.advance(500);
    expect(codeOf(() => scheduled.debt())).toBe('BACKEND');
    // Per boundary: 25 → 15 → 5 → paid (5 left) → full. Nothing is lost to the failure.
    expect(scheduled.debt()).toBe(0);
    expect(scheduled.available()).toBe(10);
    expect(scheduled.epoch).toBe(5);
  });

  it('is retried by the timer, which never throws and keeps its schedule', () => {
    const clock = new TestClock(0);
    const b = new AtomicBudget(5);
    const errors: unknown[] = [];
    const s = intervalRefill(b, { intervalMs: 100, clock, onError: (e) => errors.push(e) });
    s.tryReserveSync(5);
    const told: number[] = [];
    s.subscribe(() => told.push(clock.now()));
    failRefills(b, [1]);
    expect(() => clock.advance(100)).not.toThrow();
    expect(errors.map((e) => BudgetError.isInstance(e) && e.code)).toEqual(['BACKEND']);
    expect(told).toEqual([]);
    expect(clock.pending()).toBe(1); // a retry is armed
    clock.advance(100); // by the following boundary at the latest (within a second)
    expect(told).toEqual([200]); // the timer, not an access, applied it
    expect(b.available()).toBe(5);
    expect(s.epoch).toBe(2);
    expect(clock.pending()).toBe(1);
    s.close();
    expect(clock.pending()).toBe(0);
  });
});

describe('refill schedules: debt across many crossed boundaries', () => {
  it('pays min(debt, boundaries × capacity), exactly, after a long idle period', () => {
    const clock = new TestClock(0);
    const { scheduled } = indebted(3, 100, clock);
    clock.advance(1_000); // 10 boundaries pay 30
    expect(scheduled.debt()).toBe(70);
    clock.advance(20_000_000); // 200k more: all paid, and the epoch after that begins full
    expect(scheduled.debt()).toBe(0);
    expect(scheduled.available()).toBe(3);
  });

  it('begins a full epoch after the refill that paid the last of the debt, when boundaries remain', () => {
    const clock = new TestClock(0);
    const { scheduled } = indebted(10, 15, clock);
    clock.advance(300); // 15 → 5 → paid (5 left) → full, as three refills on time would do
    expect(scheduled.available()).toBe(10);
  });

  it('pays a debt larger than 10 000 refills’ worth, with refills bounded by the debt', () => {
    const clock = new TestClock(0);
    const tokens = new OneAtATime(1, { leakBackstop: false });
    const scheduled = lazyRefill(tokens, { intervalMs: 1, clock });
    scheduled.recordUsageSync(scheduled.tryReserveTokensSync(0)!, 30_001, 0);
    const seen = failRefills(tokens, []);
    clock.advance(1e12); // a trillion boundaries
    expect(scheduled.debt()).toBe(0);
    expect(scheduled.available()).toBe(1);
    expect(seen.calls).toBe(30_001); // 30 000 to pay, one to begin a full epoch
    expect(scheduled.epoch).toBe(1e12);
  });

  it('over a budget that declares refill(times), catches up in one call, however large the debt', () => {
    const clock = new TestClock(0);
    const tokens = new AtomicTokenBudget(1, { leakBackstop: false });
    const scheduled = lazyRefill(tokens, { intervalMs: 1, clock });
    // A debt no loop of refills could pay in time: 2^52 refills of one token each.
    scheduled.recordUsageSync(scheduled.tryReserveTokensSync(0)!, 2 ** 52 + 1, 0);
    const seen = failRefills(tokens, []);
    clock.advance(1e12); // a lazy schedule catches up at the next use
    expect(scheduled.debt()).toBe(2 ** 52 - 1e12);
    expect(seen.calls).toBe(1);
    clock.advance(2 ** 52); // enough boundaries to pay the rest, and one to begin afresh
    expect([scheduled.debt(), scheduled.available()]).toEqual([0, 1]);
    expect(seen.calls).toBe(2);
    expect(scheduled.epoch).toBe(1e12 + 2 ** 52);
  });

  it('pays the same over a budget with refill(times) as one refill per boundary, at every length', () => {
    for (const boundaries of [1, 2, 3, 4, 5, 7, 12]) {
      const clocks = [new TestClock(0), new TestClock(0)];
      const [batched, looped] = [
        indebted(3, 10, clocks[0]!, true).scheduled,
        indebted(3, 10, clocks[1]!, false).scheduled,
      ];
      for (const c of clocks) c.advance(boundaries * 100);
      expect([batched.debt(), batched.available()]).toEqual([looped.debt(), looped.available()]);
    }
  });
});

describe('refill schedules: listeners', () => {
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  afterEach(() => {
    process.off('warning', onWarning);
    warnings.length = 0;
  });

  it('a listener that throws stops neither the other listeners, nor the timer, nor the caller', () => {
    const clock = new TestClock(0);
    const errors: unknown[] = [];
    const s = intervalRefill(new AtomicBudget(5), {
      intervalMs: 100,
      clock,
      onError: (e) => errors.push(e),
    });
    s.subscribe(() => {
      throw new Error('listener failed');
    });
    const seen: number[] = [];
    s.subscribe((epoch) => seen.push(epoch));
    expect(() => clock.advance(100)).not.toThrow();
    expect(seen).toEqual([1]);
    expect(clock.pending()).toBe(1);
    clock.advance(100);
    expect(seen).toEqual([1, 2]);
    expect(errors.map((e) => (e as Error).message)).toEqual(['listener failed', 'listener failed']);
    s.close();
  });

  it('an access that catches up is not failed by a listener', () => {
    const clock = new TestClock(0);
    const s = lazyRefill(new AtomicBudget(5), { intervalMs: 100, clock, onError: () => {} });
    s.subscribe(() => {
      throw new Error('listener failed');
    });
    s.tryReserveSync(5);
    clock.advance(100);
    expect(s.tryReserveSync(5)).toBe(true);
  });

  it('without onError, a listener’s error becomes a BudgetryRefillWarning', async () => {
    process.on('warning', onWarning);
    const clock = new TestClock(0);
    const s = lazyRefill(new AtomicBudget(5), { intervalMs: 100, clock });
    s.subscribe(() => {
      throw new Error('listener failed');
    });
    clock.advance(100);
    expect(() => s.available()).not.toThrow();
    await new Promise<void>((r) => setImmediate(r));
    expect(warnings.map((w) => [w.name, w.message.includes('listener failed')])).toEqual([
      ['BudgetryRefillWarning', true],
    ]);
  });

  it('refuses a listener that is not a function, and unsubscribes one subscription per call', () => {
    const clock = new TestClock(0);
    const s = lazyRefill(new AtomicBudget(5), { intervalMs: 100, clock });
    expect(codeOf(() => s.subscribe(42 as unknown as () => void))).toBe('INVALID_ARGUMENT');
    let told = 0;
    const listener = () => {
      told++;
    };
    const stop = s.subscribe(listener);
    s.subscribe(listener); // the same function, twice
    stop();
    stop(); // a second call does nothing
    clock.advance(100);
    s.available();
    expect(told).toBe(1);
  });

  it('takes onError as a function only', () => {
    const clock = new TestClock(0);
    const bad = { intervalMs: 100, clock, onError: 'log' as unknown as () => void };
    expect(codeOf(() => lazyRefill(new AtomicBudget(1), bad))).toBe('INVALID_ARGUMENT');
  });
});

describe('refill schedules: boundaries beyond the safe range', () => {
  it('an interval whose next boundary is past 2^53 − 1 never refills: no retry hint, no timer', () => {
    const clock = new TestClock(2_000);
    const s = intervalRefill(new AtomicBudget(1), {
      intervalMs: Number.MAX_SAFE_INTEGER,
      startAt: 1_000,
      clock,
    });
    expect(s.nextRefillAt()).toBe(Number.POSITIVE_INFINITY);
    expect(clock.pending()).toBe(0);
    s.tryReserveSync(1);
    expect(s.retryAfterMs(1)).toBeUndefined();
    // One ending exactly at 2^53 − 1 still refills there.
    const exact = lazyRefill(new AtomicBudget(1), {
      intervalMs: Number.MAX_SAFE_INTEGER - 1_000,
      startAt: 1_000,
      clock,
    });
    expect(exact.nextRefillAt()).toBe(Number.MAX_SAFE_INTEGER);
    exact.tryReserveSync(1);
    expect(exact.retryAfterMs(1)).toBe(Number.MAX_SAFE_INTEGER - 2_000);
  });

  it('a calendar near the last date a Date holds stops refilling instead of counting NaN epochs', () => {
    const clock = new TestClock(8.64e15 - 10 * 86_400_000);
    const s = calendarRefill({ capacity: 1 }, { unit: 'month', clock });
    expect(s.nextRefillAt()).toBe(Number.POSITIVE_INFINITY);
    s.tryReserveSync(1);
    clock.advance(5 * 86_400_000);
    expect(s.epoch).toBe(0);
    expect(s.available()).toBe(0);
    expect(s.retryAfterMs(1)).toBeUndefined();
  });
});

describe('a second schedule on one budget', () => {
  it('is refused before any timer is armed', () => {
    const clock = new TestClock(0);
    const budget = new AtomicBudget(5);
    lazyRefill(budget, { intervalMs: 1_000, clock });
    expect(() => intervalRefill(budget, { intervalMs: 1_000, clock })).toThrow(BudgetError);
    expect(clock.pending()).toBe(0);
  });
});
