// Compose against the conformance kit of @budgetry/testing: the composite checks (all-of
// AO1–AO3, any-of AN1–AN3, hierarchy HI1–HI3), the token-budget check (T1–T5) for a
// scheduled token budget, the refill check (R1–R4) for the clock-driven schedulers, and
// every combinator as a plain guard (G1–G6, P1), all under scheduled interleavings.
import {
  AtomicBudget,
  AtomicTokenBudget,
  type BudgetPermit,
  type PermitBudgetGuard,
} from '@budgetry/core';
import {
  checkAllOf,
  checkAnyOf,
  checkGuard,
  checkHierarchy,
  checkRefill,
  checkTokenBudget,
} from '@budgetry/testing';
import { describe, expect, it } from 'vitest';
import { allOf } from './all-of.js';
import { anyOf } from './any-of.js';
import { hierarchy } from './hierarchy.js';
import { intervalRefill } from './interval-refill.js';
import { lazyRefill } from './lazy-refill.js';
import { slidingWindow } from './sliding-window.js';
import { tokenBucket } from './token-bucket.js';
import { waiting } from './waiter-queue.js';

const numRuns = 1_000;

/** A member whose calls resume in the order the kit's scheduler picks. */
function remote(inner: AtomicBudget, hop: (label?: string) => Promise<void>): PermitBudgetGuard {
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
  it('allOf (synchronous members): AO1–AO3', async () => {
    await checkAllOf(
      ({ capacities }) => {
        const members = capacities.map((c) => new AtomicBudget(c));
        const all = allOf(members);
        return {
          tryAcquire: (costs) => {
            const d = all.tryAcquireEachSync(costs);
            return d.ok ? d.permit : null;
          },
          available: () => members.map((m) => m.available()),
        };
      },
      { numRuns, name: 'allOf sync' },
    );
  });

  it('allOf (asynchronous members, interleaved): AO1–AO3', async () => {
    await checkAllOf(
      ({ capacities, hop }) => {
        const inner = capacities.map((c) => new AtomicBudget(c));
        const all = allOf(inner.map((m) => remote(m, hop)));
        return {
          tryAcquire: async (costs) => {
            const d = await all.tryAcquireEach(costs);
            return d.ok ? d.permit : null;
          },
          available: () => inner.map((m) => m.available()),
        };
      },
      { numRuns, name: 'allOf async' },
    );
  });

  it('anyOf (synchronous and interleaved members): AN1–AN3', async () => {
    await checkAnyOf(
      ({ capacities }) => {
        const members = capacities.map((c) => new AtomicBudget(c));
        const any = anyOf(members);
        return {
          tryAcquire: (cost) => any.tryAcquireSync(cost),
          available: () => members.map((m) => m.available()),
        };
      },
      { numRuns, name: 'anyOf sync' },
    );
    await checkAnyOf(
      ({ capacities, hop }) => {
        const inner = capacities.map((c) => new AtomicBudget(c));
        const any = anyOf(inner.map((m) => remote(m, hop)));
        return {
          tryAcquire: (cost) => any.tryAcquire(cost),
          available: () => inner.map((m) => m.available()),
        };
      },
      { numRuns, name: 'anyOf async' },
    );
  });

  it('hierarchy: HI1–HI3', async () => {
    await checkHierarchy(
      ({ capacities }) => {
        const [parent, ...children] = capacities;
        const root = hierarchy({ capacity: parent!, children: { capacity: 0 } });
        const nodes = children.map((c, i) => root.child(`child ${i}`, { capacity: c }));
        return {
          tryAcquire: (child, cost) => (child === null ? root : nodes[child]!).tryAcquireSync(cost),
          available: () => [root, ...nodes].map((n) => n.capacity - n.held()),
        };
      },
      { numRuns, name: 'hierarchy' },
    );
  });

  it('a scheduled token budget: T1–T5', async () => {
    await checkTokenBudget(
      ({ capacity, clock }) =>
        lazyRefill(new AtomicTokenBudget(capacity), { intervalMs: 60_000, clock }),
      { numRuns, name: 'lazyRefill(AtomicTokenBudget)' },
    );
  });
});

describe('conformance kit: compose guards', () => {
  it('allOf over two guards', async () => {
    const report = await checkGuard(
      ({ capacity }) => allOf([new AtomicBudget(capacity), new AtomicBudget(capacity + 5)]),
      { numRuns, name: 'allOf' },
    );
    expect(report.passed.length).toBeGreaterThan(0);
  });

  it('allOf over a guard and a token budget', async () => {
    await checkGuard(
      ({ capacity }) =>
        allOf({ rows: new AtomicBudget(capacity), tokens: new AtomicTokenBudget(capacity) }),
      { numRuns, name: 'allOf(rows, tokens)' },
    );
  });

  it('anyOf over one member behaves as that member', async () => {
    await checkGuard(({ capacity }) => anyOf([new AtomicBudget(capacity)]), {
      numRuns,
      name: 'anyOf',
    });
  });

  it('a hierarchy root, refills included', async () => {
    await checkGuard(({ capacity }) => hierarchy({ capacity, children: { capacity: 1 } }), {
      numRuns,
      name: 'hierarchy root',
    });
  });

  it('a tenant node of a hierarchy', async () => {
    // Only the root refills, so the child is checked through its guard methods alone.
    await checkGuard(
      ({ capacity }) => {
        const node = hierarchy({ capacity: capacity * 3, children: { capacity } }).child('tenant');
        return {
          tryReserve: (cost: number) => node.tryReserve(cost),
          release: (cost: number) => node.release(cost),
          tryAcquire: (cost: number) => node.tryAcquire(cost),
          available: () => node.available(),
        };
      },
      { numRuns, name: 'hierarchy child' },
    );
  });

  it('a lazily refilled budget while the clock stands still', async () => {
    await checkGuard(
      ({ capacity, clock }) => lazyRefill(new AtomicBudget(capacity), { intervalMs: 1_000, clock }),
      { numRuns, name: 'lazyRefill' },
    );
  });

  it('a token bucket and a sliding window while the clock stands still', async () => {
    await checkGuard(({ capacity, clock }) => tokenBucket({ burst: capacity, rate: 1, clock }), {
      numRuns,
      name: 'tokenBucket',
    });
    await checkGuard(
      ({ capacity, clock }) => slidingWindow({ limit: capacity, windowMs: 1_000, clock }),
      { numRuns, name: 'slidingWindow' },
    );
  });

  it('a waiting guard', async () => {
    await checkGuard(({ capacity }) => waiting(new AtomicBudget(capacity)), {
      numRuns,
      name: 'waiting',
    });
  });
});

describe('conformance kit: refill schedulers on a moving clock', () => {
  for (const policy of ['reset', 'carry'] as const) {
    it(`lazyRefill and intervalRefill, ${policy}: A ≤ C, one refill per epoch, stale refills ignored, policy exact`, async () => {
      await checkRefill(
        ({ capacity, clock, policy: p }) =>
          lazyRefill(new AtomicBudget(capacity, { refillPolicy: p }), { intervalMs: 1_000, clock }),
        { numRuns, refillPolicy: policy, name: `lazyRefill (${policy})` },
      );
      await checkRefill(
        ({ capacity, clock, policy: p }) =>
          intervalRefill(new AtomicBudget(capacity, { refillPolicy: p }), {
            intervalMs: 1_000,
            clock,
          }),
        { numRuns, refillPolicy: policy, name: `intervalRefill (${policy})` },
      );
    });
  }
});
