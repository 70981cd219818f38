// An all-of's count API is one pool only when every member's is: an any-of, an all-of with
// fixed charges, or a guard that does not declare `countRelease` returns whole reservations
// only. Over such a member, a release that matches no reservation (8 after 5 and 3, or 2 then
// 3 after 5) was handed to every member: the pools took their units back and the other member
// counted an over-release and kept its own, stranding units nobody could release. The all-of
// now keeps such reservations one by one, as it does for fixed charges: a release must match
// one, or it is ignored and counted, and every member stays as it was.
import { AtomicBudget, AtomicTokenBudget } from '@budgetry/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allOf } from '../src/all-of/all-of.js';
import { anyOf } from '../src/any-of/any-of.js';
import { tokenGuard } from '../src/token-guard/index.js';
import { wrappedGuard } from './helpers/wrapped-guard.js';

describe('allOf over a member that returns whole reservations only', () => {
  it('ignores a release matching no reservation over an any-of, and returns each one whole', () => {
    const rows = new AtomicBudget(100);
    const x = new AtomicBudget(100);
    const y = new AtomicBudget(100);
    const gate = allOf({ rows, pool: anyOf([x, y]) });
    expect(gate.capabilities.countRelease).toBe(false);
    expect(gate.tryReserveSync(5)).toBe(true);
    expect(gate.tryReserveSync(3)).toBe(true);
    gate.releaseSync(8);
    // Nothing moved: the release was counted, and both reservations are still held.
    expect([rows.available(), x.available() + y.available()]).toEqual([92, 192]);
    expect([gate.held(), gate.overReleased()]).toEqual([8, 8]);
    gate.releaseSync(3);
    gate.releaseSync(5);
    expect([rows.available(), x.available(), y.available()]).toEqual([100, 100, 100]);
    expect([gate.held(), gate.overReleased()]).toEqual([0, 8]);
  });

  it('does not split a reservation into smaller releases', () => {
    const rows = new AtomicBudget(100);
    const x = new AtomicBudget(100);
    const pool = anyOf([x, new AtomicBudget(100)]);
    const gate = allOf({ rows, pool });
    expect(gate.tryReserveSync(5)).toBe(true);
    gate.releaseSync(2);
    gate.releaseSync(3);
    expect([rows.available(), x.available(), pool.held(), pool.overReleased()]).toEqual([
      95, 95, 5, 0,
    ]);
    gate.releaseSync(5);
    expect([rows.available(), x.available(), pool.held(), gate.held()]).toEqual([100, 100, 0, 0]);
  });

  it('keeps a nested all-of with fixed charges whole', () => {
    const r = new AtomicBudget(10);
    const t = new AtomicBudget(100);
    const other = new AtomicBudget(100);
    const gate = allOf({ inner: allOf({ r, t }, { charge: { r: 1 } }), other });
    expect(gate.tryReserveSync(5)).toBe(true);
    expect(gate.tryReserveSync(3)).toBe(true);
    gate.releaseSync(8);
    expect([r.available(), t.available(), other.available()]).toEqual([8, 92, 92]);
    gate.releaseSync(5);
    gate.releaseSync(3);
    expect([r.available(), t.available(), other.available(), gate.held()]).toEqual([
      10, 100, 100, 0,
    ]);
  });

  it('keeps a token guard view that keeps a ledger whole', () => {
    const rows = new AtomicBudget(10);
    const tokens = new AtomicTokenBudget(100);
    Object.defineProperty(tokens, 'capabilities', {
      value: { ...tokens.capabilities, countRelease: false },
    });
    const gate = allOf({ rows, tokens: tokenGuard(tokens) });
    expect(gate.tryReserveSync(4)).toBe(true);
    expect(gate.tryReserveSync(2)).toBe(true);
    gate.releaseSync(6);
    expect([rows.available(), tokens.available(), gate.overReleased()]).toEqual([4, 94, 6]);
    gate.releaseSync(4);
    gate.releaseSync(2);
    expect([rows.available(), tokens.available(), gate.held()]).toEqual([10, 100, 0]);
  });

  it('takes a guard that declares no capabilities at its word: whole reservations', () => {
    const rows = new AtomicBudget(20);
    const inner = new AtomicBudget(20);
    const gate = allOf({ rows, guard: wrappedGuard(inner, false) });
    expect(gate.tryReserveSync(5)).toBe(true);
    expect(gate.tryReserveSync(3)).toBe(true);
    gate.releaseSync(8);
    expect([rows.available(), inner.available(), gate.overReleased()]).toEqual([12, 12, 8]);
    gate.releaseSync(5);
    gate.releaseSync(3);
    expect([rows.available(), inner.available()]).toEqual([20, 20]);
  });

  it('still pools a release over members that all declare countRelease', () => {
    const rows = new AtomicBudget(20);
    const inner = new AtomicBudget(20);
    const gate = allOf({ rows, guard: wrappedGuard(inner) });
    expect(gate.capabilities.countRelease).toBe(true);
    expect(gate.tryReserveSync(5)).toBe(true);
    expect(gate.tryReserveSync(3)).toBe(true);
    gate.releaseSync(8);
    expect([rows.available(), inner.available(), gate.held()]).toEqual([20, 20, 0]);
    expect(gate.overReleased()).toBe(0);
  });

  it('keeps working when frozen: whole reservations are kept outside its own fields', () => {
    const rows = new AtomicBudget(10);
    const x = new AtomicBudget(10);
    const gate = Object.freeze(allOf({ rows, pool: anyOf([x]) }));
    expect(gate.tryReserveSync(4)).toBe(true);
    expect([rows.available(), x.available(), gate.held()]).toEqual([6, 6, 4]);
    gate.releaseSync(4);
    expect([rows.available(), x.available(), gate.held()]).toEqual([10, 10, 0]);
  });

  it('keeps every member holding the same and loses nothing, in any order of calls', () => {
    type Op = { kind: 'reserve' | 'release'; cost: number } | { kind: 'outside'; cost: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('reserve' as const), cost: fc.nat(12) }),
      fc.record({ kind: fc.constant('release' as const), cost: fc.nat(12) }),
      fc.record({ kind: fc.constant('outside' as const), cost: fc.nat(4) }),
    );
    fc.assert(
      fc.property(fc.nat(40), fc.array(op, { maxLength: 60 }), (capacity, ops) => {
        const rows = new AtomicBudget(capacity);
        const x = new AtomicBudget(capacity);
        const y = new AtomicBudget(capacity >> 1);
        const gate = allOf({ rows, pool: anyOf([x, y]) });
        const held: number[] = []; // the model: the reservations the all-of holds
        let outside = 0; // units reserved on rows directly, outside the all-of
        let ignored = 0;
        for (const o of ops) {
          if (o.kind === 'reserve') {
            if (gate.tryReserveSync(o.cost)) held.push(o.cost);
          } else if (o.kind === 'release') {
            gate.releaseSync(o.cost);
            const at = held.indexOf(o.cost);
            if (at >= 0) held.splice(at, 1);
            else ignored += o.cost;
          } else if (rows.tryReserveSync(o.cost)) {
            outside += o.cost;
          }
          const total = held.reduce((s, c) => s + c, 0);
          expect(gate.held()).toBe(total);
          expect(gate.overReleased()).toBe(ignored);
          expect(capacity - rows.available()).toBe(total + outside);
          expect(capacity - x.available() + (capacity >> 1) - y.available()).toBe(total);
        }
        for (const c of held) gate.releaseSync(c);
        rows.releaseSync(outside);
        expect([rows.available(), x.available(), y.available()]).toEqual([
          capacity,
          capacity,
          capacity >> 1,
        ]);
      }),
      { numRuns: 300 },
    );
  });
});
