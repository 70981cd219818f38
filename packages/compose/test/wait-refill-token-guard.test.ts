import {
  AtomicBudget,
  AtomicTokenBudget,
  type SyncTokenBudget,
  type TokenBudget,
  TokenReservation,
} from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { allOf, lazyRefill, tokenGuard, waiting } from '../src/index.js';
import { TestClock } from './helpers/test-clock.js';

/**
 * A token budget with no count API (so a token guard keeps its own ledger of reservations),
 * whose refunds throw while `failing` is set, as a backend that could not be reached.
 */
class FlakyTokens implements SyncTokenBudget {
  readonly capacity = 10;
  failing = false;
  private free = 10;
  available(): number {
    return this.free;
  }
  debt(): number {
    return 0;
  }
  tokensConsumedSync(): number {
    return 0;
  }
  tryReserveTokensSync(estimate: number): TokenReservation | null {
    if (estimate > this.free) return null;
    this.free -= estimate;
    return new TokenReservation({
      estimate,
      owner: this,
      backstop: false,
      refund: (n) => {
        if (this.failing) throw new Error('refund failed');
        this.free += n;
      },
    });
  }
  recordUsageSync(reservation: TokenReservation, _prompt: number, _completion: number): void {
    reservation.claim(this);
  }
  async tryReserveTokens(estimate: number): Promise<TokenReservation | null> {
    return this.tryReserveTokensSync(estimate);
  }
  async recordUsage(reservation: TokenReservation, _p: number, _c: number): Promise<void> {
    reservation.claim(this);
  }
  async tokensConsumed(): Promise<number> {
    return 0;
  }
}

/** The same budget seen only through its asynchronous methods (a remote token budget). */
const remote = (tokens: FlakyTokens): TokenBudget => ({
  tryReserveTokens: (estimate) => tokens.tryReserveTokens(estimate),
  recordUsage: (r, p, c) => tokens.recordUsage(r, p, c),
  tokensConsumed: () => tokens.tokensConsumed(),
});

describe('tokenGuard over a scheduled token budget', () => {
  it('has the count API its declaration promises, settled in the epoch the clock is in', () => {
    const clock = new TestClock(0);
    const tokens = new AtomicTokenBudget(10);
    const scheduled = lazyRefill(tokens, { intervalMs: 100, clock });
    expect(scheduled.capabilities.countRelease).toBe(true);
    const guard = tokenGuard(scheduled);
    expect(guard.tryReserveSync(4)).toBe(true);
    guard.releaseSync(4);
    expect(tokens.available()).toBe(10);
    expect(guard.tryReserveSync(6)).toBe(true);
    clock.advance(100); // the reset refill forgets the reservation
    guard.releaseSync(6); // so its release returns nothing
    expect(guard.overReleased()).toBe(6);
    expect(scheduled.available()).toBe(10);
  });

  it('works inside all-of and waiting lines', async () => {
    const clock = new TestClock(0);
    const scheduled = lazyRefill(new AtomicTokenBudget(10), { intervalMs: 100, clock });
    const both = allOf([new AtomicBudget(5), scheduled]);
    expect(both.tryReserveSync(3)).toBe(true);
    both.releaseSync(3);
    const line = waiting(scheduled, { clock });
    expect(line.tryReserveSync(10)).toBe(true);
    const waiter = line.acquire(5);
    clock.advance(100);
    expect((await waiter).cost).toBe(5);
  });
});

describe('tokenGuard: a release whose refund fails', () => {
  it('keeps a count reservation releasable (sync)', () => {
    const tokens = new FlakyTokens();
    const guard = tokenGuard(tokens);
    expect(guard.tryReserveSync(4)).toBe(true);
    tokens.failing = true;
    expect(() => guard.releaseSync(4)).toThrow('refund failed');
    tokens.failing = false;
    guard.releaseSync(4);
    expect(tokens.available()).toBe(10);
    expect(guard.overReleased()).toBe(0);
  });

  it('keeps a count reservation releasable (async)', async () => {
    const tokens = new FlakyTokens();
    const guard = tokenGuard(remote(tokens));
    expect(await guard.tryReserve(4)).toBe(true);
    tokens.failing = true;
    await expect(guard.release(4)).rejects.toThrow('refund failed');
    tokens.failing = false;
    await guard.release(4);
    expect(tokens.available()).toBe(10);
    expect(guard.overReleased()).toBe(0);
  });

  it('keeps an asynchronous permit releasable', async () => {
    const tokens = new FlakyTokens();
    const permit = (await tokenGuard(remote(tokens)).tryAcquire(4))!;
    tokens.failing = true;
    await expect(permit.release()).rejects.toThrow('refund failed');
    expect(permit.state).toBe('held');
    tokens.failing = false;
    expect(await permit.release()).toBe(true);
    expect(tokens.available()).toBe(10);
  });
});
