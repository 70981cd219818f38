// Compose against the conformance kit of @budgetry/testing: the composite checks (all-of
// AO1–AO3 on the synchronous pair path, the general path and the async path; any-of AN1–AN3;
// hierarchy HI1–HI3), member exceptions wherever a combinator takes members, every
// combinator and scheduler as a plain guard or token budget, and the clock-driven refill
// schedulers under both policies.
import {
  AtomicBudget,
  AtomicTokenBudget,
  type BudgetPermit,
  type Clock,
  type PermitBudgetGuard,
  type SyncBudgetGuard,
  slidingWindow,
  tokenBucket,
} from '@budgetry/core';
import {
  checkAllOf,
  checkAnyOf,
  checkGuard,
  checkHierarchy,
  checkTokenBudget,
  type GuardCapabilities,
} from '@budgetry/testing';
import { describe, it } from 'vitest';
import { allOf } from '../src/all-of/all-of.js';
import { anyOf } from '../src/any-of/any-of.js';
import { hierarchy } from '../src/hierarchy/hierarchy.js';
import { calendarRefill } from '../src/refill/calendar-refill.js';
import { intervalRefill } from '../src/refill/interval-refill.js';
import { lazyRefill } from '../src/refill/lazy-refill.js';
import { waiting } from '../src/waiting/waiter-queue.js';

const numRuns = 500;
const timeout = 120_000;

/** A member whose calls cross an await (through the kit's hop), standing for a remote one. */
function remote(inner: SyncBudgetGuard, hop: (label?: string) => Promise<void>): PermitBudgetGuard {
  return {
    async tryAcquire(cost: number): Promise<BudgetPermit | null> {
      await hop('acquire');
      const p = inner.tryAcquireSync(cost);
      if (p === null) return null;
      return {
        cost: p.cost,
        epoch: p.epoch,
        get state() {
          return p.state;
        },
        release: async () => {
          await hop('release');
          return p.releaseSync();
        },
        commit: async () => p.commitSync(),
        [Symbol.asyncDispose]: async () => {
          p.releaseSync();
        },
      };
    },
    tryReserve: async (cost: number) => inner.tryReserveSync(cost),
    release: async (cost: number) => inner.releaseSync(cost),
  };
}

describe('conformance kit: composite checks', () => {
  for (const [path, capacities] of [
    ['pair path', [10, 6]],
    ['general path (three members)', [10, 6, 8]],
  ] as const) {
    it(
      `allOf, synchronous ${path}, members that throw: AO1–AO3`,
      () =>
        checkAllOf(
          ({ members }) => {
            const all = allOf(members);
            return {
              tryAcquire: (costs) => {
                const d = all.tryAcquireEachSync(costs);
                return d.ok ? d.permit : null;
              },
              available: () => members.map((m) => m.available()),
            };
          },
          { numRuns, name: `allOf ${path}`, capacities, faultyMembers: true },
        ),
      timeout,
    );
  }

  it(
    'allOf, asynchronous members, interleaved, members that throw: AO1–AO3',
    () =>
      checkAllOf(
        ({ members, hop }) => {
          const all = allOf(members.map((m) => remote(m, hop)));
          return {
            tryAcquire: async (costs) => {
              const d = await all.tryAcquireEach(costs);
              return d.ok ? d.permit : null;
            },
            available: () => members.map((m) => m.available()),
          };
        },
        { numRuns, name: 'allOf async', faultyMembers: true, linearizable: false },
      ),
    timeout,
  );

  it(
    'anyOf, synchronous members that throw: AN1–AN3',
    () =>
      checkAnyOf(
        ({ members }) => {
          const any = anyOf(members);
          return {
            tryAcquire: (cost) => any.tryAcquireSync(cost),
            available: () => members.map((m) => m.available()),
          };
        },
        { numRuns, name: 'anyOf sync', faultyMembers: true },
      ),
    timeout,
  );

  it(
    'anyOf, asynchronous members that throw, interleaved: AN1–AN3',
    () =>
      checkAnyOf(
        ({ members, hop }) => {
          const any = anyOf(members.map((m) => remote(m, hop)));
          return {
            tryAcquire: (cost) => any.tryAcquire(cost),
            available: () => members.map((m) => m.available()),
          };
        },
        { numRuns, name: 'anyOf async', faultyMembers: true, linearizable: false },
      ),
    timeout,
  );

  it(
    'hierarchy: HI1–HI3',
    () =>
      checkHierarchy(
        ({ capacities }) => {
          const [parent, ...children] = capacities;
          const root = hierarchy({ capacity: parent!, children: { capacity: 0 } });
          const nodes = children.map((c, i) => root.child(`child ${i}`, { capacity: c }));
          return {
            tryAcquire: (child, cost) =>
              (child === null ? root : nodes[child]!).tryAcquireSync(cost),
            available: () => [root, ...nodes].map((n) => n.capacity - n.held()),
          };
        },
        { numRuns, name: 'hierarchy' },
      ),
    timeout,
  );

  for (const policy of ['reset', 'carry'] as const) {
    it(
      `a lazily refilled token budget on a moving clock (${policy}): T1–T5, R1–R5`,
      () =>
        checkTokenBudget(
          ({ capacity, clock }) =>
            lazyRefill(new AtomicTokenBudget(capacity, { refillPolicy: policy }), {
              intervalMs: 60_000,
              clock,
            }),
          {
            numRuns,
            name: `lazyRefill(AtomicTokenBudget, ${policy})`,
            capabilities: { available: true, debt: true, refill: { policy, by: 'clock' } },
          },
        ),
      timeout,
    );
  }
});

const plain: GuardCapabilities = { available: true, permits: true };
/** Permits that commit part of what they hold and return the rest in one step. */
const partial: GuardCapabilities = { available: true, permits: { partialCommit: true } };

describe('conformance kit: compose guards', () => {
  it(
    'allOf over two guards of one capacity, which deny together',
    () =>
      checkGuard(
        ({ capacity }) => allOf([new AtomicBudget(capacity), new AtomicBudget(capacity)]),
        { numRuns, name: 'allOf', capabilities: plain },
      ),
    timeout,
  );

  it(
    'allOf over a guard and a token budget',
    () =>
      checkGuard(
        ({ capacity }) =>
          allOf({ rows: new AtomicBudget(capacity), tokens: new AtomicTokenBudget(capacity) }),
        { numRuns, name: 'allOf(rows, tokens)', capabilities: plain },
      ),
    timeout,
  );

  it(
    'anyOf over one member behaves as that member',
    () =>
      checkGuard(({ capacity }) => anyOf([new AtomicBudget(capacity)]), {
        numRuns,
        name: 'anyOf',
        // Its count API returns one reservation of exactly the released cost (it keeps a
        // permit per count reservation, on whichever member took it).
        capabilities: { ...plain, countRelease: 'exact' },
      }),
    timeout,
  );

  it(
    'a hierarchy root, refills included',
    () =>
      checkGuard(({ capacity }) => hierarchy({ capacity, children: { capacity: 1 } }), {
        numRuns,
        name: 'hierarchy root',
        capabilities: { ...plain, refill: { policy: 'reset' } },
      }),
    timeout,
  );

  it(
    'a tenant node of a hierarchy',
    () =>
      checkGuard(
        ({ capacity }) =>
          hierarchy({ capacity: capacity * 3, children: { capacity } }).child('tenant'),
        { numRuns, name: 'hierarchy child', capabilities: partial },
      ),
    timeout,
  );

  it(
    'a token bucket and a sliding window while the clock stands still',
    async () => {
      await checkGuard(({ capacity, clock }) => tokenBucket({ burst: capacity, rate: 1, clock }), {
        numRuns,
        name: 'tokenBucket',
        capabilities: partial,
      });
      await checkGuard(
        ({ capacity, clock }) => slidingWindow({ limit: capacity, windowMs: 1_000, clock }),
        {
          numRuns,
          name: 'slidingWindow',
          capabilities: partial,
        },
      );
    },
    timeout,
  );

  it(
    'a waiting guard',
    () =>
      checkGuard(({ capacity }) => waiting(new AtomicBudget(capacity)), {
        numRuns,
        name: 'waiting',
        capabilities: partial,
      }),
    timeout,
  );
});

describe('conformance kit: refill schedulers on a moving clock', () => {
  for (const policy of ['reset', 'carry'] as const) {
    const schedules: [string, (budget: AtomicBudget, clock: Clock) => unknown][] = [
      ['lazyRefill', (budget, clock) => lazyRefill(budget, { intervalMs: 1_000, clock })],
      ['intervalRefill', (budget, clock) => intervalRefill(budget, { intervalMs: 1_000, clock })],
      [
        'calendarRefill (minutes, Europe/Paris, timer)',
        (budget, clock) =>
          calendarRefill(budget, { unit: 'minute', timeZone: 'Europe/Paris', timer: true, clock }),
      ],
      [
        // Months of 28 to 31 days: the kit's jumps past several must land where they fall.
        'calendarRefill (months, America/New_York, timer)',
        (budget, clock) =>
          calendarRefill(budget, {
            unit: 'month',
            timeZone: 'America/New_York',
            timer: true,
            clock,
          }),
      ],
    ];
    for (const [name, make] of schedules) {
      it(
        `${name} (${policy}): one refill per boundary, stale timers ignored, the policy exact`,
        () =>
          checkGuard(
            ({ capacity, clock }) =>
              make(new AtomicBudget(capacity, { refillPolicy: policy }), clock) as AtomicBudget,
            {
              numRuns,
              name: `${name} (${policy})`,
              capabilities: { ...partial, refill: { policy, by: 'clock' } },
            },
          ),
        timeout,
      );
    }
  }
});
