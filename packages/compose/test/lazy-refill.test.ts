import {
  AtomicBudget,
  AtomicTokenBudget,
  BudgetError,
  type SyncBudgetPermit,
} from '@budgetry/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allOf } from '../src/all-of/all-of.js';
import { anyOf } from '../src/any-of/any-of.js';
import { hierarchy } from '../src/hierarchy/hierarchy.js';
import { intervalRefill } from '../src/refill/interval-refill.js';
import { lazyRefill } from '../src/refill/lazy-refill.js';
import { tokenGuard } from '../src/token-guard/token-guard.js';
import { waiting } from '../src/waiting/waiter-queue.js';
import { TestClock } from './helpers/test-clock.js';

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (error) {
    return BudgetError.isInstance(error) ? error.code : 'not a BudgetError';
  }
  return undefined;
};

describe('lazyRefill', () => {
  it('refills at each boundary from the clock, with no timer', () => {
    const clock = new TestClock(1_000);
    const rpm = lazyRefill({ capacity: 3 }, { intervalMs: 60_000, clock });
    expect(clock.pending()).toBe(0);
    expect(rpm.tryReserveSync(3)).toBe(true);
    expect(rpm.tryReserveSync(1)).toBe(false);
    expect(rpm.retryAfterMs(1)).toBe(60_000);
    clock.advance(59_999);
    expect(rpm.retryAfterMs(1)).toBe(1);
    expect(rpm.tryReserveSync(1)).toBe(false);
    clock.advance(1);
    expect(rpm.epoch).toBe(1);
    expect(rpm.available()).toBe(3);
    expect(clock.pending()).toBe(0);
  });

  it('refills once per epoch however often it is touched', () => {
    const clock = new TestClock();
    const budget = new AtomicBudget(5, { refillPolicy: 'reset' });
    const scheduled = lazyRefill(budget, { intervalMs: 10, clock });
    clock.advance(10);
    scheduled.tryReserveSync(2);
    scheduled.available();
    scheduled.tryReserveSync(1);
    expect(budget.epoch).toBe(1);
    expect(scheduled.available()).toBe(2);
    clock.advance(35); // three boundaries crossed while idle: one refill suffices without debt
    expect(scheduled.epoch).toBe(4);
    expect(scheduled.available()).toBe(5);
  });

  it('applies reset and carry exactly', () => {
    const clock = new TestClock();
    const reset = lazyRefill({ capacity: 10, policy: 'reset' }, { intervalMs: 10, clock });
    const carry = lazyRefill({ capacity: 10, policy: 'carry' }, { intervalMs: 10, clock });
    const r = reset.tryAcquireSync(8)!;
    const c = carry.tryAcquireSync(8)!;
    clock.advance(10);
    expect([reset.available(), carry.available()]).toEqual([10, 2]);
    r.releaseSync(); // fenced off: the new epoch does not grow past capacity
    c.releaseSync();
    expect([reset.available(), carry.available()]).toEqual([10, 10]);
  });

  it('pays debt first, one epoch’s worth per boundary crossed', () => {
    const clock = new TestClock();
    const tokens = lazyRefill(new AtomicTokenBudget(100), { intervalMs: 1_000, clock });
    tokens.recordUsageSync(tokens.tryReserveTokensSync(100)!, 350, 0);
    expect(tokens.debt()).toBe(250);
    clock.advance(1_000);
    expect([tokens.debt(), tokens.available()]).toEqual([150, 0]);
    expect(tokens.retryAfterMs(1)).toBe(1_000);
    clock.advance(2_000);
    expect([tokens.debt(), tokens.available()]).toEqual([0, 50]);
  });

  it('settles a permit in the epoch the clock is in, even if nothing else touched the budget since the boundary (carry)', () => {
    const clock = new TestClock(0);
    const rows = lazyRefill(new AtomicBudget(10, { refillPolicy: 'carry' }), {
      intervalMs: 1_000,
      clock,
    });
    const permit = rows.tryAcquireSync(8)!;
    clock.advance(1_000); // the boundary passes; nothing touches the budget
    permit.commitSync(); // the 8 carried into the new epoch stay spent there
    expect(rows.available()).toBe(2);
  });

  it('fences an old reservation of a reset token budget in debt whether or not another call caught up first', () => {
    const outcome = (touchFirst: boolean) => {
      const clock = new TestClock(0);
      const tokens = lazyRefill(new AtomicTokenBudget(10), { intervalMs: 1_000, clock });
      const held = tokens.tryReserveTokensSync(4)!;
      tokens.recordUsageSync(tokens.tryReserveTokensSync(6)!, 16, 0); // 20 charged: 10 owed
      clock.advance(1_000); // the refill pays the 10 owed: nothing left, nothing owed
      if (touchFirst) tokens.available();
      held[Symbol.dispose](); // from the old epoch: returns nothing to the new one
      return [tokens.available(), tokens.debt()];
    };
    expect(outcome(false)).toEqual([0, 0]);
    expect(outcome(true)).toEqual([0, 0]);
  });

  it('refuses combinators and wrappers, which have no epochs of their own, instead of scheduling a fresh budget', () => {
    const rows = new AtomicBudget(10);
    const tokens = new AtomicTokenBudget(100);
    for (const target of [
      allOf([rows, tokens]),
      anyOf([new AtomicBudget(5)]),
      waiting(new AtomicBudget(5)),
      tokenGuard(new AtomicTokenBudget(5)),
    ]) {
      expect(() => lazyRefill(target as never, { intervalMs: 1_000 })).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
    expect(rows.available()).toBe(10); // nothing was built in its place
  });

  it('refuses a node below the root of a hierarchy at construction, not at its first tick', () => {
    const root = hierarchy({ capacity: 100, children: { capacity: 10 } });
    expect(() => intervalRefill(root.child('x') as never, { intervalMs: 1_000 })).toThrow(
      /root of a hierarchy/,
    );
    using scheduled = intervalRefill(root, { intervalMs: 1_000 });
    expect(scheduled.epoch).toBe(0);
  });

  it('refuses to schedule a budget that already follows another schedule', () => {
    const budget = new AtomicBudget(10);
    lazyRefill(budget, { intervalMs: 1_000 });
    expect(() => lazyRefill(budget, { intervalMs: 500 })).toThrow(/already follows/);
  });

  it('rejects zero, negative and fractional intervals and non-budgets at construction', () => {
    for (const intervalMs of [0, -5, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '10']) {
      expect(codeOf(() => lazyRefill({ capacity: 1 }, { intervalMs: intervalMs as number }))).toBe(
        'INVALID_ARGUMENT',
      );
    }
    expect(codeOf(() => lazyRefill({} as never, { intervalMs: 1 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => lazyRefill({ capacity: -1 }, { intervalMs: 1 }))).toBe('INVALID_AMOUNT');
    expect(codeOf(() => lazyRefill({ capacity: 1, policy: 'x' as never }, { intervalMs: 1 }))).toBe(
      'INVALID_ARGUMENT',
    );
  });
});

describe('intervalRefill', () => {
  it('refills from an unref’d timer, tells subscribers, and stops on close', () => {
    const clock = new TestClock();
    const budget = new AtomicBudget(4);
    const epochs: number[] = [];
    const scheduled = intervalRefill(budget, { intervalMs: 100, clock });
    scheduled.subscribe((e) => epochs.push(e));
    budget.tryReserveSync(4);
    clock.advance(100);
    expect(budget.available()).toBe(4); // refilled by the timer, not by an access
    clock.advance(250);
    expect(epochs).toEqual([1, 2, 3]);
    expect(clock.pending()).toBe(1);
    scheduled.close();
    expect(clock.pending()).toBe(0);
    clock.advance(1_000);
    expect(epochs).toEqual([1, 2, 3]);
  });

  it('ignores a stale tick: an access already refilled the epoch', () => {
    const clock = new TestClock();
    const budget = new AtomicBudget(4);
    using scheduled = intervalRefill(budget, { intervalMs: 100, clock });
    // Move time without firing timers, as a blocked event loop would.
    (clock as unknown as { time: number }).time = 100;
    scheduled.tryReserveSync(3); // applies the refill for epoch 1, then reserves
    clock.advance(0); // the late tick fires now
    expect(budget.epoch).toBe(1);
    expect(scheduled.available()).toBe(1);
  });
});

describe('refill: properties', () => {
  it('A ≤ C, one refill per epoch, stale releases fenced, and the policy exact', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('reset' as const, 'carry' as const),
        fc.integer({ min: 1, max: 50 }),
        fc.nat(20),
        fc.array(
          fc.oneof(
            fc.record({ kind: fc.constant('advance' as const), ms: fc.nat(120) }),
            fc.record({ kind: fc.constant('acquire' as const), cost: fc.nat(12) }),
            fc.record({ kind: fc.constant('release' as const), index: fc.nat(20) }),
          ),
          { maxLength: 60 },
        ),
        fc.boolean(),
        (policy, intervalMs, capacity, ops, timer) => {
          const clock = new TestClock();
          const budget = new AtomicBudget(capacity, { refillPolicy: policy });
          const scheduled = timer
            ? intervalRefill(budget, { intervalMs, clock })
            : lazyRefill(budget, { intervalMs, clock });
          // Model: available, the epoch index, live permits with their epochs.
          let avail = capacity;
          let epoch = 0;
          const permits: { p: SyncBudgetPermit; cost: number; epoch: number }[] = [];
          const sync = () => {
            const e = Math.floor(clock.now() / intervalMs);
            if (e > epoch) {
              epoch = e;
              const held = permits
                .filter((x) => x.p.state === 'held' && (policy === 'carry' || x.epoch === epoch))
                .reduce((a, x) => a + x.cost, 0);
              avail = policy === 'reset' ? capacity : capacity - held;
            }
          };
          for (const op of ops) {
            if (op.kind === 'advance') clock.advance(op.ms);
            sync();
            if (op.kind === 'acquire') {
              const p = scheduled.tryAcquireSync(op.cost);
              expect(p !== null).toBe(op.cost <= avail);
              if (p) {
                avail -= op.cost;
                permits.push({ p, cost: op.cost, epoch });
              }
            } else if (op.kind === 'release') {
              const x = permits[op.index];
              if (x && x.p.state === 'held') {
                x.p.releaseSync();
                if (policy === 'carry' || x.epoch === epoch) avail += x.cost;
              }
            }
            expect(scheduled.available()).toBe(avail);
            expect(scheduled.epoch).toBe(epoch);
            expect(avail).toBeLessThanOrEqual(capacity);
            expect(avail).toBeGreaterThanOrEqual(0);
          }
          // One refill per epoch: the budget never refilled more often than epochs passed.
          expect(budget.epoch).toBeLessThanOrEqual(epoch);
          scheduled.close();
          expect(clock.pending()).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('lazyRefill startAt', () => {
  it('sets the phase of the boundaries, before it as after: a future startAt delays nothing', () => {
    const clock = new TestClock(0);
    const budget = new AtomicBudget(10, { refillPolicy: 'reset' });
    const scheduled = lazyRefill(budget, { intervalMs: 1_000, clock, startAt: 10_250 });
    expect(scheduled.nextRefillAt()).toBe(250);
    expect(scheduled.tryReserveSync(10)).toBe(true);
    clock.advance(250);
    expect([scheduled.available(), budget.epoch]).toEqual([10, 1]);
  });
});
