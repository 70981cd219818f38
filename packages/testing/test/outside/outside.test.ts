// Hand-written checks that the outside fixtures mean what they claim: the control follows the
// documented semantics, and every planted bug really produces a wrong number.
import { BudgetError } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { type Boundary, boundaries } from './boundary.js';
import { PlainGuard } from './plain-guard.js';
import { type PlainReservation, PlainTokenBudget } from './plain-token-budget.js';

/** Boundaries that actually yield, where a race can happen. */
const yielding = boundaries.filter((b): b is Exclude<Boundary, 'none'> => b !== 'none');

/** Anything but a non-negative safe integer. */
const invalidAmounts: readonly unknown[] = [
  -1,
  1.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  2 ** 53,
  '1',
  1n,
  null,
  undefined,
];

/** The `BudgetError` code a promise rejects with, or `resolved`. */
async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (BudgetError.isInstance(error)) return error.code;
    throw error;
  }
  return 'resolved';
}

/** Pass an invalid value where the signature wants a number. */
const bad = (value: unknown) => value as number;

describe.each(boundaries)('PlainGuard control, boundary %s', (boundary) => {
  it('grants cost 0, denies more than available without change, and releases', async () => {
    const guard = new PlainGuard(10, { boundary });
    expect(await guard.tryReserve(0)).toBe(true);
    expect(await guard.tryReserve(7)).toBe(true);
    expect(guard.available()).toBe(3);
    expect(await guard.tryReserve(4)).toBe(false);
    expect(await guard.tryAcquire(4)).toBeNull();
    expect(guard.available()).toBe(3);
    await guard.release(7);
    expect(guard.available()).toBe(10);
  });

  it('clamps a count release to what the count API holds', async () => {
    const guard = new PlainGuard(10, { boundary });
    const permit = (await guard.tryAcquire(4))!;
    expect(await guard.tryReserve(3)).toBe(true);
    await guard.release(5); // only 3 are held through the count API
    expect(guard.available()).toBe(6);
    await guard.release(1);
    expect(guard.available()).toBe(6);
    expect(await permit.release()).toBe(true);
    expect(guard.available()).toBe(10);
  });

  it('rejects invalid amounts with INVALID_AMOUNT before any change', async () => {
    const guard = new PlainGuard(10, { boundary });
    expect(await guard.tryReserve(2)).toBe(true);
    for (const value of invalidAmounts) {
      expect(await codeOf(guard.tryReserve(bad(value)))).toBe('INVALID_AMOUNT');
      expect(await codeOf(guard.tryAcquire(bad(value)))).toBe('INVALID_AMOUNT');
      expect(await codeOf(guard.release(bad(value)))).toBe('INVALID_AMOUNT');
    }
    expect(guard.available()).toBe(8);
    await guard.release(2);
    expect(guard.available()).toBe(10);
  });

  it('settles a permit exactly once', async () => {
    const guard = new PlainGuard(10, { boundary });
    const a = (await guard.tryAcquire(3))!;
    const b = (await guard.tryAcquire(4))!;
    const c = (await guard.tryAcquire(0))!;
    expect([a.cost, b.cost, c.cost]).toEqual([3, 4, 0]);
    expect(guard.available()).toBe(3);

    expect(await a.release()).toBe(true);
    expect(await a.release()).toBe(false);
    expect(await a.commit()).toBe(false);
    await a[Symbol.asyncDispose]();
    expect(guard.available()).toBe(6);

    expect(await b.commit()).toBe(true); // stays spent until the next refill
    expect(await b.release()).toBe(false);
    await b[Symbol.asyncDispose]();
    expect(guard.available()).toBe(6);

    const d = (await guard.tryAcquire(5))!;
    await d[Symbol.asyncDispose](); // releases while held
    expect(await d.release()).toBe(false);
    expect(guard.available()).toBe(6);

    // Two concurrent releases of one permit: exactly one settles it.
    const e = (await guard.tryAcquire(2))!;
    expect(await Promise.all([e.release(), e.release()])).toEqual([true, false]);
    expect(guard.available()).toBe(6);
  });

  it('does not over-admit or lose units under concurrency', async () => {
    const guard = new PlainGuard(10, { boundary });
    const granted = await Promise.all([guard.tryReserve(6), guard.tryReserve(6)]);
    expect(granted.filter(Boolean)).toHaveLength(1);
    expect(guard.available()).toBe(4);
    expect(await Promise.all([guard.tryReserve(4), guard.release(6)])).toEqual([true, undefined]);
    expect(guard.available()).toBe(6);

    // A large reserve and a small one in the same tick: the large one takes 8, the small fails.
    const other = new PlainGuard(10, { boundary });
    expect(await Promise.all([other.tryReserve(8), other.tryReserve(4)])).toEqual([true, false]);
    expect(other.available()).toBe(2);
  });

  it('does not drift over a long history', async () => {
    const guard = new PlainGuard(100, { boundary });
    for (let i = 0; i < 32; i++) expect(await guard.tryReserve(1)).toBe(true);
    expect(guard.available()).toBe(68);
    await guard.release(32);
    expect(guard.available()).toBe(100);
  });

  it('reset: a refill starts full and fences older holds', async () => {
    const guard = new PlainGuard(10, { boundary, policy: 'reset' });
    expect(await guard.tryReserve(2)).toBe(true);
    const old = (await guard.tryAcquire(5))!;
    const kept = (await guard.tryAcquire(1))!;
    guard.refill();
    expect(guard.available()).toBe(10);
    await guard.release(2); // the count pool was emptied
    expect(guard.available()).toBe(10);
    expect(await old.release()).toBe(true); // settles, returns nothing
    expect(await old.release()).toBe(false);
    expect(await kept.commit()).toBe(true);
    expect(guard.available()).toBe(10);
  });

  it('carry: a refill keeps held units out and older permits live', async () => {
    const guard = new PlainGuard(10, { boundary, policy: 'carry' });
    expect(await guard.tryReserve(2)).toBe(true);
    const old = (await guard.tryAcquire(3))!;
    const spent = (await guard.tryAcquire(1))!;
    expect(await spent.commit()).toBe(true);
    expect(guard.available()).toBe(4);
    guard.refill();
    expect(guard.available()).toBe(5); // 10 − (2 counted + 3 held); the commit came back
    expect(await old.release()).toBe(true);
    expect(guard.available()).toBe(8);
    await guard.release(2);
    expect(guard.available()).toBe(10);
    await guard.release(1); // nothing left in the count pool
    expect(guard.available()).toBe(10);
  });
});

describe('PlainGuard bugs', () => {
  it.each(yielding)('check-then-act over-admits (boundary %s)', async (boundary) => {
    const guard = new PlainGuard(10, { boundary, bug: 'check-then-act' });
    expect(await Promise.all([guard.tryReserve(6), guard.tryReserve(6)])).toEqual([true, true]);
    expect(guard.available()).toBe(4); // 12 held out of 10
    const permits = await Promise.all([guard.tryAcquire(3), guard.tryAcquire(3)]);
    expect(permits.every((p) => p !== null)).toBe(true);
    expect(guard.available()).toBe(1); // 18 held out of 10
  });

  it.each(yielding)('lost-release loses a concurrent update (boundary %s)', async (boundary) => {
    const guard = new PlainGuard(10, { boundary, bug: 'lost-release' });
    expect(await guard.tryReserve(4)).toBe(true);
    expect(await guard.tryReserve(4)).toBe(true);
    await Promise.all([guard.release(4), guard.release(4)]);
    expect(guard.available()).toBe(6); // correct: 10

    const other = new PlainGuard(10, { boundary, bug: 'lost-release' });
    const a = (await other.tryAcquire(3))!;
    const b = (await other.tryAcquire(3))!;
    expect(await Promise.all([a.release(), b.release()])).toEqual([true, true]);
    expect(other.available()).toBe(7); // correct: 10
  });

  it.each(yielding)(
    'large-vs-small lets a small reserve sneak in (boundary %s)',
    async (boundary) => {
      const guard = new PlainGuard(10, { boundary, bug: 'large-vs-small' });
      expect(await Promise.all([guard.tryReserve(8), guard.tryReserve(4)])).toEqual([true, true]);
      expect(guard.available()).toBe(-2); // 12 held out of 10
      // Small costs alone take the correct path.
      const small = new PlainGuard(10, { boundary, bug: 'large-vs-small' });
      expect(await Promise.all([small.tryReserve(4), small.tryReserve(4)])).toEqual([true, true]);
      expect(await small.tryReserve(4)).toBe(false);
    },
  );

  it.each(boundaries)(
    'slow-drift loses a unit every 16 reserves (boundary %s)',
    async (boundary) => {
      const guard = new PlainGuard(100, { boundary, bug: 'slow-drift' });
      for (let i = 0; i < 15; i++) expect(await guard.tryReserve(1)).toBe(true);
      expect(guard.available()).toBe(85); // still correct
      const permit = (await guard.tryAcquire(1))!; // the 16th grant
      expect(guard.available()).toBe(83); // correct: 84
      await permit.release();
      await guard.release(15);
      expect(guard.available()).toBe(99); // correct: 100
    },
  );

  it('the race bugs need a boundary to show', async () => {
    const racy = new PlainGuard(10, { boundary: 'none', bug: 'check-then-act' });
    expect(await Promise.all([racy.tryReserve(6), racy.tryReserve(6)])).toEqual([true, false]);
    const split = new PlainGuard(10, { boundary: 'none', bug: 'large-vs-small' });
    expect(await Promise.all([split.tryReserve(8), split.tryReserve(4)])).toEqual([true, false]);
    const lossy = new PlainGuard(10, { boundary: 'none', bug: 'lost-release' });
    await lossy.tryReserve(4);
    await lossy.tryReserve(4);
    await Promise.all([lossy.release(4), lossy.release(4)]);
    expect(lossy.available()).toBe(10);
  });
});

/** Reserve, asserting the reservation was granted. */
async function reserve(budget: PlainTokenBudget, estimate: number): Promise<PlainReservation> {
  const reservation = await budget.tryReserveTokens(estimate);
  expect(reservation).not.toBeNull();
  return reservation!;
}

/** [available, debt] */
const state = (budget: PlainTokenBudget) => [budget.available(), budget.debt()];

describe.each(boundaries)('PlainTokenBudget control, boundary %s', (boundary) => {
  it('reserves, refunds under-use, charges overage as debt, and counts tokens', async () => {
    const tokens = new PlainTokenBudget(1000, { boundary });
    const zero = await reserve(tokens, 0);
    const a = await reserve(tokens, 500);
    const b = await reserve(tokens, 500);
    expect(zero.estimate).toBe(0);
    expect(await tokens.tryReserveTokens(1)).toBeNull();
    await tokens.recordUsage(a, 200, 100);
    expect(state(tokens)).toEqual([200, 0]);
    await tokens.recordUsage(b, 600, 200);
    expect(state(tokens)).toEqual([0, 100]);
    expect(await tokens.tryReserveTokens(0)).not.toBeNull(); // 0 is granted even in debt
    expect(await tokens.tokensConsumed()).toBe(1100);
  });

  it('a refund pays debt first', async () => {
    const tokens = new PlainTokenBudget(1000, { boundary });
    const a = await reserve(tokens, 500);
    const b = await reserve(tokens, 500);
    await tokens.recordUsage(b, 700, 0);
    expect(state(tokens)).toEqual([0, 200]);
    a[Symbol.dispose]();
    expect(state(tokens)).toEqual([300, 0]);

    const small = new PlainTokenBudget(100, { boundary });
    const c = await reserve(small, 50);
    const d = await reserve(small, 50);
    await small.recordUsage(d, 150, 50);
    expect(state(small)).toEqual([0, 150]);
    c[Symbol.dispose]();
    expect(state(small)).toEqual([0, 100]);
  });

  it('reset: a refill pays debt first and fences older reservations', async () => {
    const tokens = new PlainTokenBudget(100, { boundary, policy: 'reset' });
    const a = await reserve(tokens, 40);
    const b = await reserve(tokens, 30);
    const c = await reserve(tokens, 30);
    await tokens.recordUsage(c, 180, 0);
    expect(state(tokens)).toEqual([0, 150]);
    tokens.refill();
    expect(state(tokens)).toEqual([0, 50]);
    tokens.refill();
    expect(state(tokens)).toEqual([50, 0]);
    a[Symbol.dispose](); // fenced: refunds nothing
    expect(state(tokens)).toEqual([50, 0]);
    await tokens.recordUsage(b, 10, 0); // fenced under-use: refunds nothing
    expect(state(tokens)).toEqual([50, 0]);

    const d = await reserve(tokens, 20);
    tokens.refill();
    await tokens.recordUsage(d, 25, 0); // fenced overage: only the 5 beyond the estimate
    expect(state(tokens)).toEqual([95, 0]);
    expect(await tokens.tokensConsumed()).toBe(215);
  });

  it('carry: armed reservations move into the new epoch and only their own debt carries', async () => {
    const tokens = new PlainTokenBudget(1000, { boundary, policy: 'carry' });
    const a = await reserve(tokens, 500);
    const b = await reserve(tokens, 500);
    await tokens.recordUsage(b, 700, 0);
    expect(state(tokens)).toEqual([0, 200]);
    tokens.refill();
    expect(state(tokens)).toEqual([500, 0]);
    a[Symbol.dispose]();
    expect(state(tokens)).toEqual([1000, 0]);

    // Debt beyond what the held estimates explain carries.
    const other = new PlainTokenBudget(1000, { boundary, policy: 'carry' });
    const c = await reserve(other, 100);
    const d = await reserve(other, 900);
    await other.recordUsage(d, 1500, 0);
    expect(state(other)).toEqual([0, 600]);
    other.refill();
    expect(state(other)).toEqual([400, 0]); // 1000 − 100 held − 500 carried
    await other.recordUsage(c, 50, 0); // an older reservation still refunds under carry
    expect(state(other)).toEqual([450, 0]);
  });

  it('disarm takes the refund away from the handle', async () => {
    const tokens = new PlainTokenBudget(100, { boundary });
    const a = await reserve(tokens, 30);
    const refund = a.disarm()!;
    expect(refund).toBeTypeOf('function');
    expect(a.disarm()).toBeNull();
    a[Symbol.dispose](); // disarmed: no effect
    expect(tokens.available()).toBe(70);
    refund(a.estimate);
    expect(tokens.available()).toBe(100);
    refund(a.estimate); // at most once
    expect(tokens.available()).toBe(100);
    expect(await codeOf(tokens.recordUsage(a, 1, 1))).toBe('ALREADY_SETTLED');

    // Disarmed but not refunded: recordable, and the refund is void afterwards.
    const b = await reserve(tokens, 40);
    const voided = b.disarm()!;
    await tokens.recordUsage(b, 10, 0);
    expect(tokens.available()).toBe(90);
    voided(b.estimate);
    expect(tokens.available()).toBe(90);
    expect(b.disarm()).toBeNull();

    const c = await reserve(tokens, 5);
    c[Symbol.dispose]();
    expect(c.disarm()).toBeNull();
    expect(tokens.available()).toBe(90);
  });

  it('rejects foreign and settled reservations without effect', async () => {
    const tokens = new PlainTokenBudget(100, { boundary });
    const elsewhere = new PlainTokenBudget(100, { boundary });
    const foreign = await reserve(elsewhere, 10);
    const fake: PlainReservation = {
      estimate: 10,
      disarm: () => null,
      [Symbol.dispose]: () => {},
    };
    const held = await reserve(tokens, 20);
    for (const r of [foreign, fake]) {
      expect(await codeOf(tokens.recordUsage(r, 1, 1))).toBe('FOREIGN_HANDLE');
    }
    expect(state(tokens)).toEqual([80, 0]);
    expect(await tokens.tokensConsumed()).toBe(0);
    await elsewhere.recordUsage(foreign, 4, 0); // still usable where it came from
    expect(elsewhere.available()).toBe(96);

    await tokens.recordUsage(held, 5, 5);
    expect(await codeOf(tokens.recordUsage(held, 5, 5))).toBe('ALREADY_SETTLED');
    const disposed = await reserve(tokens, 20);
    disposed[Symbol.dispose]();
    expect(await codeOf(tokens.recordUsage(disposed, 0, 0))).toBe('ALREADY_SETTLED');
    expect(state(tokens)).toEqual([90, 0]);
    expect(await tokens.tokensConsumed()).toBe(10);
  });

  it('rejects invalid amounts with INVALID_AMOUNT before any change', async () => {
    const tokens = new PlainTokenBudget(100, { boundary });
    const r = await reserve(tokens, 30);
    for (const value of invalidAmounts) {
      expect(await codeOf(tokens.tryReserveTokens(bad(value)))).toBe('INVALID_AMOUNT');
      expect(await codeOf(tokens.recordUsage(r, bad(value), 0))).toBe('INVALID_AMOUNT');
      expect(await codeOf(tokens.recordUsage(r, 0, bad(value)))).toBe('INVALID_AMOUNT');
    }
    const half = 2 ** 52;
    expect(await codeOf(tokens.recordUsage(r, half, half))).toBe('INVALID_AMOUNT');
    expect(state(tokens)).toEqual([70, 0]);
    expect(await tokens.tokensConsumed()).toBe(0);
    await tokens.recordUsage(r, 20, 0); // the reservation is still usable
    expect(state(tokens)).toEqual([80, 0]);
  });

  it('does not over-admit under concurrency', async () => {
    const tokens = new PlainTokenBudget(10, { boundary });
    const granted = await Promise.all([tokens.tryReserveTokens(6), tokens.tryReserveTokens(6)]);
    expect(granted.filter((r) => r !== null)).toHaveLength(1);
    expect(tokens.available()).toBe(4);
  });
});

describe('PlainTokenBudget bugs', () => {
  it.each(yielding)('check-then-act over-admits (boundary %s)', async (boundary) => {
    const tokens = new PlainTokenBudget(10, { boundary, bug: 'check-then-act' });
    const granted = await Promise.all([tokens.tryReserveTokens(6), tokens.tryReserveTokens(6)]);
    expect(granted.every((r) => r !== null)).toBe(true);
    expect(tokens.available()).toBe(4); // 12 reserved out of 10
  });

  it('check-then-act needs a boundary to show', async () => {
    const tokens = new PlainTokenBudget(10, { boundary: 'none', bug: 'check-then-act' });
    const granted = await Promise.all([tokens.tryReserveTokens(6), tokens.tryReserveTokens(6)]);
    expect(granted.filter((r) => r !== null)).toHaveLength(1);
  });

  it.each(boundaries)('debt-paid-twice credits a refund twice (boundary %s)', async (boundary) => {
    const tokens = new PlainTokenBudget(1000, { boundary, bug: 'debt-paid-twice' });
    const a = await reserve(tokens, 500);
    const b = await reserve(tokens, 500);
    await tokens.recordUsage(b, 700, 0);
    expect(state(tokens)).toEqual([0, 200]);
    a[Symbol.dispose]();
    expect(state(tokens)).toEqual([500, 0]); // correct: [300, 0]

    // Deeper in debt, available and debt are both positive; debt() alone looks right.
    const deep = new PlainTokenBudget(100, { boundary, bug: 'debt-paid-twice' });
    const c = await reserve(deep, 50);
    const d = await reserve(deep, 50);
    await deep.recordUsage(d, 200, 0);
    c.disarm()!();
    expect(state(deep)).toEqual([50, 100]); // correct: [0, 100]

    // Out of debt, a refund is correct.
    const fine = new PlainTokenBudget(100, { boundary, bug: 'debt-paid-twice' });
    (await reserve(fine, 30))[Symbol.dispose]();
    expect(state(fine)).toEqual([100, 0]);
  });

  it.each(boundaries)(
    'carry-in-debt carries debt the held estimates caused (boundary %s)',
    async (boundary) => {
      const tokens = new PlainTokenBudget(1000, {
        boundary,
        policy: 'carry',
        bug: 'carry-in-debt',
      });
      const a = await reserve(tokens, 500);
      const b = await reserve(tokens, 500);
      await tokens.recordUsage(b, 700, 0);
      tokens.refill();
      expect(state(tokens)).toEqual([300, 0]); // correct: [500, 0]
      a[Symbol.dispose]();
      expect(state(tokens)).toEqual([800, 0]); // correct: [1000, 0]
    },
  );
});
