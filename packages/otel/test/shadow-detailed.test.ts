// A shadow's detailed reservations (an all-of's, an any-of's, a hierarchy node's
// `tryAcquireDetailed…` and `tryAcquireEach…`): decided as the policy decides, enforced never,
// and reported with what the policy said.
import { allOf, anyOf, hierarchy, type SyncAllOf } from '@budgetry/compose';
import {
  AtomicBudget,
  BudgetError,
  type BudgetPermit,
  type PermitBudgetGuard,
  tokenBucket,
} from '@budgetry/core';
import { FakeClock } from '@budgetry/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { type ShadowEvent, shadow } from '../src/index.js';
import { type Harness, harness } from './harness.js';

type Shadowed = SyncAllOf<'rows' | 'slots'>;

function shadowed<B extends object>(budget: B) {
  const events: ShadowEvent[] = [];
  return { events, budget: shadow(budget, { name: 'policy', observer: (e) => events.push(e) }) };
}

/** `guard` seen only through its asynchronous methods, so an all-of of it is asynchronous. */
function asyncOnly(guard: AtomicBudget): PermitBudgetGuard {
  return {
    capacity: guard.capacity,
    available: () => guard.available(),
    tryAcquire: (cost) => guard.tryAcquire(cost),
    tryReserve: (cost) => guard.tryReserve(cost),
    release: (cost) => guard.release(cost),
  } as PermitBudgetGuard;
}

describe('shadow, detailed reservations', () => {
  it('grants what an all-of denies on a phantom permit, reporting the member that denied', () => {
    const rows = new AtomicBudget(10);
    const slots = new AtomicBudget(2);
    const { budget, events } = shadowed(allOf({ rows, slots }));
    const real = budget.tryAcquireDetailedSync(2);
    expect(real.ok && real.permit.state).toBe('held');
    const passed = budget.tryAcquireDetailedSync(1); // slots is full
    expect(Object.keys(passed)).toEqual(['ok', 'permit']);
    if (!passed.ok) throw new Error('a shadow never denies');
    expect(passed.permit).toMatchObject({ cost: 1, state: 'held' });
    expect(events).toEqual([
      { type: 'pass', shadow: 'policy', cost: 1, reason: 'denied', deniedBy: 'slots' },
    ]);
    expect(rows.available()).toBe(8); // charged what it admitted, nothing for the pass
    expect(slots.available()).toBe(0);
    expect(passed.permit.commitSync(1)).toBe(true);
    expect(passed.permit.commitSync(1)).toBe(false); // settles once
    expect(passed.permit.releaseSync()).toBe(false);
    expect(events.slice(1)).toEqual([{ type: 'pass-settle', shadow: 'policy', cost: 1, used: 1 }]);
    if (real.ok) real.permit.releaseSync();
    expect([rows.available(), slots.available()]).toEqual([10, 2]);
  });

  it('passes a per-member reservation the policy denies, at the sum of its costs', async () => {
    const rows = new AtomicBudget(10);
    const slots = new AtomicBudget(1);
    const { budget, events } = shadowed(allOf({ rows, slots }));
    expect(budget.tryAcquireEachSync({ rows: 4, slots: 1 }).ok).toBe(true);
    const sync = budget.tryAcquireEachSync({ rows: 3, slots: 1 });
    const async = await budget.tryAcquireEach([2, 1]);
    expect([sync.ok, async.ok]).toEqual([true, true]);
    if (!sync.ok || !async.ok) return;
    expect([sync.permit.cost, async.permit.cost]).toEqual([4, 3]);
    expect(events).toEqual([
      { type: 'pass', shadow: 'policy', cost: 4, reason: 'denied', deniedBy: 'slots' },
      { type: 'pass', shadow: 'policy', cost: 3, reason: 'denied', deniedBy: 'slots' },
    ]);
    await sync.permit.release();
    await async.permit.commit(2);
    expect(events.slice(2).map((e) => e.type === 'pass-settle' && e.used)).toEqual([0, 2]);
    expect([rows.available(), slots.available()]).toEqual([6, 0]);
  });

  it('passes the denials of an asynchronous all-of, saying when a retry could succeed', async () => {
    const clock = new FakeClock();
    const rpm = tokenBucket({ burst: 1, rate: 1, clock });
    const rows = new AtomicBudget(10);
    const { budget, events } = shadowed(allOf({ rows: asyncOnly(rows), rpm }));
    expect((await budget.tryAcquireDetailed(1)).ok).toBe(true);
    const passed = await budget.tryAcquireDetailed(1);
    const each = await budget.tryAcquireEach({ rows: 20 }); // more than rows can ever hold
    expect([passed.ok, each.ok]).toEqual([true, true]);
    expect(events).toEqual([
      {
        type: 'pass',
        shadow: 'policy',
        cost: 1,
        reason: 'denied',
        deniedBy: 'rpm',
        retryAfterMs: 1_000,
      },
      {
        type: 'pass',
        shadow: 'policy',
        cost: 20,
        reason: 'denied',
        deniedBy: 'rows',
        exceedsCapacity: true,
      },
    ]);
    expect(rows.available()).toBe(9);
  });

  it('passes what every member of an any-of denies, naming them all', async () => {
    const clock = new FakeClock();
    const east = tokenBucket({ burst: 1, rate: 1, clock });
    const west = new AtomicBudget(1);
    const { budget, events } = shadowed(anyOf({ east, west }));
    budget.tryAcquireSync(1);
    budget.tryAcquireSync(1);
    const sync = budget.tryAcquireDetailedSync(1);
    const async = await budget.tryAcquireDetailed(1);
    expect([sync.ok, async.ok]).toEqual([true, true]);
    const denied = {
      type: 'pass',
      shadow: 'policy',
      cost: 1,
      reason: 'denied',
      deniedBy: ['east', 'west'],
      retryAfterMs: 1_000,
    };
    expect(events).toEqual([denied, denied]);
  });

  it('passes what a hierarchy node denies, naming the node’s path', async () => {
    const root = hierarchy({ capacity: 10, children: { capacity: 2 } });
    const { budget, events } = shadowed(root.child('acme'));
    const passed = budget.tryAcquireDetailedSync(3);
    expect(passed.ok).toBe(true);
    expect((await budget.tryAcquireDetailed(2)).ok).toBe(true); // the policy's own
    expect(events).toEqual([
      {
        type: 'pass',
        shadow: 'policy',
        cost: 3,
        reason: 'denied',
        deniedBy: ['acme'],
        exceedsCapacity: true,
      },
    ]);
    expect(root.available()).toBe(8);
  });

  it('lets the work through when the policy fails, and reports the failure', async () => {
    const down = new BudgetError({ code: 'BACKEND', message: 'redis down' });
    const broken = new AtomicBudget(10);
    broken.tryAcquireSync = () => {
      throw down;
    };
    const { budget, events } = shadowed(allOf({ broken, rows: new AtomicBudget(10) }));
    const sync = budget.tryAcquireDetailedSync(2);
    const each = await budget.tryAcquireEach({ broken: 1, rows: 1 });
    expect([sync.ok, each.ok]).toEqual([true, true]);
    expect(events).toEqual([
      { type: 'pass', shadow: 'policy', cost: 2, reason: 'failed', error: expect.anything() },
      { type: 'pass', shadow: 'policy', cost: 2, reason: 'failed', error: expect.anything() },
    ]);
  });

  it.each([
    ['a negative cost', (b: Shadowed) => b.tryAcquireDetailedSync(-1), 'INVALID_AMOUNT'],
    ['a fraction', (b: Shadowed) => b.tryAcquireDetailed(1.5), 'INVALID_AMOUNT'],
    [
      'a member that is not one',
      (b: Shadowed) => b.tryAcquireEachSync({ nope: 1 } as never),
      'INVALID_ARGUMENT',
    ],
    ['too few costs', (b: Shadowed) => b.tryAcquireEach([1]), 'INVALID_ARGUMENT'],
    ['a bad member cost', (b: Shadowed) => b.tryAcquireEachSync({ rows: -2 }), 'INVALID_AMOUNT'],
    [
      'costs that are not a list',
      (b: Shadowed) => b.tryAcquireEachSync(5 as never),
      'INVALID_ARGUMENT',
    ],
    [
      'costs summing past 2^53 − 1',
      (b: Shadowed) => b.tryAcquireEachSync([Number.MAX_SAFE_INTEGER, 1]),
      'INVALID_AMOUNT',
    ],
  ])(
    'rejects %s as the policy does, changing nothing and reporting nothing',
    async (_, call, code) => {
      const rows = new AtomicBudget(10);
      const slots = new AtomicBudget(0);
      const { budget, events } = shadowed(allOf({ rows, slots }));
      await expect(Promise.resolve().then(() => call(budget))).rejects.toMatchObject({ code });
      expect(events).toEqual([]);
      expect([rows.available(), slots.available()]).toEqual([10, 0]);
    },
  );
});

describe('shadow, detailed reservations, traced and watched', () => {
  let h: Harness;
  afterEach(async () => {
    await h.shutdown();
  });

  it('spans a pass as passed, and counts it with the member that denied', async () => {
    h = harness();
    const slots = new AtomicBudget(1);
    const policy = shadow(allOf({ rows: new AtomicBudget(10), slots }), { name: 'policy' });
    h.telemetry.watch(policy, { name: 'both' });
    const traced = h.telemetry.traceBudget(policy, { name: 'both' });
    const permits: BudgetPermit[] = [];
    for (const d of [
      traced.tryAcquireDetailedSync(1),
      traced.tryAcquireDetailedSync(1),
      await traced.tryAcquireEach({ rows: 2, slots: 1 }),
    ]) {
      if (d.ok) permits.push(d.permit);
    }
    expect(permits).toHaveLength(3);
    expect(h.spans().map((s) => s.attributes['budgetry.outcome'])).toEqual([
      'granted',
      'passed',
      'passed',
    ]);
    expect(
      await h.value('budgetry.shadow.passes', {
        'budgetry.budget': 'both',
        'budgetry.denied_by': 'slots',
      }),
    ).toBe(2);
    expect(await h.value('budgetry.shadow.passed', { 'budgetry.budget': 'both' })).toBe(4);
  });
});
