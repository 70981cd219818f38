// SharedBudget's count API without the lock (src/shared/fast-count.ts): twins on random
// histories, one whose handles all take the lock (an observer on each sends every call
// through it) and one whose handles go around it, must answer alike and hold the same words
// after every call, after reclaims and after closing their handles one by one; and the fast
// path must really be taken.
import {
  BudgetError,
  type BudgetEvent,
  type RefillPolicy,
  SharedBudget,
  type SyncBudgetPermit,
} from '@budgetry/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { closedAfterEach } from './shared/close-after-each.js';
import { locksTaken } from './shared/fast-hooks.js';
import { ManualClock } from './shared/manual-clock.js';

const track = closedAfterEach<SharedBudget>();
const HANDLES = 3;
const CAPACITY = 40;

type Op =
  | { op: 'reserve' | 'release' | 'acquire'; cost: number; via: number }
  | { op: 'settle'; index: number; used: number; commit: boolean }
  | { op: 'refill'; via: number }
  | { op: 'expire'; victim: number };

const via = fc.nat(HANDLES - 1);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ op: fc.constant('reserve' as const), cost: fc.nat(12), via }),
  },
  {
    weight: 6,
    arbitrary: fc.record({ op: fc.constant('release' as const), cost: fc.nat(12), via }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('acquire' as const), cost: fc.nat(12), via }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('settle' as const),
      index: fc.nat(10),
      used: fc.nat(12),
      commit: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('refill' as const), via }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('expire' as const), victim: via }) },
);

function outcome(run: () => unknown): unknown {
  try {
    return { value: run() };
  } catch (error) {
    return { error: BudgetError.isInstance(error) ? error.code : String(error) };
  }
}

/** One twin: a creator and two more handles, all with an observer (`locked`) or none. */
class Twin {
  readonly clock = new ManualClock();
  readonly handles: SharedBudget[];
  readonly permits: SyncBudgetPermit[] = [];
  readonly events: BudgetEvent[] = [];

  constructor(policy: RefillPolicy, strict: boolean, locked: boolean) {
    const options = {
      leakBackstop: false,
      clock: this.clock,
      leaseMs: 1_000,
      ...(locked ? { observer: (e: BudgetEvent) => this.events.push(e) } : {}),
    } as const;
    const creator = track(new SharedBudget(CAPACITY, { ...options, refillPolicy: policy, strict }));
    this.handles = [creator];
    for (let i = 1; i < HANDLES; i++) {
      this.handles.push(SharedBudget.open(creator.share(), options));
    }
  }

  apply(op: Op): unknown {
    const h = op.op === 'settle' || op.op === 'expire' ? undefined : this.handles[op.via]!;
    switch (op.op) {
      case 'reserve':
        return outcome(() => h!.tryReserveSync(op.cost));
      case 'release':
        return outcome(() => h!.releaseSync(op.cost));
      case 'acquire':
        return outcome(() => {
          const permit = h!.tryAcquireSync(op.cost);
          if (permit !== null) this.permits.push(permit);
          return permit === null;
        });
      case 'refill':
        return outcome(() => h!.refill());
      case 'settle': {
        const permit = this.permits[op.index % Math.max(this.permits.length, 1)];
        if (permit === undefined) return 'none';
        return outcome(() => (op.commit ? permit.commitSync(op.used) : permit.releaseSync()));
      }
      case 'expire': {
        // The victim goes silent; a living handle reclaims it once its lease has run out.
        if (op.victim === 0) return 'creator stays';
        const victim = this.handles[op.victim]!;
        (victim as unknown as { region: { stopHeartbeat(): void } }).region.stopHeartbeat();
        this.clock.advance(1_500);
        return outcome(() => this.handles[0]!.reclaimExpired());
      }
    }
  }

  snapshot(): unknown {
    const { lockTakeovers: _, ...rest } = this.handles[0]!.snapshot();
    return rest;
  }
}

describe('the count API without the lock answers as the locked path does', () => {
  for (const policy of ['reset', 'carry'] as RefillPolicy[]) {
    for (const strict of [false, true]) {
      it(`random histories over ${HANDLES} handles (${policy}${strict ? ', strict' : ''})`, () => {
        let fastLocks = 0n;
        let lockedLocks = 0n;
        fc.assert(
          fc.property(fc.array(opArb, { maxLength: 80 }), (ops) => {
            const locked = new Twin(policy, strict, true);
            const fast = new Twin(policy, strict, false);
            for (const op of ops) {
              expect(fast.apply(op), JSON.stringify(op)).toEqual(locked.apply(op));
              expect(fast.snapshot()).toEqual(locked.snapshot());
            }
            fastLocks += locksTaken(fast.handles[0]!);
            lockedLocks += locksTaken(locked.handles[0]!);
            // Each handle's lane gives back what it records as it closes: the same on both.
            for (let i = HANDLES - 1; i >= 1; i--) {
              locked.handles[i]!.close();
              fast.handles[i]!.close();
              expect(fast.snapshot()).toEqual(locked.snapshot());
            }
          }),
          { numRuns: 200 },
        );
        // The twins read their snapshots under the lock, so both take it; the fast one less.
        expect(fastLocks).toBeLessThan(lockedLocks);
      });
    }
  }
});

describe('the fast path', () => {
  it('reserves and releases without taking the lock, exactly', () => {
    const budget = track(new SharedBudget(1_000, { leakBackstop: false }));
    const other = SharedBudget.open(budget.share(), { leakBackstop: false });
    const before = locksTaken(budget);
    for (let i = 0; i < 10_000; i++) {
      expect(other.tryReserveSync(i % 7)).toBe(true);
      other.releaseSync(i % 7);
    }
    for (let i = 0; i < 100; i++) expect(other.tryReserveSync(10)).toBe(true);
    // A denial takes the lock, which folds what the fast word holds.
    expect(other.tryReserveSync(1)).toBe(false);
    expect(locksTaken(budget) - before).toBeLessThan(10n);
    expect(budget.snapshot()).toMatchObject({ available: 0, held: 1_000 });
    other.releaseSync(1_000);
    expect(budget.snapshot()).toMatchObject({ available: 1_000, held: 0, overReleased: 0 });
    other.close();
  });

  it('a handle reclaimed with units it reserved without the lock gives them back once', () => {
    const clock = new ManualClock();
    const options = { leakBackstop: false, clock, leaseMs: 1_000 } as const;
    const budget = track(new SharedBudget(100, options));
    const silent = SharedBudget.open(budget.share(), options);
    for (let i = 0; i < 7; i++) expect(silent.tryReserveSync(3)).toBe(true);
    silent.releaseSync(2);
    expect(budget.snapshot()).toMatchObject({ available: 81, held: 19 });
    (silent as unknown as { region: { stopHeartbeat(): void } }).region.stopHeartbeat();
    clock.advance(1_500);
    expect(budget.reclaimExpired()).toEqual({ handles: 1, units: 19 });
    expect(budget.reclaimExpired()).toEqual({ handles: 0, units: 0 });
    expect(budget.snapshot()).toMatchObject({ available: 100, held: 0 });
    expect(outcome(() => silent.tryReserveSync(1))).toEqual({ error: 'LEASE_EXPIRED' });
    expect(outcome(() => silent.releaseSync(1))).toEqual({ error: 'LEASE_EXPIRED' });
    expect(budget.snapshot()).toMatchObject({ available: 100, held: 0 });
  });

  it('units one handle reserved without the lock and another released are not given back twice', () => {
    const clock = new ManualClock();
    const options = { leakBackstop: false, clock, leaseMs: 1_000 } as const;
    const budget = track(new SharedBudget(50, options));
    const a = SharedBudget.open(budget.share(), options);
    expect(a.tryReserveSync(20)).toBe(true); // recorded on a's lane, without the lock
    budget.releaseSync(15); // the count API is one pool: a's lane stops recording 15 of them
    expect(budget.snapshot()).toMatchObject({ available: 45, held: 5 });
    (a as unknown as { region: { stopHeartbeat(): void } }).region.stopHeartbeat();
    clock.advance(1_500);
    expect(budget.reclaimExpired()).toEqual({ handles: 1, units: 5 });
    expect(budget.snapshot()).toMatchObject({ available: 50, held: 0, overReleased: 0 });
  });

  it('stops at once when the budget is closed by its creator', () => {
    const budget = new SharedBudget(10, { leakBackstop: false });
    const other = SharedBudget.open(budget.share(), { leakBackstop: false });
    expect(other.tryReserveSync(2)).toBe(true);
    other.releaseSync(2);
    budget.close();
    expect(outcome(() => other.tryReserveSync(1))).toEqual({ error: 'CLOSED' });
    expect(outcome(() => other.releaseSync(1))).toEqual({ error: 'CLOSED' });
  });

  it('a refill fences off what was reserved without the lock in the ended epoch (reset)', () => {
    const budget = track(new SharedBudget(10, { leakBackstop: false }));
    const other = SharedBudget.open(budget.share(), { leakBackstop: false });
    expect(other.tryReserveSync(6)).toBe(true);
    budget.refill();
    expect(budget.snapshot()).toMatchObject({ available: 10, held: 0, epoch: 1 });
    other.releaseSync(6); // units of the ended epoch: over-released, not refunded
    expect(budget.snapshot()).toMatchObject({ available: 10, held: 0, overReleased: 6 });
    expect(other.tryReserveSync(10)).toBe(true);
    expect(other.tryReserveSync(1)).toBe(false);
    other.close();
    expect(budget.snapshot()).toMatchObject({ available: 10, held: 0 });
  });
});
