import {
  AtomicTokenBudget,
  BudgetError,
  type SyncTokenBudget,
  type TokenBudget,
} from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { AsyncTokenGuard, SyncTokenGuard, tokenGuard } from '../src/token-guard/token-guard.js';

describe('tokenGuard', () => {
  it('hands out permits that refund on release and record on commit, once', () => {
    const tokens = new AtomicTokenBudget(1_000);
    const guard = tokenGuard(tokens);
    expect(guard).toBeInstanceOf(SyncTokenGuard);
    const a = guard.tryAcquireSync(300)!;
    const b = guard.tryAcquireSync(200)!;
    expect(tokens.available()).toBe(500);
    expect(a.releaseSync()).toBe(true);
    expect(a.releaseSync()).toBe(false);
    expect(b.commitSync()).toBe(true);
    expect([a.state, b.state]).toEqual(['released', 'committed']);
    expect([tokens.available(), tokens.tokensConsumedSync()]).toEqual([800, 200]);
  });

  it('reflects a reconciliation done on the reservation itself', () => {
    const tokens = new AtomicTokenBudget(1_000);
    const permit = tokenGuard(tokens).tryAcquireSync(400)!;
    tokens.recordUsageSync(permit.reservation, 300, 200); // 100 over the estimate
    expect(permit.state).toBe('committed');
    expect(permit.releaseSync()).toBe(false); // no refund of a recorded reservation
    expect(tokens.available()).toBe(500);
  });

  it('over a budget without a count API, releases count reservations of exactly the released cost', () => {
    const tokens = new AtomicTokenBudget(100);
    // Only the SyncTokenBudget surface: no native count API underneath.
    const plain: SyncTokenBudget = {
      capacity: tokens.capacity,
      available: () => tokens.available(),
      debt: () => tokens.debt(),
      tryReserveTokensSync: (e) => tokens.tryReserveTokensSync(e),
      recordUsageSync: (r, p, c) => tokens.recordUsageSync(r, p, c),
      tokensConsumedSync: () => tokens.tokensConsumedSync(),
      tryReserveTokens: (e) => tokens.tryReserveTokens(e),
      recordUsage: (r, p, c) => tokens.recordUsage(r, p, c),
      tokensConsumed: () => tokens.tokensConsumed(),
    };
    const guard = tokenGuard(plain);
    expect(guard.tryReserveSync(30)).toBe(true);
    expect(guard.tryReserveSync(20)).toBe(true);
    guard.releaseSync(20);
    guard.releaseSync(20); // no second reservation of 20: ignored
    expect(tokens.available()).toBe(70);
    expect(guard.overReleased()).toBe(20);
    guard.releaseSync(30);
    expect(tokens.available()).toBe(100);
  });

  it("over AtomicTokenBudget, uses the budget's own count API: clamped to what it holds", () => {
    const tokens = new AtomicTokenBudget(100);
    const guard = tokenGuard(tokens);
    expect(guard.tryReserveSync(30)).toBe(true);
    expect(guard.tryReserveSync(20)).toBe(true);
    expect(tokens.reserved()).toBe(50);
    guard.releaseSync(20);
    guard.releaseSync(20);
    guard.releaseSync(20); // only 10 still held: 10 ignored
    expect(tokens.available()).toBe(100);
    expect(guard.overReleased()).toBe(10);
    expect(tokens.overReleased()).toBe(10);
  });

  it('wraps asynchronous token budgets and rejects other values', async () => {
    const inner = new AtomicTokenBudget(10);
    const remote: TokenBudget = {
      tryReserveTokens: (e) => inner.tryReserveTokens(e),
      recordUsage: (r, p, c) => inner.recordUsage(r, p, c),
      tokensConsumed: () => inner.tokensConsumed(),
    };
    const guard = tokenGuard(remote);
    expect(guard).toBeInstanceOf(AsyncTokenGuard);
    const p = await guard.tryAcquire(4);
    expect(inner.available()).toBe(6);
    await p?.release();
    expect(inner.available()).toBe(10);
    expect(await guard.tryReserve(11)).toBe(false);
    expect(() => tokenGuard({} as never)).toThrow(BudgetError);
  });

  it('settles an async permit once when commit and release are in flight together, as a sync one does', async () => {
    const inner = new AtomicTokenBudget(10);
    const later = () => new Promise((resolve) => setTimeout(resolve, 1));
    const remote: TokenBudget = {
      tryReserveTokens: (e) => inner.tryReserveTokens(e),
      recordUsage: async (r, p, c) => {
        await later(); // a round trip before the budget claims the reservation
        inner.recordUsageSync(r, p, c);
      },
      tokensConsumed: () => inner.tokensConsumed(),
    };
    const guard = tokenGuard(remote) as AsyncTokenGuard;
    const p = (await guard.tryAcquire(4))!;
    const [committed, released] = await Promise.all([p.commit(), p.release()]);
    expect([committed, released]).toEqual([true, false]);
    expect(await p.commit()).toBe(false); // a second commit answers false, never rejects
    expect([inner.available(), inner.tokensConsumedSync()]).toEqual([6, 4]);
  });

  it('leaves an async permit held when the budget fails to record it', async () => {
    const inner = new AtomicTokenBudget(10);
    let fail = true;
    const remote: TokenBudget = {
      tryReserveTokens: (e) => inner.tryReserveTokens(e),
      recordUsage: async (r, p, c) => {
        if (fail) throw new BudgetError({ code: 'BACKEND', message: 'store unreachable' });
        inner.recordUsageSync(r, p, c);
      },
      tokensConsumed: () => inner.tokensConsumed(),
    };
    const p = (await (tokenGuard(remote) as AsyncTokenGuard).tryAcquire(4))!;
    await expect(p.commit()).rejects.toMatchObject({ code: 'BACKEND' });
    fail = false;
    expect(await p.commit()).toBe(true);
    expect(inner.tokensConsumedSync()).toBe(4);
  });
});

describe('tokenGuard count reservations across reset refills', () => {
  it('forgets those a refill fenced off, so consume-and-refill use keeps only what can come back', async () => {
    const tokens = new AtomicTokenBudget(1);
    const guard = new AsyncTokenGuard(tokens); // the ledger path: a handle per count reservation
    for (let i = 0; i < 1_000; i++) {
      expect(await guard.tryReserve(1)).toBe(true);
      tokens.refill();
    }
    expect(await guard.tryReserve(1)).toBe(true);
    // Only the last reservation can still return a unit: the first release returns it, and
    // every other is an over-release (before, 1 000 fenced reservations answered them).
    for (let i = 0; i < 5; i++) await guard.release(1);
    expect([tokens.available(), guard.overReleased()]).toEqual([1, 4]);
  });

  it('keeps them under carry, where a refill fences nothing', async () => {
    const tokens = new AtomicTokenBudget(3, { refillPolicy: 'carry' });
    const guard = new AsyncTokenGuard(tokens);
    for (let i = 0; i < 3; i++) {
      await guard.tryReserve(1);
      tokens.refill();
    }
    for (let i = 0; i < 3; i++) await guard.release(1);
    expect([tokens.available(), guard.overReleased()]).toEqual([3, 0]);
  });
});
