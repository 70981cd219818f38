import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AtomicBudget,
  AtomicTokenBudget,
  BudgetError,
  capabilitiesOf,
  SharedBudget,
  SharedHierarchy,
  SharedTokenBudget,
} from '../src/index.js';

const steps = fc.array(
  fc.oneof(
    fc.record({ op: fc.constant('reserve' as const), n: fc.nat(12) }),
    fc.record({ op: fc.constant('record' as const), used: fc.nat(40) }),
    fc.record({ op: fc.constant('refill' as const), times: fc.integer({ min: 1, max: 9 }) }),
  ),
  { maxLength: 40 },
);

describe('refill(times)', () => {
  for (const policy of ['reset', 'carry'] as const) {
    it(`leaves a token budget exactly as that many refill() calls (${policy})`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 10 }), steps, (capacity, script) => {
          const batched = new AtomicTokenBudget(capacity, {
            refillPolicy: policy,
            leakBackstop: false,
          });
          const looped = new AtomicTokenBudget(capacity, {
            refillPolicy: policy,
            leakBackstop: false,
          });
          const held: [
            ReturnType<typeof batched.tryReserveTokensSync>,
            ReturnType<typeof looped.tryReserveTokensSync>,
          ][] = [];
          for (const s of script) {
            if (s.op === 'reserve') {
              held.push([batched.tryReserveTokensSync(s.n), looped.tryReserveTokensSync(s.n)]);
            } else if (s.op === 'record') {
              const pair = held.shift();
              if (pair?.[0] && pair[1]) {
                batched.recordUsageSync(pair[0], s.used, 0);
                looped.recordUsageSync(pair[1], s.used, 0);
              }
            } else {
              batched.refill(s.times);
              for (let i = 0; i < s.times; i++) looped.refill();
            }
            expect(batched.snapshot()).toEqual(looped.snapshot());
          }
        }),
        { numRuns: 300 },
      );
    });
  }

  it('advances a guard by that many epochs, as that many calls', () => {
    const batched = new AtomicBudget(5, { refillPolicy: 'carry' });
    const looped = new AtomicBudget(5, { refillPolicy: 'carry' });
    batched.tryReserveSync(2);
    looped.tryReserveSync(2);
    batched.refill(4);
    for (let i = 0; i < 4; i++) looped.refill();
    expect(batched.snapshot()).toEqual(looped.snapshot());
    expect(batched.epoch).toBe(4);
  });

  it('pays a debt of 2^53 − 1 in one step, up to the last epoch 2^53 − 1 can count', () => {
    const tokens = new AtomicTokenBudget(2);
    tokens.recordUsageSync(tokens.tryReserveTokensSync(0)!, Number.MAX_SAFE_INTEGER, 0);
    tokens.refill(2 ** 50);
    // Each of the 2^50 refills pays a capacity of 2: the debt of 2^53 − 3 loses 2^51.
    expect(tokens.debt()).toBe(Number.MAX_SAFE_INTEGER - 2 - 2 ** 51);
    tokens.refill(Number.MAX_SAFE_INTEGER - 2 ** 50);
    expect([tokens.debt(), tokens.available(), tokens.epoch]).toEqual([
      0,
      2,
      Number.MAX_SAFE_INTEGER,
    ]);
  });

  it('refuses a refill past epoch 2^53 − 1, where a reset could no longer fence older permits', () => {
    const make = [
      () => new AtomicBudget(4, { leakBackstop: false }),
      () => new AtomicTokenBudget(4, { leakBackstop: false }),
      () => new SharedBudget(4, { leakBackstop: false }),
      () => new SharedTokenBudget(4, { leakBackstop: false }),
    ];
    for (const build of make) {
      const budget = build();
      budget.refill(Number.MAX_SAFE_INTEGER - 1);
      expect(() => budget.refill(2)).toThrow(/past 2\^53 − 1/);
      budget.refill();
      expect(budget.epoch).toBe(Number.MAX_SAFE_INTEGER);
      expect(budget.tryReserveSync(3)).toBe(true);
      for (const times of [1, 5]) {
        let error: unknown;
        try {
          budget.refill(times);
        } catch (e) {
          error = e;
        }
        expect(BudgetError.isInstance(error) && error.code).toBe('INVALID_ARGUMENT');
      }
      // Nothing changed: the epoch, and the units held in it (a refill would have reset them).
      expect([budget.epoch, budget.available()]).toEqual([Number.MAX_SAFE_INTEGER, 1]);
      budget.releaseSync(3);
      expect(budget.available()).toBe(4);
    }
    const tree = new SharedHierarchy({ capacity: 4, children: { capacity: 4 } });
    tree.refill(Number.MAX_SAFE_INTEGER);
    expect(() => tree.refill()).toThrow(/past 2\^53 − 1/);
    expect(tree.epoch).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('refuses a count that is not a positive safe integer, changing nothing', () => {
    const tokens = new AtomicTokenBudget(5);
    tokens.tryReserveTokensSync(3);
    for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 53, '2']) {
      expect(() => tokens.refill(bad as number)).toThrow(BudgetError);
      expect(() => new AtomicBudget(1).refill(bad as number)).toThrow(BudgetError);
    }
    expect([tokens.available(), tokens.epoch]).toEqual([2, 0]);
  });

  it('is declared', () => {
    expect(capabilitiesOf(new AtomicTokenBudget(1)).batchRefill).toBe(true);
    expect(capabilitiesOf(new AtomicBudget(1)).batchRefill).toBe(true);
    expect(() =>
      capabilitiesOf({ capabilities: { ...new AtomicBudget(1).capabilities, batchRefill: 'yes' } }),
    ).toThrow(BudgetError);
  });
});

describe('capabilitiesOf', () => {
  it('turns a declaration that throws when read into INVALID_ARGUMENT, with the cause', () => {
    const budget = {
      get capabilities(): never {
        throw new Error('boom');
      },
    };
    let caught: unknown;
    try {
      capabilitiesOf(budget);
    } catch (error) {
      caught = error;
    }
    expect(BudgetError.isInstance(caught) && caught.code).toBe('INVALID_ARGUMENT');
    expect(((caught as Error).cause as Error).message).toBe('boom');
  });
});
