// An all-of whose own state was made read-only (Object.freeze) cannot write down what its count
// API holds. Every shape — the in-place paths over core budgets, the clean pair, the probed pair,
// the general loops — must then refuse with a typed error and leave every member as it was:
// charging the members and failing to record it would strand units nobody can release.
import {
  AtomicBudget,
  AtomicTokenBudget,
  BudgetError,
  type SyncBudgetGuard,
  TokenBucket,
} from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { allOf } from '../src/all-of/all-of.js';
import { wrappedGuard } from './helpers/wrapped-guard.js';

class Subclassed extends AtomicBudget {}

/** A clock that never moves: the token bucket refills nothing during the test. */
const stopped = { now: () => 0, setTimer: () => () => {} };

/** A member allOf cannot trust to fail clean: its availability is read before it is charged. */
const untrusted = (capacity: number) => wrappedGuard(new AtomicBudget(capacity));

const shapes: [string, () => (SyncBudgetGuard | AtomicTokenBudget)[]][] = [
  ['one core budget', () => [new AtomicBudget(50)]],
  ['a core pair', () => [new AtomicBudget(50), new AtomicTokenBudget(60)]],
  [
    'a clean pair (token bucket)',
    () => [new AtomicBudget(50), new TokenBucket({ burst: 60, rate: 1, clock: stopped })],
  ],
  ['a subclassed pair', () => [new Subclassed(50), new Subclassed(60)]],
  ['a probed pair', () => [new AtomicBudget(50), untrusted(60)]],
  ['three members, one probed', () => [new AtomicBudget(50), untrusted(60), new Subclassed(70)]],
  ['four core budgets', () => Array.from({ length: 4 }, (_, i) => new AtomicBudget(50 + i))],
  ['six core budgets', () => Array.from({ length: 6 }, (_, i) => new AtomicBudget(50 + i))],
  ['eleven core budgets', () => Array.from({ length: 11 }, (_, i) => new AtomicBudget(50 + i))],
  ['three subclassed', () => Array.from({ length: 3 }, (_, i) => new Subclassed(50 + i))],
];

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('a frozen all-of', () => {
  it.each(shapes)('over %s refuses to reserve or release, and no member changes', (_, make) => {
    const members = make();
    const gate = allOf(members);
    expect(gate.tryReserveSync(7)).toBe(true); // held before it was frozen
    Object.freeze(gate);
    const before = members.map((m) => m.available());

    const reserving = caught(() => gate.tryReserveSync(5));
    expect(BudgetError.isInstance(reserving) && reserving.code).toBe('BACKEND');
    expect((reserving as Error).message).toMatch(/nothing was charged/);
    expect(members.map((m) => m.available())).toEqual(before);

    const releasing = caught(() => gate.releaseSync(7));
    expect(BudgetError.isInstance(releasing) && releasing.code).toBe('BACKEND');
    expect((releasing as Error).message).toMatch(/nothing was released/);
    expect(members.map((m) => m.available())).toEqual(before);
    expect(gate.held()).toBe(7);

    // Permits keep their parts themselves: they still work.
    const permit = gate.tryAcquireSync(5);
    expect(members.map((m) => m.available())).toEqual(before.map((a) => a - 5));
    permit?.releaseSync();
    expect(members.map((m) => m.available())).toEqual(before);
  });

  it.each(shapes)('over %s takes a release of 0 as the no-op it is', (_, make) => {
    const gate = Object.freeze(allOf(make()));
    expect(() => gate.releaseSync(0)).not.toThrow();
    expect(gate.tryReserveSync(0)).toBe(true);
  });

  it('with fixed charges keeps its ledger outside itself: matching releases still work', () => {
    const rows = new AtomicBudget(10);
    const tokens = new AtomicTokenBudget(100);
    const gate = Object.freeze(allOf({ rows, tokens }, { charge: { rows: 1 } }));
    expect(gate.tryReserveSync(30)).toBe(true);
    expect([rows.available(), tokens.available(), gate.held()]).toEqual([9, 70, 30]);
    // A release that matches no reservation would be counted as over-released: it cannot be.
    const unmatched = caught(() => gate.releaseSync(31));
    expect(BudgetError.isInstance(unmatched) && unmatched.code).toBe('BACKEND');
    expect([rows.available(), tokens.available(), gate.held(), gate.overReleased()]).toEqual([
      9, 70, 30, 0,
    ]);
    gate.releaseSync(30);
    expect([rows.available(), tokens.available(), gate.held()]).toEqual([10, 100, 0]);
  });
});

describe('an all-of whose over-release count alone is read-only', () => {
  it.each(shapes)(
    'over %s refuses an over-release whole, and a release that fits still works',
    (_, make) => {
      const members = make();
      const gate = allOf(members);
      const before = members.map((m) => m.available());
      expect(gate.tryReserveSync(7)).toBe(true);
      Object.defineProperty(gate, 'overReleasedUnits', { writable: false });
      const over = caught(() => gate.releaseSync(8));
      expect(BudgetError.isInstance(over) && over.message).toMatch(/nothing was released/);
      expect(members.map((m) => m.available())).toEqual(before.map((a) => a - 7));
      expect([gate.held(), gate.overReleased()]).toEqual([7, 0]);
      gate.releaseSync(7);
      expect(members.map((m) => m.available())).toEqual(before);
      expect(gate.held()).toBe(0);
    },
  );
});

describe('a frozen all-of whose undo fails', () => {
  it('names the member that kept its share instead of saying nothing was charged', () => {
    const a = new AtomicBudget(10);
    const b = new TokenBucket({ burst: 10, rate: 1, clock: stopped });
    const gate = allOf({ a, b });
    (b as unknown as { releaseSync: () => void }).releaseSync = () => {
      throw new Error('release refused');
    };
    Object.freeze(gate);
    const error = caught(() => gate.tryReserveSync(5));
    expect(BudgetError.isInstance(error) && error.code).toBe('BACKEND');
    expect((error as BudgetError).details?.['member']).toBe('b');
    expect((error as Error).message).toMatch(/failed at member b/);
    expect([a.available(), b.available()]).toEqual([10, 5]); // a was given back; b kept its 5
  });

  it("names the member by its key when the member's own BudgetError names none", () => {
    const a = new AtomicBudget(10);
    const b = new TokenBucket({ burst: 10, rate: 1, clock: stopped });
    const gate = allOf({ a, b });
    (b as unknown as { releaseSync: () => void }).releaseSync = () => {
      throw new BudgetError({ code: 'BACKEND', message: 'remote down' });
    };
    Object.freeze(gate);
    const error = caught(() => gate.tryReserveSync(5));
    expect((error as BudgetError).details?.['member']).toBe('b');
    expect((error as Error).message).toMatch(/failed at member b:/);
    expect((error as BudgetError).cause).toBeInstanceOf(BudgetError);
    expect([a.available(), b.available()]).toEqual([10, 5]);
  });

  it('names its own member, not the member of a nested all-of that failed', () => {
    const a = new AtomicBudget(10);
    const y = new TokenBucket({ burst: 10, rate: 1, clock: stopped });
    (y as unknown as { releaseSync: () => void }).releaseSync = () => {
      throw new Error('release refused');
    };
    const gate = Object.freeze(allOf({ a, inner: allOf({ x: new AtomicBudget(10), y }) }));
    const error = caught(() => gate.tryReserveSync(5));
    expect((error as BudgetError).details?.['member']).toBe('inner');
    expect(((error as BudgetError).cause as BudgetError).details?.['member']).toBe('y');
    expect(a.available()).toBe(10);
  });
});
