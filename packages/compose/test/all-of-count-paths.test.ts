// allOf's count API takes shortcuts over core budgets: two members get a loop-free path, any
// number of them a tight loop, and a token member's count calls go straight to its
// AtomicTokenBudget instead of through the guard view. These tests drive the shortcuts and the
// general path with the same random histories and compare every member with a model that
// reserves on all members or none and caps releases at what the all-of holds.
import { AtomicBudget, AtomicTokenBudget, BudgetError, TokenBucket } from '@budgetry/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allOf } from '../src/all-of/all-of.js';
import { tokenGuard } from '../src/token-guard/index.js';

type Member = AtomicBudget | AtomicTokenBudget;
type Op = { kind: 'reserve' | 'release'; cost: number };

const opArb: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom('reserve' as const, 'release' as const),
  cost: fc.integer({ min: 0, max: 12 }),
});

/** Members of the given kinds ('a': AtomicBudget, 't': AtomicTokenBudget) and capacities. */
function build(kinds: readonly ('a' | 't')[], capacities: readonly number[]): Member[] {
  return kinds.map((k, i) =>
    k === 'a' ? new AtomicBudget(capacities[i]!) : new AtomicTokenBudget(capacities[i]!),
  );
}

/** A subclass is not core's own class, so allOf takes the general path over it. */
class SlowAtomic extends AtomicBudget {}
class SlowTokens extends AtomicTokenBudget {}

function buildGeneral(kinds: readonly ('a' | 't')[], capacities: readonly number[]): Member[] {
  return kinds.map((k, i) =>
    k === 'a' ? new SlowAtomic(capacities[i]!) : new SlowTokens(capacities[i]!),
  );
}

const shapeArb = fc
  .array(fc.constantFrom('a' as const, 't' as const), { minLength: 1, maxLength: 10 })
  .chain((kinds) =>
    fc.record({
      kinds: fc.constant(kinds),
      capacities: fc.array(fc.integer({ min: 0, max: 30 }), {
        minLength: kinds.length,
        maxLength: kinds.length,
      }),
    }),
  );

describe('allOf count API over core budgets', () => {
  it('charges every member or none and caps releases, on the shortcut and the general path alike', () => {
    fc.assert(
      fc.property(shapeArb, fc.array(opArb, { maxLength: 60 }), ({ kinds, capacities }, ops) => {
        const fast = build(kinds, capacities);
        const slow = buildGeneral(kinds, capacities);
        const fastGate = allOf(fast);
        const slowGate = allOf(slow);
        let held = 0;
        let overReleased = 0;
        for (const op of ops) {
          if (op.kind === 'reserve') {
            const fits = capacities.every((c, i) => fast[i]!.available() >= op.cost && c >= 0);
            expect(fastGate.tryReserveSync(op.cost)).toBe(fits);
            expect(slowGate.tryReserveSync(op.cost)).toBe(fits);
            if (fits) held += op.cost;
          } else {
            fastGate.releaseSync(op.cost);
            slowGate.releaseSync(op.cost);
            const accepted = Math.min(op.cost, held);
            overReleased += op.cost - accepted;
            held -= accepted;
          }
          expect(fast.map((m) => m.available())).toEqual(capacities.map((c) => c - held));
          expect(slow.map((m) => m.available())).toEqual(capacities.map((c) => c - held));
          expect([fastGate.held(), slowGate.held()]).toEqual([held, held]);
          expect([fastGate.overReleased(), slowGate.overReleased()]).toEqual([
            overReleased,
            overReleased,
          ]);
        }
        // Nothing reached a member's own over-release count: the all-of capped every release.
        expect(fast.map((m) => m.overReleased())).toEqual(fast.map(() => 0));
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a bad cost before touching any member, on every path', () => {
    for (const kinds of [['a', 't'], ['a', 't', 'a', 't'], ['a']] as const) {
      const members = build(
        kinds,
        kinds.map(() => 10),
      );
      const gate = allOf(members);
      for (const bad of [-1, 1.5, Number.NaN, 2 ** 53, '3' as unknown as number]) {
        expect(() => gate.tryReserveSync(bad)).toThrow(BudgetError);
        expect(() => gate.releaseSync(bad)).toThrow(BudgetError);
      }
      expect(members.map((m) => m.available())).toEqual(members.map(() => 10));
      expect(gate.held()).toBe(0);
    }
  });

  it('passes on the error of a member whose release fails and still releases every other one', () => {
    const cases = [2, 4, 8, 9].flatMap((size) =>
      [0, 1, size - 1].map((failing) => ({ size, failing })),
    );
    for (const { size, failing } of cases) {
      const members = Array.from({ length: size }, () => new AtomicBudget(10, { strict: true }));
      const gate = allOf(members);
      expect(gate.tryReserveSync(3)).toBe(true);
      // Someone returned a member's units behind the all-of's back: its release now fails.
      members[failing]!.releaseSync(3);
      let error: unknown;
      try {
        gate.releaseSync(3);
      } catch (caught) {
        error = caught;
      }
      // A member's own BudgetError reaches the caller as it is.
      expect(BudgetError.isInstance(error) && error.code).toBe('OVER_RELEASE');
      expect(members.map((m) => m.available())).toEqual(members.map(() => 10));
      expect(gate.held()).toBe(0);
    }
  });

  it('over a token bucket and a budget: a failed release still releases the other member', () => {
    // Two members that fail clean but are not both core budgets: their own count API, in turn.
    const stopped = { now: () => 0, setTimer: () => () => {} };
    for (const failing of [0, 1]) {
      const rows = new AtomicBudget(10, { strict: true });
      const bucket = new TokenBucket({ burst: 10, rate: 1, clock: stopped });
      const gate = allOf(failing === 0 ? [rows, bucket] : [bucket, rows]);
      expect(gate.tryReserveSync(3)).toBe(true);
      rows.releaseSync(3); // returned behind the all-of's back: its release now fails
      const overRelease = expect.objectContaining({ name: 'BudgetError', code: 'OVER_RELEASE' });
      expect(() => gate.releaseSync(3)).toThrow(overRelease);
      expect([rows.available(), bucket.available(), gate.held()]).toEqual([10, 10, 0]);
    }
  });

  it('calls a token budget subclass through its own methods, never around them', () => {
    const calls: string[] = [];
    class Counted extends AtomicTokenBudget {
      override tryReserveSync(cost: number): boolean {
        calls.push(`reserve ${cost}`);
        return super.tryReserveSync(cost);
      }
      override releaseSync(cost: number): void {
        calls.push(`release ${cost}`);
        super.releaseSync(cost);
      }
    }
    const tokens = new Counted(100);
    const gate = allOf({ rows: new AtomicBudget(10), tokens });
    expect(gate.tryReserveSync(4)).toBe(true);
    gate.releaseSync(4);
    expect(calls).toEqual(['reserve 4', 'release 4']);
    expect(tokens.available()).toBe(100);
  });

  it('goes through the guard view when one was given, with the same effect on the budget', () => {
    const tokens = new AtomicTokenBudget(50);
    const gate = allOf([new AtomicBudget(10), tokenGuard(tokens)]);
    expect(gate.tryReserveSync(7)).toBe(true);
    expect(tokens.available()).toBe(43);
    gate.releaseSync(9); // 2 beyond what the all-of holds: ignored by the all-of
    expect(tokens.available()).toBe(50);
    expect(tokens.overReleased()).toBe(0);
    expect(gate.overReleased()).toBe(2);
  });
});
