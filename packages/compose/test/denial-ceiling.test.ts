import { AtomicBudget, AtomicTokenBudget } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { allOf, anyOf, coordinator, hierarchy, tokenGuard, waiting } from '../src/index.js';

/**
 * A denial says `exceedsCapacity` when no wait could ever admit the cost. These members are
 * combinators and wrappers whose own `capacity` is not what bounds them: the denial has to
 * look through what they are made of, as a waiting line does.
 */
describe('a denial looks through nested members for what could ever be granted', () => {
  it('an all-of inside an all-of whose fixed charge is above its member’s capacity admits nothing', async () => {
    const rows = new AtomicBudget(10);
    const slots = new AtomicBudget(2);
    // Every reservation takes 3 slots out of 2: the inner all-of can never grant a cost above 0.
    const inner = allOf({ rows, slots }, { charge: { slots: 3 } });
    const outer = allOf({ inner, tokens: new AtomicBudget(100) });
    expect(outer.tryAcquireDetailedSync(1)).toEqual({
      ok: false,
      deniedBy: 'inner',
      exceedsCapacity: true,
    });
    expect([rows.available(), slots.available()]).toEqual([10, 2]);
    // A waiting line over the same composition refuses the same cost at once.
    const line = waiting(outer);
    await expect(line.acquire(1)).rejects.toMatchObject({ code: 'EXCEEDS_CAPACITY' });
  });

  it('a hierarchy node inside an all-of is bounded by its path, not its own capacity', () => {
    const tree = hierarchy({ capacity: 10, children: { capacity: 100 } });
    const tenant = tree.child('t');
    const gate = allOf({ tenant: allOf({ tenant }), rows: new AtomicBudget(1_000) });
    // 50 fits the tenant's own capacity (100) but never the root's (10).
    expect(gate.tryAcquireDetailedSync(50)).toEqual({
      ok: false,
      deniedBy: 'tenant',
      exceedsCapacity: true,
    });
    // 10 could be granted once the root has room again: no flag.
    const held = tree.child('other').tryAcquireSync(5)!;
    expect(gate.tryAcquireDetailedSync(10)).toEqual({ ok: false, deniedBy: 'tenant' });
    held.releaseSync();
    expect(gate.tryAcquireDetailedSync(10).ok).toBe(true);
  });

  it('an any-of member is bounded by its largest member’s ceiling, a token guard’s included', () => {
    const tree = hierarchy({ capacity: 10, children: { capacity: 100 } });
    const tokens = new AtomicTokenBudget(8);
    const either = anyOf({ tenant: tree.child('t'), tokens: tokenGuard(tokens) });
    const gate = allOf({ either, rows: new AtomicBudget(1_000) });
    // The tenant's path allows 10 at most, the token budget 8: 20 is beyond either.
    expect(gate.tryAcquireDetailedSync(20)).toEqual({
      ok: false,
      deniedBy: 'either',
      exceedsCapacity: true,
    });
    // 9 is beyond the tokens but within the tenant's path: denied now, never flagged.
    const held = tree.child('other').tryAcquireSync(5)!;
    const denied = gate.tryAcquireDetailedSync(9);
    expect(denied).toMatchObject({ ok: false, deniedBy: 'either' });
    expect(denied).not.toHaveProperty('exceedsCapacity');
    held.releaseSync();
    expect(gate.tryAcquireDetailedSync(9).ok).toBe(true);
  });

  it('a coordinator’s dimension made of combinators says it too', () => {
    const tree = hierarchy({ capacity: 5, children: { capacity: 50 } });
    const rows = allOf({ tenant: tree.child('t'), table: new AtomicBudget(1_000) });
    const llm = coordinator({ rows, tokens: new AtomicTokenBudget(100) });
    expect(llm.tryReserveSync({ rows: 20, tokens: 1 })).toEqual({
      ok: false,
      deniedBy: 'rows',
      exceedsCapacity: true,
    });
    expect(llm.tryReserveSync({ rows: 5, tokens: 1 }).ok).toBe(true);
  });
});
