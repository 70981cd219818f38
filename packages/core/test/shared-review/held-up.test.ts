// Review: things that were tried and held up (kept as regression checks, all pass).
import { SharedBudget, StripedSharedBudget } from '@budgetry/core';
import { describe, expect, it } from 'vitest';

const gc = (globalThis as { gc?: () => void }).gc!;
const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setTimeout(r, 10));
    gc();
  }
  await new Promise((r) => setTimeout(r, 10));
};

describe('review: held up', () => {
  it('leak backstop: a dropped permit is refunded once; after its handle closed, not at all', async () => {
    const budget = new SharedBudget(10);
    const h = SharedBudget.open(budget.share());
    (() => {
      h.tryAcquireSync(4);
    })();
    await settle();
    expect(budget.snapshot()).toMatchObject({ available: 10, held: 0, leaks: 1 });
    (() => {
      h.tryAcquireSync(3);
    })();
    h.close();
    expect(budget.available()).toBe(10);
    await settle();
    expect(budget.snapshot()).toMatchObject({ available: 10, held: 0, leaks: 2 });
    budget.close();
  });

  it('exact at 2^53 - 1', () => {
    const M = Number.MAX_SAFE_INTEGER;
    const budget = new SharedBudget(M, { refillPolicy: 'carry' });
    expect(budget.tryReserveSync(M - 1)).toBe(true);
    const p = budget.tryAcquireSync(1)!;
    expect(budget.available()).toBe(0);
    p.commitSync(0);
    expect(budget.available()).toBe(1);
    budget.releaseSync(M); // over by 1... held M-1 on the count pool
    expect(budget.snapshot()).toMatchObject({ available: M, held: 0, overReleased: 1 });
    const s = StripedSharedBudget.open(budget.share(), { slice: M });
    expect(s.tryReserveSync(M)).toBe(true);
    expect(budget.snapshot()).toMatchObject({ available: 0, sliced: M });
    s.releaseSync(M);
    s.close();
    expect(budget.snapshot()).toMatchObject({ available: M, sliced: 0 });
    budget.close();
  });

  it('capacity 0: cost 0 always granted, 1 never; acquire(1) rejects EXCEEDS_CAPACITY', async () => {
    const budget = new SharedBudget(0);
    expect(budget.tryReserveSync(0)).toBe(true);
    expect(budget.tryReserveSync(1)).toBe(false);
    expect(budget.utilization()).toBe(0);
    (await budget.acquire(0)).releaseSync();
    await expect(budget.acquire(1)).rejects.toMatchObject({ code: 'EXCEEDS_CAPACITY' });
    budget.close();
  });

  it('maxWaiters exhaustion rejects with BACKEND and the line still works', async () => {
    const budget = new SharedBudget(1, { maxWaiters: 2 });
    const p = budget.tryAcquireSync(1)!;
    const a = budget.acquire(1);
    const b = budget.acquire(1);
    await expect(budget.acquire(1)).rejects.toMatchObject({ code: 'BACKEND' });
    p.releaseSync();
    (await a).releaseSync();
    (await b).releaseSync();
    expect(budget.snapshot()).toMatchObject({ available: 1, waiting: 0 });
    budget.close();
  });

  it('bad inputs to every method are typed errors and change nothing', async () => {
    const budget = new SharedBudget(10);
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '1', null]) {
      expect(() => budget.tryReserveSync(bad as number)).toThrow(
        expect.objectContaining({ name: 'BudgetError' }),
      );
      expect(() => budget.releaseSync(bad as number)).toThrow(
        expect.objectContaining({ name: 'BudgetError' }),
      );
      expect(() => budget.tryAcquireSync(bad as number)).toThrow(
        expect.objectContaining({ name: 'BudgetError' }),
      );
      await expect(budget.acquire(bad as number)).rejects.toMatchObject({ name: 'BudgetError' });
      expect(() => budget.refill(bad as number)).toThrow(
        expect.objectContaining({ name: 'BudgetError' }),
      );
    }
    for (const opts of [
      { priority: Number.NaN },
      { timeoutMs: -1 },
      { timeoutMs: 1.5 },
      { signal: {} },
      5,
    ]) {
      await expect(budget.acquire(1, opts as never)).rejects.toMatchObject({ name: 'BudgetError' });
    }
    for (const opts of [
      { maxHandles: 0 },
      { maxWaiters: 65_537 },
      { leaseMs: 0 },
      { strict: 1 },
      { clock: {} },
    ]) {
      expect(() => new SharedBudget(1, opts as never)).toThrow(
        expect.objectContaining({ name: 'BudgetError' }),
      );
    }
    for (const d of [
      null,
      {},
      { ...budget.share(), buffer: new ArrayBuffer(512) },
      JSON.parse(JSON.stringify(budget.share())),
    ]) {
      expect(() => SharedBudget.open(d as never)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
    for (const slice of [0, -1, 1.5, Number.NaN]) {
      expect(() => StripedSharedBudget.open(budget.share(), { slice })).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
    const p = budget.tryAcquireSync(4)!;
    expect(() => p.commitSync(5)).toThrow(expect.objectContaining({ name: 'BudgetError' }));
    expect(() => p.commitSync(-1)).toThrow(expect.objectContaining({ name: 'BudgetError' }));
    expect(p.commitSync(2)).toBe(true);
    expect(p.releaseSync()).toBe(false);
    expect(budget.snapshot()).toMatchObject({ available: 8, held: 0, handles: 1, waiting: 0 });
    budget.close();
    budget.close();
    expect(() => budget.tryReserveSync(1)).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    await expect(budget.acquire(1)).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
