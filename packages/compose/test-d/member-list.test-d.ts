import type { KeyOf, MemberKey, Members } from '@budgetry/compose';
import { AtomicBudget, type SyncBudgetGuard } from '@budgetry/core';
import { describe, expectTypeOf, test } from 'vitest';

describe('member naming', () => {
  test('KeyOf: the string keys of a record, number for any array', () => {
    expectTypeOf<KeyOf<{ rows: unknown; tokens: unknown }>>().toEqualTypeOf<'rows' | 'tokens'>();
    expectTypeOf<KeyOf<Readonly<Record<string, unknown>>>>().toEqualTypeOf<string>();
    expectTypeOf<KeyOf<readonly unknown[]>>().toEqualTypeOf<number>();
    expectTypeOf<KeyOf<readonly [AtomicBudget, AtomicBudget]>>().toEqualTypeOf<number>();
  });

  test('MemberKey: an index or a name', () => {
    expectTypeOf<MemberKey>().toEqualTypeOf<string | number>();
  });

  test('Members: an array or a record, not another collection', () => {
    expectTypeOf<Members<SyncBudgetGuard>>().toEqualTypeOf<
      readonly SyncBudgetGuard[] | Readonly<Record<string, SyncBudgetGuard>>
    >();
    const asArray: Members<SyncBudgetGuard> = [new AtomicBudget(1)];
    const asRecord: Members<SyncBudgetGuard> = { eu: new AtomicBudget(1) };
    // @ts-expect-error a Map is neither an array nor a record
    const asMap: Members<SyncBudgetGuard> = new Map([['eu', new AtomicBudget(1)]]);
    expectTypeOf([asArray, asRecord, asMap]).items.toEqualTypeOf<Members<SyncBudgetGuard>>();
  });
});
