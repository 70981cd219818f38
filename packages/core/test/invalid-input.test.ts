// Every invalid value class through every public entry point: a typed INVALID_AMOUNT error,
// thrown (sync) or rejected (async), and the budget exactly as it was.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AtomicBudget } from '../src/budgets/atomic-budget.js';
import { AtomicTokenBudget } from '../src/budgets/atomic-token-budget.js';
import { BudgetError } from '../src/spec/budget-error.js';

const invalidAmount = fc.oneof(
  fc.integer({ max: -1 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Number.isInteger(x)),
  fc.constantFrom(
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    Number.MAX_SAFE_INTEGER + 1,
    2 ** 64,
    -0.5,
  ),
  fc.bigInt().map((n) => n as unknown),
  fc.string().map((s) => s as unknown),
  fc.constantFrom<unknown>(null, undefined, true, {}, [], () => 1, Symbol('amount'), '5'),
);

/** A budget in some reachable state: a few valid operations first. */
const warmOps = fc.array(fc.tuple(fc.constantFrom('reserve', 'acquire', 'release'), fc.nat(40)), {
  maxLength: 6,
});

type Entry<B> = (budget: B, value: never) => unknown;

const guardEntries: Record<string, Entry<AtomicBudget>> = {
  tryReserveSync: (b, v) => b.tryReserveSync(v),
  releaseSync: (b, v) => b.releaseSync(v),
  tryAcquireSync: (b, v) => b.tryAcquireSync(v),
  tryReserve: (b, v) => b.tryReserve(v),
  release: (b, v) => b.release(v),
  tryAcquire: (b, v) => b.tryAcquire(v),
};

async function expectInvalid(call: () => unknown): Promise<void> {
  let result: unknown;
  try {
    result = call();
  } catch (error) {
    expect(BudgetError.isInstance(error) && error.code).toBe('INVALID_AMOUNT');
    return;
  }
  expect(result).toBeInstanceOf(Promise);
  await (result as Promise<unknown>).then(
    () => expect.fail('resolved where it should have rejected'),
    (error: unknown) => expect(BudgetError.isInstance(error) && error.code).toBe('INVALID_AMOUNT'),
  );
}

describe('invalid amounts are rejected with no effect', () => {
  it('at every AtomicBudget entry point', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...Object.keys(guardEntries)),
        invalidAmount,
        warmOps,
        async (entry, value, ops) => {
          const b = new AtomicBudget(100);
          for (const [op, cost] of ops) {
            if (op === 'reserve') b.tryReserveSync(cost);
            else if (op === 'acquire') b.tryAcquireSync(cost);
            else b.releaseSync(Math.min(cost, b.snapshot().held));
          }
          const before = b.snapshot();
          await expectInvalid(() => guardEntries[entry]!(b, value as never));
          expect(b.snapshot()).toEqual(before);
        },
      ),
      { numRuns: 600 },
    );
  });

  it('at every AtomicTokenBudget entry point, including each usage argument', async () => {
    const entries: Record<string, (tb: AtomicTokenBudget, v: never) => unknown> = {
      tryReserveTokensSync: (tb, v) => tb.tryReserveTokensSync(v),
      tryReserveTokens: (tb, v) => tb.tryReserveTokens(v),
      tryReserveSync: (tb, v) => tb.tryReserveSync(v),
      releaseSync: (tb, v) => tb.releaseSync(v),
      tryReserve: (tb, v) => tb.tryReserve(v),
      release: (tb, v) => tb.release(v),
      'recordUsageSync(prompt)': (tb, v) => tb.recordUsageSync(tb.tryReserveTokensSync(0)!, v, 1),
      'recordUsageSync(completion)': (tb, v) =>
        tb.recordUsageSync(tb.tryReserveTokensSync(0)!, 1, v),
      'recordUsage(prompt)': (tb, v) => tb.recordUsage(tb.tryReserveTokensSync(0)!, v, 1),
      'recordUsage(completion)': (tb, v) => tb.recordUsage(tb.tryReserveTokensSync(0)!, 1, v),
    };
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...Object.keys(entries)),
        invalidAmount,
        fc.nat(100),
        fc.nat(300),
        async (entry, value, estimate, used) => {
          const tb = new AtomicTokenBudget(100);
          const r = tb.tryReserveTokensSync(estimate);
          if (r) tb.recordUsageSync(r, used, 0);
          const before = tb.snapshot();
          await expectInvalid(() => entries[entry]!(tb, value as never));
          // A zero-estimate reservation taken by the entry itself changes nothing either.
          expect(tb.snapshot()).toEqual(before);
        },
      ),
      { numRuns: 600 },
    );
  });

  it('at construction, for capacity and maxDebt', () => {
    const codeOf = (build: () => unknown): string | undefined => {
      try {
        build();
      } catch (error) {
        return BudgetError.isInstance(error) ? error.code : 'not a BudgetError';
      }
      return undefined;
    };
    fc.assert(
      fc.property(invalidAmount, (value) => {
        expect(codeOf(() => new AtomicBudget(value as never))).toBe('INVALID_AMOUNT');
        expect(codeOf(() => new AtomicTokenBudget(value as never))).toBe('INVALID_AMOUNT');
        // For maxDebt, absent and +Infinity both mean "no cap".
        if (value !== undefined && value !== Number.POSITIVE_INFINITY) {
          expect(['INVALID_AMOUNT', 'INVALID_ARGUMENT']).toContain(
            codeOf(() => new AtomicTokenBudget(10, { maxDebt: value as never })),
          );
        }
      }),
      { numRuns: 300 },
    );
  });
});
