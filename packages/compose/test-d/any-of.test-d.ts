import {
  type AnyOf,
  type AnyOfDecision,
  type AnyOfPermit,
  anyOf,
  type SyncAnyOf,
  type SyncAnyOfPermit,
} from '@budgetry/compose';
import {
  AtomicBudget,
  AtomicTokenBudget,
  type BudgetPermit,
  type PermitBudgetGuard,
  type SyncBudgetGuard,
  type SyncBudgetPermit,
} from '@budgetry/core';
import { describe, expectTypeOf, test } from 'vitest';

declare const remote: PermitBudgetGuard;

describe('anyOf over a record: members are named by the record keys', () => {
  type Key = 'primary' | 'fallback';
  const pool = anyOf({ primary: new AtomicBudget(100), fallback: new AtomicTokenBudget(50) });

  test('in-process members give a SyncAnyOf keyed by exactly those keys', () => {
    expectTypeOf(pool).toEqualTypeOf<SyncAnyOf<Key>>();
    expectTypeOf(pool.keys).toEqualTypeOf<readonly Key[]>();
  });

  test("the permit's member is the key of the member charged", () => {
    const permit = pool.tryAcquireSync(80);
    expectTypeOf(permit).toEqualTypeOf<SyncAnyOfPermit<Key> | null>();
    expectTypeOf(permit!.member).toEqualTypeOf<Key>();
    expectTypeOf(permit!.inner).toEqualTypeOf<SyncBudgetPermit>();
  });

  test('a denial lists every member by key', () => {
    const decision = pool.tryAcquireDetailedSync(1);
    expectTypeOf(decision).toEqualTypeOf<AnyOfDecision<Key, SyncAnyOfPermit<Key>>>();
    if (decision.ok) {
      expectTypeOf(decision.permit.member).toEqualTypeOf<Key>();
    } else {
      expectTypeOf(decision.deniedBy).toEqualTypeOf<readonly Key[]>();
      expectTypeOf(decision.retryAfterMs).toEqualTypeOf<number | undefined>();
    }
  });
});

describe('anyOf over an array: members are named by their index', () => {
  const pool = anyOf([new AtomicBudget(1), new AtomicBudget(1)]);

  test('the key type is number, even for a tuple', () => {
    expectTypeOf(pool).toEqualTypeOf<SyncAnyOf<number>>();
    expectTypeOf(pool.tryAcquireSync(1)!.member).toEqualTypeOf<number>();
    const decision = pool.tryAcquireDetailedSync(1);
    if (!decision.ok) expectTypeOf(decision.deniedBy).toEqualTypeOf<readonly number[]>();
  });
});

describe('anyOf picks its overload from its members', () => {
  test('a member that may be remote gives AnyOf | SyncAnyOf, without the sync API', async () => {
    type Key = 'remote' | 'local';
    const pool = anyOf({ remote, local: new AtomicBudget(5) });
    expectTypeOf(pool).toEqualTypeOf<AnyOf<Key> | SyncAnyOf<Key>>();
    // @ts-expect-error an AnyOf has no synchronous API
    pool.tryAcquireSync(1);

    const permit = await pool.tryAcquire(1);
    expectTypeOf(permit).toEqualTypeOf<AnyOfPermit<Key> | null>();
    expectTypeOf(permit!.member).toEqualTypeOf<Key>();
    expectTypeOf(permit!.inner).toEqualTypeOf<BudgetPermit>();

    const decision = await pool.tryAcquireDetailed(1);
    if (!decision.ok) expectTypeOf(decision.deniedBy).toEqualTypeOf<readonly Key[]>();
  });

  test('an array with a remote member is keyed by number', () => {
    expectTypeOf(anyOf([remote, new AtomicBudget(1)])).toEqualTypeOf<
      AnyOf<number> | SyncAnyOf<number>
    >();
  });

  test('a SyncAnyOf is a synchronous guard; an AnyOf is not', () => {
    expectTypeOf<SyncAnyOf<'a'>>().toExtend<SyncBudgetGuard>();
    expectTypeOf<AnyOf<'a'>>().not.toExtend<SyncBudgetGuard>();
  });

  test('the strategy is one of the two known', () => {
    anyOf([new AtomicBudget(1)], { strategy: 'least-utilized' });
    // @ts-expect-error no such strategy
    anyOf([new AtomicBudget(1)], { strategy: 'random' });
  });
});
