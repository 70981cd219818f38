// What allOf's in-place path over core budgets must leave alone: a member whose method was
// replaced by anything (null included) while an observer listens, a subclass with a method of
// its own named like core's private setter, and a budget's clonability.
import { AtomicBudget, AtomicTokenBudget, BudgetError } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { allOf } from '../src/all-of/all-of.js';

const kinds = [
  ['AtomicBudget', (c: number) => new AtomicBudget(c, { leakBackstop: false })],
  ['AtomicTokenBudget', (c: number) => new AtomicTokenBudget(c, { leakBackstop: false })],
] as const;

describe.each(kinds)('allOf over %s members', (_, make) => {
  it.each([2, 4, 8, 9])(
    'calls a method set to null on an observed member (%i members), and changes nothing',
    (width) => {
      const members = Array.from({ length: width }, () => make(10));
      const gate = allOf(members);
      const events: string[] = [];
      members[0]!.subscribe((e) => events.push(e.type));
      (members[0] as unknown as { tryReserveSync: null }).tryReserveSync = null;
      expect(() => gate.tryReserveSync(3)).toThrow(BudgetError);
      expect(members.map((m) => m.available())).toEqual(members.map(() => 10));
      expect(events).toEqual([]);
    },
  );

  it('calls a releaseSync set to null on an observed member, which keeps its units', () => {
    const members = Array.from({ length: 9 }, () => make(10));
    const gate = allOf(members);
    expect(gate.tryReserveSync(3)).toBe(true);
    const events: string[] = [];
    members[8]!.subscribe((e) => events.push(e.type));
    (members[8] as unknown as { releaseSync: null }).releaseSync = null;
    // The release goes through the members' methods: the others give their units back, the
    // one whose method is gone throws and keeps them, and nobody is told of a release.
    expect(() => gate.releaseSync(3)).toThrow(BudgetError);
    expect(members[8]!.available()).toBe(7);
    expect(events).toEqual([]);
  });

  it('keeps telling the observers of a subclass that has a watch method of its own', () => {
    const seen: string[] = [];
    const Sub = class extends (make(1).constructor as new (c: number, o: object) => AtomicBudget) {
      watch(): void {}
    };
    const s = new Sub(10, {
      observer: (e: { type: string }) => seen.push(e.type),
      leakBackstop: false,
    });
    s.subscribe((e) => seen.push(`sub:${e.type}`));
    expect(s.tryReserveSync(1)).toBe(true);
    s.releaseSync(1);
    expect(seen).toEqual(['reserve', 'sub:reserve', 'release', 'sub:release']);
  });
});

describe('an idle AtomicBudget', () => {
  it('clones and serialises without the count API bookkeeping', () => {
    const b = new AtomicBudget(5, { observer: () => {}, leakBackstop: false });
    expect(() => structuredClone(new AtomicBudget(5))).not.toThrow();
    expect(JSON.stringify(b)).not.toMatch(/count(Reserve|Release)/);
  });
});
