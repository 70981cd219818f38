import {
  allOf,
  type Decision,
  type HierarchyNode,
  hierarchy,
  type SyncAllOf,
  tokenBucket,
  type WaitingGuard,
  waiting,
} from '@budgetry/compose';
import {
  AtomicBudget,
  AtomicTokenBudget,
  type PermitBudgetGuard,
  type SyncBudgetGuard,
  type SyncBudgetPermit,
  type TokenBudget,
} from '@budgetry/core';
import { describe, expectTypeOf, test } from 'vitest';

declare const remote: PermitBudgetGuard;
declare const remoteTokens: TokenBudget;

describe('waiting()', () => {
  test('wraps an in-process guard or token budget in a WaitingGuard', () => {
    expectTypeOf(waiting(new AtomicBudget(1))).toEqualTypeOf<WaitingGuard>();
    expectTypeOf(waiting(new AtomicTokenBudget(1))).toEqualTypeOf<WaitingGuard>();
    expectTypeOf(waiting(tokenBucket({ burst: 5, rate: 5 }))).toEqualTypeOf<WaitingGuard>();
  });

  test('acquire resolves to a synchronous permit; the line is itself a sync guard', () => {
    const line = waiting(new AtomicBudget(1));
    expectTypeOf(line.acquire(1, { timeoutMs: 1_000, priority: 1 })).toEqualTypeOf<
      Promise<SyncBudgetPermit>
    >();
    expectTypeOf(line).toExtend<SyncBudgetGuard>();
    expectTypeOf(line.guard).toEqualTypeOf<SyncBudgetGuard>();
    // @ts-expect-error priority is a number
    void line.acquire(1, { priority: 'high' });
  });

  test('refuses asynchronous guards and token budgets', () => {
    // @ts-expect-error a remote guard cannot be waited on synchronously
    waiting(remote);
    // @ts-expect-error a remote token budget cannot be waited on synchronously
    waiting(remoteTokens);
  });
});

describe('hierarchy child types', () => {
  const global = hierarchy({
    capacity: 1_000_000,
    children: { capacity: 10_000, children: { capacity: 100, children: { capacity: 1 } } },
  });

  test('the root is a HierarchyNode; every node below it is exactly a HierarchyNode', () => {
    expectTypeOf(global).toExtend<HierarchyNode>();
    expectTypeOf(global.child('acme')).toEqualTypeOf<HierarchyNode>();
    expectTypeOf(global.child('bigco', { capacity: 50_000 })).toEqualTypeOf<HierarchyNode>();
    expectTypeOf(global.at('org', 'team', 'user')).toEqualTypeOf<HierarchyNode>();
    expectTypeOf(global.children()).toEqualTypeOf<IterableIterator<HierarchyNode>>();
    expectTypeOf(global.child('acme').child('team')).toEqualTypeOf<HierarchyNode>();
    expectTypeOf(global.parent).toEqualTypeOf<HierarchyNode | null>();
    expectTypeOf(global.path).toEqualTypeOf<string[]>();
  });

  test('a node is a synchronous guard; its denials name a path', () => {
    const acme = global.child('acme');
    expectTypeOf(acme).toExtend<SyncBudgetGuard>();
    expectTypeOf(acme.tryAcquireSync(1)).toEqualTypeOf<SyncBudgetPermit | null>();
    expectTypeOf(acme.tryAcquireDetailedSync(1)).toEqualTypeOf<
      Decision<readonly string[], SyncBudgetPermit>
    >();
    expectTypeOf(allOf({ tenant: acme, rows: new AtomicBudget(1) })).toEqualTypeOf<
      SyncAllOf<'tenant' | 'rows'>
    >();
  });

  test('keys are strings and overrides are a capacity only', () => {
    // @ts-expect-error a child key is a string
    global.child(1);
    // @ts-expect-error an override changes the capacity only
    global.child('acme', { capacity: 10, children: { capacity: 1 } });
    // @ts-expect-error capacities are numbers
    hierarchy({ capacity: 10, children: { capacity: '5' } });
  });
});
