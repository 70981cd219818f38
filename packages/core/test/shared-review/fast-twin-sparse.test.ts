// Review of the count API without the lock: twins on random histories (one with an observer
// on every handle, which sends each call through the lock; one without), as in
// shared-fast-count.test.ts, but the snapshot that takes the lock is read only now and then,
// so many lock-free calls share one sequence of the fast word. The histories also mix in a
// striped handle, handles closed and opened again on freed lanes, costs around the fast
// path's limits (2^28 per call, 2^30 pending) and capacities up to 2^53 - 1.
import {
  BudgetError,
  type BudgetEvent,
  type RefillPolicy,
  SharedBudget,
  StripedSharedBudget,
  type SyncBudgetPermit,
} from '@budgetry/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { locksTaken } from '../shared/fast-hooks.js';
import { ManualClock } from '../shared/manual-clock.js';

const HANDLES = 4; // creator, two plain handles, one striped handle (index 3)
const BIG = [2 ** 28 - 1, 2 ** 28, 2 ** 28 + 1, 2 ** 30 - 1, 2 ** 30, 2 ** 30 + 1, 2 ** 31];

type Op =
  | { op: 'reserve' | 'release' | 'acquire'; cost: number; via: number }
  | { op: 'settle'; index: number; used: number; commit: boolean }
  | { op: 'refill' | 'check'; via: number }
  | { op: 'expire' | 'reopen'; victim: number };

const via = fc.nat(HANDLES - 1);
const victim = fc.integer({ min: 1, max: 2 });
const cost = fc.oneof(
  { weight: 8, arbitrary: fc.nat(12) },
  { weight: 2, arbitrary: fc.constantFrom(...BIG) },
  { weight: 1, arbitrary: fc.nat(2 ** 29) },
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ op: fc.constant('reserve' as const), cost, via }) },
  { weight: 8, arbitrary: fc.record({ op: fc.constant('release' as const), cost, via }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('acquire' as const), cost, via }) },
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
  { weight: 1, arbitrary: fc.record({ op: fc.constant('check' as const), via }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('expire' as const), victim }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('reopen' as const), victim }) },
);

function outcome(run: () => unknown): unknown {
  try {
    return { value: run() };
  } catch (error) {
    return { error: BudgetError.isInstance(error) ? error.code : String(error) };
  }
}

class Twin {
  readonly clock = new ManualClock();
  readonly handles: SharedBudget[];
  readonly permits: SyncBudgetPermit[] = [];
  private readonly options: object;
  private readonly creator: SharedBudget;

  constructor(capacity: number, policy: RefillPolicy, strict: boolean, locked: boolean) {
    this.options = {
      leakBackstop: false,
      clock: this.clock,
      leaseMs: 1_000,
      ...(locked ? { observer: (_: BudgetEvent) => {} } : {}),
    };
    const creator = new SharedBudget(capacity, { ...this.options, refillPolicy: policy, strict });
    this.creator = creator;
    this.handles = [creator, this.open(), this.open()];
    this.handles.push(StripedSharedBudget.open(creator.share(), { ...this.options, slice: 5 }));
  }

  private open(): SharedBudget {
    return SharedBudget.open(this.creator.share(), this.options);
  }

  apply(op: Op): unknown {
    switch (op.op) {
      case 'reserve':
        return outcome(() => this.handles[op.via]!.tryReserveSync(op.cost));
      case 'release':
        return outcome(() => this.handles[op.via]!.releaseSync(op.cost));
      case 'acquire':
        return outcome(() => {
          const permit = this.handles[op.via]!.tryAcquireSync(op.cost);
          if (permit !== null) this.permits.push(permit);
          return permit === null;
        });
      case 'refill':
        return outcome(() => this.handles[op.via]!.refill());
      case 'check':
        return this.snapshot();
      case 'settle': {
        const permit = this.permits[op.index % Math.max(this.permits.length, 1)];
        if (permit === undefined) return 'none';
        return outcome(() => (op.commit ? permit.commitSync(op.used) : permit.releaseSync()));
      }
      case 'expire': {
        const silent = this.handles[op.victim]!;
        (silent as unknown as { region: { stopHeartbeat(): void } }).region.stopHeartbeat();
        this.clock.advance(1_500);
        return outcome(() => this.handles[0]!.reclaimExpired());
      }
      case 'reopen': {
        // Closes the victim (or finds it reclaimed) and opens a fresh handle, on a freed lane.
        this.handles[op.victim]!.close();
        this.handles[op.victim] = this.open();
        return this.snapshot();
      }
    }
  }

  snapshot(): unknown {
    const { lockTakeovers: _, ...rest } = this.handles[0]!.snapshot();
    return rest;
  }
}

describe('twins with lock-free calls piling up between locks', () => {
  const capacities = fc.constantFrom(40, 2 ** 31 + 5, Number.MAX_SAFE_INTEGER);
  for (const policy of ['reset', 'carry'] as RefillPolicy[]) {
    for (const strict of [false, true]) {
      it(`answers and words alike (${policy}${strict ? ', strict' : ''})`, () => {
        let lockFree = 0;
        let countCalls = 0;
        fc.assert(
          fc.property(
            capacities,
            fc.array(opArb, { minLength: 20, maxLength: 150 }),
            (capacity, ops) => {
              const locked = new Twin(capacity, policy, strict, true);
              const fast = new Twin(capacity, policy, strict, false);
              try {
                for (const op of ops) {
                  const before = locksTaken(fast.handles[0]!);
                  expect(fast.apply(op), JSON.stringify(op)).toEqual(locked.apply(op));
                  if (op.op === 'reserve' || op.op === 'release') {
                    countCalls++;
                    if (locksTaken(fast.handles[0]!) === before) lockFree++;
                  }
                }
                expect(fast.snapshot()).toEqual(locked.snapshot());
                // What each lane records comes back as it closes: the same on both twins.
                for (let i = HANDLES - 1; i >= 1; i--) {
                  locked.handles[i]!.close();
                  fast.handles[i]!.close();
                  expect(fast.snapshot()).toEqual(locked.snapshot());
                }
              } finally {
                locked.handles[0]!.close();
                fast.handles[0]!.close();
              }
            },
          ),
          { numRuns: 100 },
        );
        // The fast twin really went around the lock, for a good share of its count calls.
        expect(lockFree * 4).toBeGreaterThan(countCalls);
      });
    }
  }
});
