import {
  allOf,
  anyOf,
  calendarRefill,
  type HierarchyNode,
  type HierarchyRoot,
  hierarchy,
  intervalRefill,
  lazyRefill,
  type RefillableGuard,
  type RefillableTokenBudget,
  type RefillingGuard,
  type RefillingTokenBudget,
  tokenBucket,
  tokenGuard,
  waiting,
} from '@budgetry/compose';
import {
  AtomicBudget,
  AtomicTokenBudget,
  type BudgetCapabilities,
  type SchedulableCapabilities,
  type SyncBudgetGuard,
  type SyncTokenBudget,
} from '@budgetry/core';
import { describe, expectTypeOf, test } from 'vitest';

declare const refillableTokens: RefillableTokenBudget;
declare const refillableGuard: RefillableGuard;

const every = { intervalMs: 60_000 };
const daily = { unit: 'day', timeZone: 'Europe/Paris' } as const;

describe('refill schedulers: an AtomicTokenBudget gives a RefillingTokenBudget of it', () => {
  test('lazyRefill, intervalRefill and calendarRefill', () => {
    expectTypeOf(lazyRefill(new AtomicTokenBudget(1), every)).toEqualTypeOf<
      RefillingTokenBudget<AtomicTokenBudget>
    >();
    expectTypeOf(intervalRefill(new AtomicTokenBudget(1), every)).toEqualTypeOf<
      RefillingTokenBudget<AtomicTokenBudget>
    >();
    expectTypeOf(calendarRefill(new AtomicTokenBudget(1), daily)).toEqualTypeOf<
      RefillingTokenBudget<AtomicTokenBudget>
    >();
    expectTypeOf(lazyRefill(refillableTokens, every)).toEqualTypeOf<
      RefillingTokenBudget<RefillableTokenBudget>
    >();
  });

  test('the result is a token budget, not a guard, and keeps the budget type', () => {
    const tpm = lazyRefill(new AtomicTokenBudget(1), every);
    expectTypeOf(tpm.budget).toEqualTypeOf<AtomicTokenBudget>();
    expectTypeOf(tpm).toExtend<SyncTokenBudget>();
    expectTypeOf(tpm).not.toExtend<SyncBudgetGuard>();
    expectTypeOf(tpm.debt).returns.toEqualTypeOf<number>();
  });
});

describe('refill schedulers: an AtomicBudget gives a RefillingGuard of it', () => {
  test('lazyRefill, intervalRefill and calendarRefill', () => {
    expectTypeOf(lazyRefill(new AtomicBudget(1), every)).toEqualTypeOf<
      RefillingGuard<AtomicBudget>
    >();
    expectTypeOf(intervalRefill(new AtomicBudget(1), every)).toEqualTypeOf<
      RefillingGuard<AtomicBudget>
    >();
    expectTypeOf(calendarRefill(new AtomicBudget(1), daily)).toEqualTypeOf<
      RefillingGuard<AtomicBudget>
    >();
    expectTypeOf(lazyRefill(refillableGuard, every)).toEqualTypeOf<
      RefillingGuard<RefillableGuard>
    >();
  });

  test('the result is a guard, not a token budget, and keeps the budget type', () => {
    const rpm = intervalRefill(new AtomicBudget(1), every);
    expectTypeOf(rpm.budget).toEqualTypeOf<AtomicBudget>();
    expectTypeOf(rpm).toExtend<SyncBudgetGuard>();
    expectTypeOf(rpm).not.toExtend<SyncTokenBudget>();
  });

  test("a hierarchy's root gives a RefillingGuard of the root's own type", () => {
    const root = hierarchy({ capacity: 1_000, children: { capacity: 10 } });
    expectTypeOf(intervalRefill(root, every)).toEqualTypeOf<RefillingGuard<typeof root>>();
    expectTypeOf(calendarRefill(root, daily).budget).toEqualTypeOf<typeof root>();
    expectTypeOf(lazyRefill(root, every).budget).toExtend<HierarchyNode>();
  });
});

describe('refill schedulers: { capacity, policy } gives a RefillingGuard', () => {
  test('lazyRefill, intervalRefill and calendarRefill', () => {
    expectTypeOf(lazyRefill({ capacity: 60 }, every)).toEqualTypeOf<RefillingGuard>();
    expectTypeOf(intervalRefill({ capacity: 60, policy: 'carry' }, every)).toEqualTypeOf<
      RefillingGuard<RefillableGuard>
    >();
    expectTypeOf(calendarRefill({ capacity: 60, policy: 'reset' }, daily)).toEqualTypeOf<
      RefillingGuard<RefillableGuard>
    >();
  });

  test('the policy and the options are checked', () => {
    // @ts-expect-error no such policy
    lazyRefill({ capacity: 60, policy: 'roll' }, every);
    // @ts-expect-error intervalMs is required
    intervalRefill({ capacity: 60 }, {});
    // @ts-expect-error no such calendar unit
    calendarRefill({ capacity: 60 }, { unit: 'year' });
    // @ts-expect-error a capacity is required
    lazyRefill({ policy: 'carry' }, every);
  });
});

describe('refill schedulers accept only what declares itself schedulable', () => {
  const a = new AtomicBudget(10);
  const b = new AtomicBudget(10);
  const root = hierarchy({ capacity: 100, children: { capacity: 10 } });

  test('combinators and wrappers, which have no epochs of their own, do not compile', () => {
    // @ts-expect-error an all-of has a capacity, but is not the { capacity, policy } shorthand
    lazyRefill(allOf([a, b]), every);
    // @ts-expect-error nor is an any-of
    intervalRefill(anyOf([a, b]), every);
    // @ts-expect-error a waiting line forwards its guard's epochs; schedule the guard
    lazyRefill(waiting(a), every);
    // @ts-expect-error a token guard is a view; schedule the token budget
    lazyRefill(tokenGuard(new AtomicTokenBudget(10)), every);
    // @ts-expect-error a continuous rate limiter has no epochs
    lazyRefill(tokenBucket({ burst: 5, rate: 1 }), every);
    // @ts-expect-error a budget already on a schedule takes no second one
    lazyRefill(lazyRefill(new AtomicBudget(5), every), every);
  });

  test('a node below the root of a hierarchy does not compile; the root does', () => {
    // @ts-expect-error a tenant's epochs are the root's
    intervalRefill(root.child('t'), every);
    // @ts-expect-error likewise for calendar refills
    calendarRefill(root.child('t'), daily);
    expectTypeOf(intervalRefill(root, every).budget).toEqualTypeOf<HierarchyRoot>();
  });

  test('what a budget declares is typed: the atomic budgets are schedulable', () => {
    expectTypeOf(a.capabilities).toEqualTypeOf<SchedulableCapabilities>();
    expectTypeOf(root.child('t').capabilities).toEqualTypeOf<BudgetCapabilities>();
    expectTypeOf(allOf([a, b]).capabilities).toEqualTypeOf<BudgetCapabilities>();
  });
});
