// The leak backstop of a RedisTokenBudget: a reservation garbage-collected while armed is
// refunded, and the leak is reported with what Redis gave back, not with the estimate.
// Needs `--expose-gc` (set in the root vitest config).
import type { BudgetError, BudgetEvent } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import type { RedisScriptClient, RedisTokenBudget } from '../src/index.js';
import { fileRedis, tokenBudgets } from './helpers/budgets.js';
import { redisReady } from './helpers/redis.js';

const redis = await fileRedis();
const tokens = tokenBudgets(redis, 'token-leak');
const gc = (globalThis as { gc?: () => void }).gc;

/** Collect garbage until `done()` holds; finalizers and Redis answers arrive on later tasks. */
async function collectUntil(done: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < 100 && !done(); attempt++) {
    gc!();
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

// Reserving in a separate function keeps no reference to the handle in the test's frame.
async function leak(budget: RedisTokenBudget, estimate: number): Promise<void> {
  expect(await budget.tryReserveTokens(estimate)).not.toBeNull();
}

function watched(capacity: number, options: Parameters<typeof tokens>[1] = {}) {
  const leaks: { amount: number; refunded: number }[] = [];
  const budget = tokens(capacity, {
    leakBackstop: true,
    observer: (e: BudgetEvent) => {
      if (e.type === 'leak') leaks.push({ amount: e.amount, refunded: e.refunded });
    },
    ...options,
  });
  return { budget, leaks };
}

describe.skipIf(!redisReady || gc === undefined)('RedisTokenBudget leak backstop', () => {
  it('refunds a leaked estimate and reports the units Redis gave back', async () => {
    const { budget, leaks } = watched(100);
    await leak(budget, 40);
    expect(await budget.available()).toBe(60);
    await collectUntil(() => leaks.length > 0);
    expect(leaks).toEqual([{ amount: 40, refunded: 40 }]);
    expect(await budget.available()).toBe(100);
  });

  it('reports nothing refunded for an estimate from an epoch a refill has closed', async () => {
    const { budget, leaks } = watched(100);
    await leak(budget, 40);
    expect(await budget.refill()).toBe(true); // reset: a full new epoch
    await collectUntil(() => leaks.length > 0);
    expect(leaks).toEqual([{ amount: 40, refunded: 0 }]);
    expect(await budget.available()).toBe(100);
  });

  it("reports nothing refunded for a reservation granted locally under failure: 'open'", async () => {
    const down: RedisScriptClient = {
      evalsha: () => Promise.reject(new Error('connect ECONNREFUSED')),
      eval: () => Promise.reject(new Error('connect ECONNREFUSED')),
    };
    const told: BudgetError[] = [];
    const { budget, leaks } = watched(100, {
      redis: down,
      failure: 'open',
      onFailOpen: (e: BudgetError) => told.push(e),
    });
    await leak(budget, 40);
    expect(told).toHaveLength(1);
    await collectUntil(() => leaks.length > 0);
    expect(leaks).toEqual([{ amount: 40, refunded: 0 }]);
  });
});
