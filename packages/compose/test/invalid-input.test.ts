// Every invalid value class through every public entry point of every combinator: a typed
// BudgetError, thrown (sync) or rejected (async), and the state exactly as it was, even when
// a refill was due at the time of the call.
import {
  AtomicBudget,
  AtomicTokenBudget,
  BudgetError,
  slidingWindow,
  tokenBucket,
} from '@budgetry/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allOf } from '../src/all-of/all-of.js';
import { anyOf } from '../src/any-of/any-of.js';
import { coordinator } from '../src/coordinator/coordinator.js';
import { hierarchy } from '../src/hierarchy/hierarchy.js';
import { calendarRefill } from '../src/refill/calendar-refill.js';
import { intervalRefill } from '../src/refill/interval-refill.js';
import { lazyRefill } from '../src/refill/lazy-refill.js';
import { tokenGuard } from '../src/token-guard/token-guard.js';
import { waiting } from '../src/waiting/waiter-queue.js';
import { remoteGuard } from './helpers/remote-guard.js';
import { TestClock } from './helpers/test-clock.js';

const invalidAmount = fc.oneof(
  fc.integer({ max: -1 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Number.isInteger(x)),
  fc.constantFrom(
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    Number.MAX_SAFE_INTEGER + 1,
    -0.5,
  ),
  fc.bigInt().map((n) => n as unknown),
  fc.string().map((s) => s as unknown),
  fc.constantFrom<unknown>(null, undefined, true, {}, [], () => 1, Symbol('amount'), '5'),
);

/** A combinator in a reachable state, its entry points, and a view of all its state. */
interface Subject {
  readonly entries: Record<string, (value: never) => unknown>;
  readonly state: () => unknown;
}

function build(): Record<string, () => Subject> {
  return {
    'allOf (sync)': () => {
      const rows = new AtomicBudget(100);
      const tokens = new AtomicTokenBudget(100);
      const g = allOf({ rows, tokens }, { charge: { rows: 1 } });
      g.tryReserveSync(7);
      const keep = g.tryAcquireSync(5);
      return {
        entries: {
          tryReserveSync: (v) => g.tryReserveSync(v),
          releaseSync: (v) => g.releaseSync(v),
          tryAcquireSync: (v) => g.tryAcquireSync(v),
          tryAcquireDetailedSync: (v) => g.tryAcquireDetailedSync(v),
          tryAcquireEachSync: (v) =>
            g.tryAcquireEachSync({ rows: 1, tokens: v ?? (null as never) }),
          tryReserve: (v) => g.tryReserve(v),
          release: (v) => g.release(v),
          tryAcquire: (v) => g.tryAcquire(v),
          tryAcquireEach: (v) => g.tryAcquireEach([v, 1]),
          retryAfterMs: (v) => g.retryAfterMs(v),
        },
        state: () => [rows.snapshot(), tokens.snapshot(), g.held(), g.overReleased(), keep?.state],
      };
    },
    'allOf (async)': () => {
      const a = new AtomicBudget(100);
      const b = new AtomicBudget(100);
      const g = allOf([remoteGuard(a), b]);
      return {
        entries: {
          tryAcquire: (v) => g.tryAcquire(v),
          tryAcquireDetailed: (v) => g.tryAcquireDetailed(v),
          tryAcquireEach: (v) => g.tryAcquireEach([1, v]),
          tryReserve: (v) => g.tryReserve(v),
          release: (v) => g.release(v),
        },
        state: () => [a.snapshot(), b.snapshot()],
      };
    },
    'anyOf (sync)': () => {
      const a = new AtomicBudget(10);
      const b = new AtomicBudget(100);
      const g = anyOf({ a, b }, { strategy: 'least-utilized' });
      g.tryReserveSync(8);
      return {
        entries: {
          tryReserveSync: (v) => g.tryReserveSync(v),
          releaseSync: (v) => g.releaseSync(v),
          tryAcquireSync: (v) => g.tryAcquireSync(v),
          tryAcquireDetailedSync: (v) => g.tryAcquireDetailedSync(v),
          tryReserve: (v) => g.tryReserve(v),
          release: (v) => g.release(v),
          tryAcquire: (v) => g.tryAcquire(v),
          retryAfterMs: (v) => g.retryAfterMs(v),
        },
        state: () => [a.snapshot(), b.snapshot(), g.held(), g.overReleased()],
      };
    },
    'anyOf (async)': () => {
      const a = new AtomicBudget(10);
      const b = new AtomicBudget(100);
      const g = anyOf([remoteGuard(a), b]);
      return {
        entries: {
          tryAcquire: (v) => g.tryAcquire(v),
          tryAcquireDetailed: (v) => g.tryAcquireDetailed(v),
          tryReserve: (v) => g.tryReserve(v),
          release: (v) => g.release(v),
        },
        state: () => [a.snapshot(), b.snapshot()],
      };
    },
    hierarchy: () => {
      const root = hierarchy({
        capacity: 100,
        children: { capacity: 50, children: { capacity: 20 } },
      });
      const user = root.at('org', 'user');
      user.tryReserveSync(5);
      const keep = root.child('org').tryAcquireSync(3);
      return {
        entries: {
          tryReserveSync: (v) => user.tryReserveSync(v),
          releaseSync: (v) => user.releaseSync(v),
          tryAcquireSync: (v) => user.tryAcquireSync(v),
          tryAcquireDetailedSync: (v) => user.tryAcquireDetailedSync(v),
          tryReserve: (v) => user.tryReserve(v),
          release: (v) => user.release(v),
          tryAcquire: (v) => user.tryAcquire(v),
          // An absent capacity is allowed; null, like every other non-amount, is not.
          'child(new, { capacity })': (v) =>
            root.child('new', { capacity: v === undefined ? (null as never) : v }),
          'child(existing, { capacity })': (v) =>
            root.child('org', { capacity: v === undefined ? (null as never) : v }),
        },
        state: () => [
          root.held(),
          root.size,
          root.child('org').held(),
          root.child('org').capacity,
          user.held(),
          keep?.state,
        ],
      };
    },
    'lazyRefill (guard, refill due)': () => {
      const clock = new TestClock();
      const budget = new AtomicBudget(10);
      const g = lazyRefill(budget, { intervalMs: 1_000, clock });
      g.tryReserveSync(6);
      clock.advance(1_500); // a refill is due: an invalid call must not be the one to apply it
      return {
        entries: {
          tryReserveSync: (v) => g.tryReserveSync(v),
          releaseSync: (v) => g.releaseSync(v),
          tryAcquireSync: (v) => g.tryAcquireSync(v),
          tryReserve: (v) => g.tryReserve(v),
          release: (v) => g.release(v),
          tryAcquire: (v) => g.tryAcquire(v),
          retryAfterMs: (v) => g.retryAfterMs(v),
        },
        state: () => budget.snapshot(),
      };
    },
    'calendarRefill (tokens, refill due)': () => {
      const clock = new TestClock(Date.parse('2024-01-31T23:59:00Z'));
      const tokens = new AtomicTokenBudget(100);
      const g = calendarRefill(tokens, { unit: 'month', clock });
      const r = g.tryReserveTokensSync(40)!;
      clock.advance(120_000);
      return {
        entries: {
          tryReserveTokensSync: (v) => g.tryReserveTokensSync(v),
          tryReserveTokens: (v) => g.tryReserveTokens(v),
          'recordUsageSync(prompt)': (v) => g.recordUsageSync(r, v, 1),
          'recordUsage(completion)': (v) => g.recordUsage(r, 1, v),
          retryAfterMs: (v) => g.retryAfterMs(v),
        },
        state: () => [tokens.snapshot(), r.state],
      };
    },
    tokenBucket: () => {
      const clock = new TestClock();
      const g = tokenBucket({ burst: 10, rate: 1, clock });
      g.tryReserveSync(4);
      return {
        entries: {
          tryReserveSync: (v) => g.tryReserveSync(v),
          releaseSync: (v) => g.releaseSync(v),
          tryAcquireSync: (v) => g.tryAcquireSync(v),
          tryReserve: (v) => g.tryReserve(v),
          release: (v) => g.release(v),
          tryAcquire: (v) => g.tryAcquire(v),
          retryAfterMs: (v) => g.retryAfterMs(v),
        },
        state: () => [g.available(), g.overReleased()],
      };
    },
    slidingWindow: () => {
      const clock = new TestClock();
      const g = slidingWindow({ limit: 10, windowMs: 1_000, clock });
      g.tryReserveSync(4);
      return {
        entries: {
          tryReserveSync: (v) => g.tryReserveSync(v),
          releaseSync: (v) => g.releaseSync(v),
          tryAcquireSync: (v) => g.tryAcquireSync(v),
          tryReserve: (v) => g.tryReserve(v),
          release: (v) => g.release(v),
          tryAcquire: (v) => g.tryAcquire(v),
          retryAfterMs: (v) => g.retryAfterMs(v),
        },
        state: () => [g.available(), g.overReleased(), g.retryAfterMs(10)],
      };
    },
    tokenGuard: () => {
      const tokens = new AtomicTokenBudget(100);
      const g = tokenGuard(tokens);
      g.tryReserveSync(30);
      return {
        entries: {
          tryReserveSync: (v) => g.tryReserveSync(v),
          releaseSync: (v) => g.releaseSync(v),
          tryAcquireSync: (v) => g.tryAcquireSync(v),
          tryReserve: (v) => g.tryReserve(v),
          release: (v) => g.release(v),
          tryAcquire: (v) => g.tryAcquire(v),
        },
        state: () => [tokens.snapshot(), g.overReleased()],
      };
    },
    waiting: () => {
      const clock = new TestClock();
      const budget = new AtomicBudget(10);
      const g = waiting(budget, { clock });
      g.tryReserveSync(3);
      return {
        entries: {
          acquire: (v) => g.acquire(v),
          'acquire({ timeoutMs })': (v) =>
            g.acquire(1, { timeoutMs: v === undefined ? (null as never) : v }),
          tryReserveSync: (v) => g.tryReserveSync(v),
          releaseSync: (v) => g.releaseSync(v),
          tryAcquireSync: (v) => g.tryAcquireSync(v),
          tryAcquire: (v) => g.tryAcquire(v),
        },
        state: () => [budget.snapshot(), g.pending, clock.pending()],
      };
    },
    coordinator: () => {
      const requests = new AtomicBudget(10);
      const tokens = new AtomicTokenBudget(1_000);
      const c = coordinator({ requests, tokens });
      const d = c.tryReserveSync({ requests: 1, tokens: 100 });
      if (!d.ok) throw new Error('denied');
      return {
        entries: {
          // An undefined amount means "not this dimension", as an absent one does.
          tryReserveSync: (v) => c.tryReserveSync({ requests: 1, tokens: v ?? (null as never) }),
          tryReserve: (v) => c.tryReserve({ requests: v ?? (null as never) }),
          settleSync: (v) => d.permit.settleSync({ tokens: v ?? (null as never) }),
          settle: (v) => d.permit.settle({ requests: v ?? (null as never) }),
        },
        state: () => [requests.snapshot(), tokens.snapshot(), d.permit.state],
      };
    },
  };
}

async function errorOf(call: () => unknown): Promise<unknown> {
  let result: unknown;
  try {
    result = call();
  } catch (error) {
    return error;
  }
  if (!(result instanceof Promise)) return 'returned without an error';
  return result.then(
    () => 'resolved without an error',
    (error: unknown) => error,
  );
}

describe('invalid amounts are rejected with no effect', () => {
  const subjects = build();
  for (const name of Object.keys(subjects)) {
    it(`at every entry point of ${name}`, async () => {
      const entryNames = Object.keys(subjects[name]!().entries);
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...entryNames), invalidAmount, async (entry, value) => {
          const subject = subjects[name]!();
          const before = subject.state();
          const error = await errorOf(() => subject.entries[entry]!(value as never));
          // Durations in options are arguments, not amounts.
          const code = entry.includes('timeoutMs') ? 'INVALID_ARGUMENT' : 'INVALID_AMOUNT';
          expect(BudgetError.isInstance(error) ? error.code : error).toBe(code);
          expect(subject.state()).toEqual(before);
        }),
        { numRuns: 120 },
      );
    });
  }
});

describe('invalid options, members and keys are rejected at construction', () => {
  const notAnObject = fc.constantFrom<unknown>(null, 5, 'x', true, Symbol('o'));
  const codeOf = (build: () => unknown): string | undefined => {
    try {
      build();
    } catch (error) {
      return BudgetError.isInstance(error) ? error.code : `not a BudgetError: ${String(error)}`;
    }
    return undefined;
  };

  it('for options that are not objects', () => {
    fc.assert(
      fc.property(notAnObject, (options) => {
        const o = options as never;
        const budget = new AtomicBudget(1);
        for (const make of [
          () => allOf([budget], o),
          () => anyOf([budget], o),
          () => hierarchy({ capacity: 1 }, o),
          () => lazyRefill(budget, o),
          () => intervalRefill(budget, o),
          () => calendarRefill(budget, o),
          () => tokenBucket(o),
          () => slidingWindow(o),
          () => waiting(budget, o),
          () => hierarchy({ capacity: 1, children: { capacity: 1 } }).child('a', o),
        ]) {
          expect(codeOf(make)).toBe('INVALID_ARGUMENT');
        }
      }),
      { numRuns: 20 },
    );
  });

  it('for a tenant key that is not a string, at every entry point that takes one', () => {
    const root = hierarchy({ capacity: 10, children: { capacity: 5, children: { capacity: 1 } } });
    fc.assert(
      fc.property(
        fc.oneof(fc.integer(), fc.constantFrom<unknown>(null, undefined, {}, [], Symbol('k'))),
        (key) => {
          const k = key as never;
          expect(codeOf(() => root.child(k))).toBe('INVALID_ARGUMENT');
          expect(codeOf(() => root.at('org', k))).toBe('INVALID_ARGUMENT');
          expect(codeOf(() => root.has(k))).toBe('INVALID_ARGUMENT');
          expect(root.has('org')).toBe(true); // at() got as far as org, which is data now
          expect(root.child('org').size).toBe(0);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('for run options and signals that are not what they claim', async () => {
    const c = coordinator({ requests: new AtomicBudget(1) });
    const run = (options: unknown) =>
      c.run({ requests: 1 }, async () => ({ value: 1 }), options as never);
    for (const options of [null, 5, { signal: 'stop' }, { signal: {} }]) {
      const error = await run(options).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(BudgetError.isInstance(error) && error.code).toBe('INVALID_ARGUMENT');
    }
    expect((await run({})).ok).toBe(true);
  });
});
