import {
  type AllOf,
  type AllOfPermit,
  allOf,
  type Decision,
  type SyncAllOf,
  type SyncAllOfPermit,
  waiting,
} from '@budgetry/compose';
import {
  AtomicBudget,
  AtomicTokenBudget,
  type PermitBudgetGuard,
  type SyncBudgetGuard,
  type SyncBudgetPermit,
} from '@budgetry/core';
import { describe, expectTypeOf, test } from 'vitest';

declare const remote: PermitBudgetGuard;

describe('allOf over a record: members are named by the record keys', () => {
  type Key = 'rows' | 'tokens';
  const gate = allOf({ rows: new AtomicBudget(10), tokens: new AtomicTokenBudget(100) });

  test('in-process members give a SyncAllOf keyed by exactly those keys', () => {
    expectTypeOf(gate).toEqualTypeOf<SyncAllOf<Key>>();
    expectTypeOf(gate.keys).toEqualTypeOf<readonly Key[]>();
  });

  test('a detailed denial names the member by its key', () => {
    const decision = gate.tryAcquireDetailedSync(1_200);
    expectTypeOf(decision).toEqualTypeOf<Decision<Key, SyncAllOfPermit<Key>>>();
    if (decision.ok) {
      expectTypeOf(decision.permit).toEqualTypeOf<SyncAllOfPermit<Key>>();
    } else {
      expectTypeOf(decision.deniedBy).toEqualTypeOf<Key>();
      expectTypeOf(decision.retryAfterMs).toEqualTypeOf<number | undefined>();
    }
  });

  test('per-member costs, fixed charges and permit parts take only member keys', () => {
    expectTypeOf(gate.tryAcquireEachSync({ rows: 1 })).toEqualTypeOf<
      Decision<Key, SyncAllOfPermit<Key>>
    >();
    // @ts-expect-error 'cost' is not a member
    gate.tryAcquireEachSync({ cost: 1 });
    // @ts-expect-error 'cost' is not a member
    allOf({ rows: new AtomicBudget(1) }, { charge: { cost: 1 } });

    const permit = gate.tryAcquireSync(1);
    expectTypeOf(permit).toEqualTypeOf<SyncAllOfPermit<Key> | null>();
    expectTypeOf(permit!.part('rows')).toEqualTypeOf<SyncBudgetPermit | undefined>();
    // @ts-expect-error 'cost' is not a member
    permit?.part('cost');
  });

  test('a record typed only as Record<string, …> is keyed by string', () => {
    const regions: Record<string, AtomicBudget> = { eu: new AtomicBudget(1) };
    expectTypeOf(allOf(regions)).toEqualTypeOf<SyncAllOf<string>>();
  });
});

describe('allOf over an array: members are named by their index', () => {
  const both = allOf([new AtomicBudget(10), new AtomicTokenBudget(100)]);

  test('the key type is number, even for a tuple', () => {
    expectTypeOf(both).toEqualTypeOf<SyncAllOf<number>>();
    expectTypeOf(both.keys).toEqualTypeOf<readonly number[]>();
  });

  test('a detailed denial names the member by its index', () => {
    const decision = both.tryAcquireDetailedSync(1);
    expectTypeOf(decision).toEqualTypeOf<Decision<number, SyncAllOfPermit<number>>>();
    if (!decision.ok) expectTypeOf(decision.deniedBy).toEqualTypeOf<number>();
  });

  test('costs, charges and parts take indices, not names', () => {
    both.tryAcquireEachSync([1, 2]);
    allOf([new AtomicBudget(1), new AtomicBudget(2)], { charge: { 0: 1 } });
    // @ts-expect-error array members have no names
    allOf([new AtomicBudget(1), new AtomicBudget(2)], { charge: { rows: 1 } });
    // @ts-expect-error array members have no names
    both.tryAcquireEachSync({ rows: 1 });
    // @ts-expect-error array members have no names
    both.tryAcquireSync(1)?.part('rows');
  });
});

describe('allOf picks its overload from its members', () => {
  test('a member that may be remote gives AllOf | SyncAllOf, without the sync API', async () => {
    type Key = 'remote' | 'local';
    const gate = allOf({ remote, local: new AtomicBudget(5) });
    expectTypeOf(gate).toEqualTypeOf<AllOf<Key> | SyncAllOf<Key>>();
    // @ts-expect-error an AllOf has no synchronous API
    gate.tryAcquireSync(1);

    const decision = await gate.tryAcquireDetailed(1);
    expectTypeOf(decision).toEqualTypeOf<
      Decision<Key, AllOfPermit<Key>> | Decision<Key, SyncAllOfPermit<Key>>
    >();
    if (!decision.ok) expectTypeOf(decision.deniedBy).toEqualTypeOf<Key>();
  });

  test('an array with a remote member is keyed by number', () => {
    expectTypeOf(allOf([remote, new AtomicBudget(1)])).toEqualTypeOf<
      AllOf<number> | SyncAllOf<number>
    >();
  });

  test('in-process combinators and waiting lines are synchronous members', () => {
    const inner = allOf([new AtomicBudget(1)]);
    const line = waiting(new AtomicBudget(1));
    expectTypeOf(allOf({ inner, line })).toEqualTypeOf<SyncAllOf<'inner' | 'line'>>();
    expectTypeOf(allOf({ gate: allOf({ remote }) })).toEqualTypeOf<
      AllOf<'gate'> | SyncAllOf<'gate'>
    >();
  });

  test('a SyncAllOf is a synchronous guard; an AllOf is not', () => {
    expectTypeOf<SyncAllOf<'a'>>().toExtend<SyncBudgetGuard>();
    expectTypeOf<AllOf<'a'>>().not.toExtend<SyncBudgetGuard>();
    expectTypeOf<AllOf<'a'>>().toExtend<PermitBudgetGuard>();
  });

  test('members must be guards or token budgets', () => {
    // @ts-expect-error a number is not a budget
    allOf([new AtomicBudget(1), 3]);
  });
});
