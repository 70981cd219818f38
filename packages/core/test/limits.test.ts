import { describe, expect, it } from 'vitest';
import {
  AtomicBudget,
  AtomicTokenBudget,
  type BudgetEvent,
  TokenReservation,
  tokenBucket,
} from '../src/index.js';

const MAX = Number.MAX_SAFE_INTEGER;

/** Warnings of type `type` emitted while `run` runs (and the ticks after it). */
async function warningsDuring(type: string, run: () => void): Promise<string[]> {
  const seen: string[] = [];
  const listener = (w: Error) => {
    if (w.name === type) seen.push(w.message);
  };
  process.on('warning', listener);
  try {
    run();
    await new Promise((resolve) => setTimeout(resolve, 10));
  } finally {
    process.off('warning', listener);
  }
  return seen;
}

describe('running totals never leave the safe-integer range', () => {
  it('tokensConsumed saturates at 2^53 − 1 instead of losing precision', () => {
    const tokens = new AtomicTokenBudget(MAX);
    tokens.recordUsageSync(tokens.tryReserveTokensSync(MAX)!, MAX, 0);
    tokens.refill();
    tokens.recordUsageSync(tokens.tryReserveTokensSync(5)!, 3, 0);
    expect(tokens.tokensConsumedSync()).toBe(MAX);
    expect(tokens.available()).toBe(MAX - 3);
  });

  it('debt stops at 2^53 − 1 with no maxDebt; the rest is written off and reported', () => {
    const events: BudgetEvent[] = [];
    const tokens = new AtomicTokenBudget(0, { observer: (e) => events.push(e) });
    tokens.recordUsageSync(tokens.tryReserveTokensSync(0)!, MAX, 0);
    expect([tokens.debt(), tokens.forgivenDebt()]).toEqual([MAX, 0]);
    tokens.recordUsageSync(tokens.tryReserveTokensSync(0)!, 10, 0);
    expect([tokens.debt(), tokens.forgivenDebt()]).toEqual([MAX, 10]);
    expect(events.at(-1)).toMatchObject({ type: 'debt', debt: MAX, forgiven: 10 });
  });

  it('over-release counters saturate', () => {
    const rows = new AtomicBudget(1);
    rows.releaseSync(MAX);
    rows.releaseSync(MAX);
    expect(rows.overReleased()).toBe(MAX);
    expect(rows.available()).toBe(1);
    const tokens = new AtomicTokenBudget(1);
    tokens.releaseSync(MAX);
    tokens.releaseSync(MAX);
    expect(tokens.overReleased()).toBe(MAX);
    const bucket = tokenBucket({ burst: 1, rate: 1 });
    bucket.releaseSync(MAX);
    bucket.releaseSync(MAX);
    expect(bucket.overReleased()).toBe(MAX);
  });
});

describe('an observer cannot corrupt accounting', () => {
  it('a reservation whose observer throws still succeeds, and the error becomes a warning', async () => {
    const rows = new AtomicBudget(10, {
      observer: (e) => {
        if (e.type === 'reserve') throw new Error('metrics down');
      },
    });
    let granted: boolean | undefined;
    const warnings = await warningsDuring('BudgetryObserverWarning', () => {
      granted = rows.tryReserveSync(4);
    });
    expect(granted).toBe(true);
    expect(rows.available()).toBe(6);
    expect(warnings).toEqual(['budgetry: an observer threw: metrics down']);
  });

  it('one throwing subscriber does not stop the ones after it', async () => {
    const tokens = new AtomicTokenBudget(10);
    const told: string[] = [];
    tokens.subscribe(() => {
      throw new Error('first listener bug');
    });
    tokens.subscribe((e) => told.push(e.type));
    const warnings = await warningsDuring('BudgetryObserverWarning', () => {
      tokens.tryReserveTokensSync(3)?.[Symbol.dispose]();
    });
    expect(told).toEqual(['reserve', 'release']);
    expect(warnings).toHaveLength(2);
    expect(tokens.available()).toBe(10);
  });
});

describe('a refund that throws', () => {
  it('leaves the reservation armed, so disposing again refunds it exactly once', () => {
    let available = 10;
    let failures = 1;
    const reservation = new TokenReservation({
      estimate: 4,
      owner: {},
      backstop: false,
      refund: (amount) => {
        if (failures-- > 0) throw new Error('pool unavailable');
        available += amount;
      },
    });
    available -= 4;
    expect(() => reservation[Symbol.dispose]()).toThrow('pool unavailable');
    expect(reservation.state).toBe('armed');
    reservation[Symbol.dispose]();
    reservation[Symbol.dispose]();
    expect([available, reservation.state]).toEqual([10, 'refunded']);
  });
});

describe('a capacity of -0', () => {
  it('is 0: neither capacity nor available() shows -0', () => {
    for (const budget of [new AtomicBudget(-0), new AtomicTokenBudget(-0)]) {
      expect(Object.is(budget.capacity, 0)).toBe(true);
      expect(Object.is(budget.available(), 0)).toBe(true);
      expect(budget.tryReserveSync(0)).toBe(true);
      budget.releaseSync(0);
      expect(Object.is(budget.available(), 0)).toBe(true);
    }
  });
});
