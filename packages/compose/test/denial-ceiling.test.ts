import {
  AtomicBudget,
  AtomicTokenBudget,
  type SyncBudgetGuard,
  type SyncBudgetPermit,
  SyncGuardBase,
  type TokenBudget,
} from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { allOf, anyOf, coordinator, hierarchy, tokenGuard, waiting } from '../src/index.js';
import { ceilingOf } from '../src/internal/ceiling.js';
import { remoteGuard } from './helpers/remote-guard.js';

/**
 * A user's own guard that caps what it lends out of an inner pool, and happens to have the
 * names a waiting line has (`guard`, `pending`, `notify`, `acquire`): its bound is its own
 * capacity, whatever it wraps.
 */
class CappedPool extends SyncGuardBase implements SyncBudgetGuard {
  readonly guard = new AtomicBudget(100);
  readonly capabilities = this.guard.capabilities;
  pending = 0;
  constructor(readonly capacity: number) {
    super();
  }
  notify(): void {}
  async acquire(): Promise<void> {}
  available(): number {
    return Math.min(this.capacity, this.guard.available());
  }
  tryReserveSync(cost: number): boolean {
    return cost <= this.capacity && this.guard.tryReserveSync(cost);
  }
  releaseSync(cost: number): void {
    this.guard.releaseSync(cost);
  }
  tryAcquireSync(cost: number): SyncBudgetPermit | null {
    return cost <= this.capacity ? this.guard.tryAcquireSync(cost) : null;
  }
}

/** A token budget with only the Promise API, as a remote one has. */
function remoteTokens(inner: AtomicTokenBudget): TokenBudget & { readonly capacity: number } {
  return {
    capacity: inner.capacity,
    tryReserveTokens: (estimate) => inner.tryReserveTokens(estimate),
    recordUsage: (r, prompt, completion) => inner.recordUsage(r, prompt, completion),
    tokensConsumed: () => inner.tokensConsumed(),
  };
}

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

  it('reads a guard of a user’s by its own capacity, whatever names it has', () => {
    const gate = allOf({ pool: new CappedPool(5), rows: new AtomicBudget(100) });
    expect(gate.tryAcquireDetailedSync(6)).toEqual({
      ok: false,
      deniedBy: 'pool',
      exceedsCapacity: true,
    });
    expect(gate.tryAcquireDetailedSync(5).ok).toBe(true);
  });

  it('looks through asynchronous all-ofs, any-ofs and token guards too', async () => {
    const tree = hierarchy({ capacity: 10, children: { capacity: 100 } });
    const remote = remoteGuard(new AtomicBudget(1_000));
    // An all-of with a remote member is asynchronous; it is bounded by the tenant's path.
    const inner = allOf({ tenant: tree.child('t'), remote });
    const outer = allOf({ inner, rows: new AtomicBudget(1_000) });
    expect(await outer.tryAcquireDetailed(50)).toEqual({
      ok: false,
      deniedBy: 'inner',
      exceedsCapacity: true,
    });
    const slots = allOf({ s: new AtomicBudget(2), remote }, { charge: { s: 3 } });
    const llm = coordinator({ slots, rows: new AtomicBudget(10) });
    expect(await llm.tryReserve({ slots: 1, rows: 1 })).toEqual({
      ok: false,
      deniedBy: 'slots',
      exceedsCapacity: true,
    });
    const tokens = remoteTokens(new AtomicTokenBudget(5));
    const three = Object.defineProperty(remoteGuard(new AtomicBudget(3)), 'capacity', { value: 3 });
    const either = anyOf({ tokens, three });
    const gate = allOf({ either, rows: new AtomicBudget(100) });
    expect(await gate.tryAcquireDetailed(6)).toEqual({
      ok: false,
      deniedBy: 'either',
      exceedsCapacity: true,
    });
    const withTokens = allOf({ tokens, rows: new AtomicBudget(100) });
    expect(await withTokens.tryAcquireDetailed(6)).toEqual({
      ok: false,
      deniedBy: 'tokens',
      exceedsCapacity: true,
    });
    // Within every bound: granted.
    const permit = await gate.tryAcquire(5);
    expect(permit).not.toBeNull();
    await permit!.release();
  });

  it('takes a member that states no capacity as bounding nothing', async () => {
    // The remote guard of these tests states no capacity, as a Redis hierarchy node does not.
    const unknown = remoteGuard(new AtomicBudget(3));
    const gate = allOf({ rows: new AtomicBudget(100), unknown });
    expect(await gate.tryAcquireDetailed(4)).toEqual({ ok: false, deniedBy: 'unknown' });
    expect(await gate.tryAcquireDetailed(101)).toEqual({
      ok: false,
      deniedBy: 'rows',
      exceedsCapacity: true,
    });
    // An any-of with such a member could grant anything, as far as anyone here knows.
    const either = allOf({ either: anyOf({ unknown, two: new AtomicBudget(2) }) });
    expect(await either.tryAcquireDetailed(4)).toEqual({ ok: false, deniedBy: 'either' });
    // Its ceiling is no bound at all, so a waiting line over it waits instead of refusing.
    expect(ceilingOf(anyOf({ unknown, two: new AtomicBudget(2) }))).toBe(Infinity);
  });
});
