// Compose's guards against the conformance kit of @budgetry/testing (guard invariants G1–G6
// and P1 under scheduled interleavings). The kit's all-of / any-of / hierarchy / refill
// checkers are still being written; these runs cover each combinator as a guard meanwhile.
import { AtomicBudget, AtomicTokenBudget } from '@budgetry/core';
import { checkGuard } from '@budgetry/testing';
import { describe, expect, it } from 'vitest';
import { allOf } from './all-of.js';
import { anyOf } from './any-of.js';
import { hierarchy } from './hierarchy.js';
import { lazyRefill } from './lazy-refill.js';
import { slidingWindow } from './sliding-window.js';
import { tokenBucket } from './token-bucket.js';
import { waiting } from './waiter-queue.js';

const numRuns = 200;

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
