// Regression tests for what budgetry fixes in the reference (BRIEF.md section 3), each built
// from the brief's counterexample. Every one of them fails against the reference's semantics.
import { describe, expect, it } from 'vitest';
import { AtomicBudget } from '../src/budgets/atomic-budget.js';
import { AtomicTokenBudget } from '../src/budgets/atomic-token-budget.js';
import { BudgetError } from '../src/spec/budget-error.js';
import type { BudgetEvent } from '../src/spec/events.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return BudgetError.isInstance(error) ? error.code : 'not a BudgetError';
  }
  return undefined;
}

describe('fix 1: exact debt', () => {
  it('owes the overage in full instead of forgiving it (reference shows 50 available, 20 remain)', () => {
    const tb = new AtomicTokenBudget(100);
    const first = tb.tryReserveTokensSync(50)!;
    const second = tb.tryReserveTokensSync(50)!;
    tb.recordUsageSync(first, 80, 0);
    expect(tb.available()).toBe(0);
    expect(tb.debt()).toBe(30);
    second[Symbol.dispose]();
    expect(tb.available()).toBe(20);
    expect(tb.debt()).toBe(0);
    expect(tb.tokensConsumedSync()).toBe(80);
  });

  it('pays debt first out of a refill', () => {
    const tb = new AtomicTokenBudget(100);
    tb.recordUsageSync(tb.tryReserveTokensSync(100)!, 100, 30);
    expect(tb.debt()).toBe(30);
    expect(tb.tryReserveTokensSync(1)).toBeNull();
    tb.refill();
    expect(tb.debt()).toBe(0);
    expect(tb.available()).toBe(70);
  });

  it('carries debt larger than a whole refill into the next epoch', () => {
    const tb = new AtomicTokenBudget(100);
    // 100 − 10 reserved + 10 refunded − 260 used = −160.
    tb.recordUsageSync(tb.tryReserveTokensSync(10)!, 260, 0);
    expect(tb.debt()).toBe(160);
    tb.refill();
    expect(tb.debt()).toBe(60);
    tb.refill();
    expect(tb.debt()).toBe(0);
    expect(tb.available()).toBe(40);
  });

  it('caps debt by policy and reports what it wrote off', () => {
    const events: BudgetEvent[] = [];
    const tb = new AtomicTokenBudget(100, { maxDebt: 10, observer: (e) => events.push(e) });
    tb.recordUsageSync(tb.tryReserveTokensSync(100)!, 130, 0);
    expect(tb.debt()).toBe(10);
    expect(tb.forgivenDebt()).toBe(20);
    expect(events.filter((e) => e.type === 'debt')).toEqual([
      { type: 'debt', budget: undefined, debt: 10, forgiven: 20 },
    ]);
  });

  it('grants a zero estimate while in debt but nothing larger', () => {
    const tb = new AtomicTokenBudget(10);
    tb.recordUsageSync(tb.tryReserveTokensSync(10)!, 15, 0);
    expect(tb.tryReserveTokensSync(0)).not.toBeNull();
    expect(tb.tryReserveTokensSync(1)).toBeNull();
  });
});

describe('fix 2: handles cannot be released twice', () => {
  it('a permit released twice refunds once (reference: reserve 3, reserve 4, release 3 twice lets 13 of 10 be held)', () => {
    const b = new AtomicBudget(10);
    const three = b.tryAcquireSync(3)!;
    const four = b.tryAcquireSync(4)!;
    expect(three.releaseSync()).toBe(true);
    expect(three.releaseSync()).toBe(false);
    expect(b.available()).toBe(6);
    expect(b.tryAcquireSync(7)).toBeNull();
    expect(four.state).toBe('held');
  });

  it('a permit is settled once whatever the mix of release, commit and dispose', async () => {
    const b = new AtomicBudget(10);
    const p = b.tryAcquireSync(4)!;
    expect(p.commitSync()).toBe(true);
    expect(await p.release()).toBe(false);
    p[Symbol.dispose]();
    await p[Symbol.asyncDispose]();
    expect(p.state).toBe('committed');
    expect(b.available()).toBe(6);
    expect(b.held()).toBe(0);
  });

  it('using releases a held permit on scope exit, including on throw', () => {
    const b = new AtomicBudget(10);
    expect(() => {
      using _p = b.tryAcquireSync(6)!;
      expect(b.available()).toBe(4);
      throw new Error('work failed');
    }).toThrow('work failed');
    expect(b.available()).toBe(10);
  });

  it('await using releases a held permit from the Promise API', async () => {
    const b = new AtomicBudget(10);
    {
      await using _p = (await b.tryAcquire(6))!;
      expect(b.available()).toBe(4);
    }
    expect(b.available()).toBe(10);
  });

  it('counts and reports an over-release on the count API instead of hiding it', () => {
    const events: BudgetEvent[] = [];
    const b = new AtomicBudget(10, { observer: (e) => events.push(e) });
    b.tryReserveSync(5);
    b.releaseSync(5);
    b.releaseSync(5);
    expect(b.available()).toBe(10);
    expect(b.overReleased()).toBe(5);
    expect(events.at(-1)).toEqual({
      type: 'over-release',
      budget: undefined,
      requested: 5,
      accepted: 0,
      excess: 5,
    });
  });

  it('strict mode throws OVER_RELEASE and changes nothing', () => {
    const b = new AtomicBudget(10, { strict: true });
    b.tryReserveSync(5);
    expect(codeOf(() => b.releaseSync(6))).toBe('OVER_RELEASE');
    expect(b.snapshot()).toMatchObject({ available: 5, held: 5, overReleased: 0 });
    b.releaseSync(5);
    expect(b.available()).toBe(10);
  });

  it('the token budget count API clamps, counts and reports over-release, and pays debt first', () => {
    const tb = new AtomicTokenBudget(100);
    expect(tb.tryReserveSync(30)).toBe(true);
    tb.recordUsageSync(tb.tryReserveTokensSync(70)!, 90, 0); // 20 over: debt
    expect(tb.debt()).toBe(20);
    tb.releaseSync(50);
    expect(tb.overReleased()).toBe(20);
    expect(tb.debt()).toBe(0);
    expect(tb.available()).toBe(10);
    const strict = new AtomicTokenBudget(10, { strict: true });
    strict.tryReserveSync(4);
    expect(codeOf(() => strict.releaseSync(5))).toBe('OVER_RELEASE');
    expect(strict.snapshot()).toMatchObject({ available: 6, reserved: 4, overReleased: 0 });
  });

  it('a count release cannot free units held by permits', () => {
    const b = new AtomicBudget(10);
    b.tryAcquireSync(8);
    b.releaseSync(8);
    expect(b.available()).toBe(2);
    expect(b.overReleased()).toBe(8);
  });

  it('recordUsage twice counts the usage once and throws ALREADY_SETTLED', () => {
    const tb = new AtomicTokenBudget(100);
    const r = tb.tryReserveTokensSync(40)!;
    tb.recordUsageSync(r, 20, 10);
    expect(codeOf(() => tb.recordUsageSync(r, 20, 10))).toBe('ALREADY_SETTLED');
    expect(tb.tokensConsumedSync()).toBe(30);
    expect(tb.available()).toBe(70);
  });

  it('dispose after recordUsage refunds nothing; recordUsage after dispose is rejected', () => {
    const tb = new AtomicTokenBudget(100);
    const recorded = tb.tryReserveTokensSync(40)!;
    tb.recordUsageSync(recorded, 30, 0);
    recorded[Symbol.dispose]();
    expect(tb.available()).toBe(70);
    const disposed = tb.tryReserveTokensSync(40)!;
    disposed[Symbol.dispose]();
    expect(codeOf(() => tb.recordUsageSync(disposed, 1, 1))).toBe('ALREADY_SETTLED');
    expect(tb.available()).toBe(70);
    expect(tb.tokensConsumedSync()).toBe(30);
  });

  it('disarm hands the refund to the caller once, and recording afterwards voids it', () => {
    const tb = new AtomicTokenBudget(100);
    const r = tb.tryReserveTokensSync(40)!;
    const refund = r.disarm()!;
    expect(r.disarm()).toBeNull();
    r[Symbol.dispose]();
    expect(tb.available()).toBe(60);
    refund();
    refund();
    expect(tb.available()).toBe(100);
    expect(r.state).toBe('refunded');

    const s = tb.tryReserveTokensSync(40)!;
    const voided = s.disarm()!;
    tb.recordUsageSync(s, 10, 0);
    voided();
    expect(tb.available()).toBe(90);
  });
});

describe('fix 3: epochs are fenced', () => {
  it('reset: an old-epoch release returns nothing (reference: reserve 8, refill, reserve 10, release the old 8 holds 18 of 10)', () => {
    const b = new AtomicBudget(10, { refillPolicy: 'reset' });
    const old = b.tryAcquireSync(8)!;
    b.refill();
    const fresh = b.tryAcquireSync(10)!;
    expect(old.releaseSync()).toBe(true);
    expect(b.available()).toBe(0);
    expect(fresh.releaseSync()).toBe(true);
    expect(b.available()).toBe(10);
  });

  it('reset is the default policy, as the reference refill', () => {
    expect(new AtomicBudget(1).refillPolicy).toBe('reset');
    expect(new AtomicTokenBudget(1).refillPolicy).toBe('reset');
  });

  it('reset: the count API cannot release into a new epoch what the old one held', () => {
    const b = new AtomicBudget(10);
    b.tryReserveSync(8);
    b.refill();
    b.releaseSync(8);
    expect(b.available()).toBe(10);
    expect(b.overReleased()).toBe(8);
  });

  it('carry: the new epoch starts at capacity minus what is still held, and the old permit stays live', () => {
    const b = new AtomicBudget(10, { refillPolicy: 'carry' });
    const old = b.tryAcquireSync(8)!;
    b.tryAcquireSync(1)!.commitSync();
    expect(b.available()).toBe(1);
    b.refill();
    expect(b.available()).toBe(2);
    old.releaseSync();
    expect(b.available()).toBe(10);
  });

  it('reset: an old-epoch token reservation refunds nothing and its recorded overage is still owed', () => {
    const tb = new AtomicTokenBudget(100);
    const disposed = tb.tryReserveTokensSync(30)!;
    const recorded = tb.tryReserveTokensSync(50)!;
    tb.refill();
    expect(tb.available()).toBe(100);
    disposed[Symbol.dispose]();
    expect(tb.available()).toBe(100);
    tb.recordUsageSync(recorded, 70, 0);
    expect(tb.available()).toBe(80);
    expect(tb.tokensConsumedSync()).toBe(70);
  });

  it('carry: armed estimates are carried into the new epoch and refunded there', () => {
    const tb = new AtomicTokenBudget(100, { refillPolicy: 'carry' });
    const r = tb.tryReserveTokensSync(30)!;
    tb.recordUsageSync(tb.tryReserveTokensSync(50)!, 50, 0);
    expect(tb.available()).toBe(20);
    tb.refill();
    expect(tb.available()).toBe(70);
    r[Symbol.dispose]();
    expect(tb.available()).toBe(100);
  });

  it('carry while in debt: held estimates are charged once, to the new epoch, not again as debt', () => {
    // The case the kit's auditor found: the 500 still held caused the old epoch's 200 of
    // debt; carried into the new epoch, it must not also be owed as old debt.
    const tb = new AtomicTokenBudget(1_000, { refillPolicy: 'carry' });
    const first = tb.tryReserveTokensSync(500)!;
    tb.recordUsageSync(tb.tryReserveTokensSync(500)!, 700, 0);
    expect([tb.available(), tb.debt()]).toEqual([0, 200]);
    tb.refill();
    expect([tb.available(), tb.debt()]).toEqual([500, 0]);
    first[Symbol.dispose]();
    expect(tb.available()).toBe(1_000);
  });

  it('carry while in debt beyond what is held: only that excess is carried as debt', () => {
    const tb = new AtomicTokenBudget(1_000, { refillPolicy: 'carry' });
    const held = tb.tryReserveTokensSync(100)!;
    tb.recordUsageSync(tb.tryReserveTokensSync(900)!, 1_400, 0);
    expect([tb.available(), tb.debt()]).toEqual([0, 500]);
    tb.refill(); // old epoch without the held 100: 1 400 used of 1 000, 400 owed
    expect([tb.available(), tb.debt()]).toEqual([500, 0]);
    held[Symbol.dispose]();
    expect(tb.available()).toBe(600);
  });

  it('rejects an unknown refill policy at construction', () => {
    expect(codeOf(() => new AtomicBudget(1, { refillPolicy: 'rollover' as never }))).toBe(
      'INVALID_ARGUMENT',
    );
  });
});

describe('fix 4: handles belong to their budget', () => {
  it('recording a reservation on another budget throws FOREIGN_HANDLE and changes neither', () => {
    const mine = new AtomicTokenBudget(100);
    const theirs = new AtomicTokenBudget(100);
    const r = mine.tryReserveTokensSync(40)!;
    expect(codeOf(() => theirs.recordUsageSync(r, 10, 10))).toBe('FOREIGN_HANDLE');
    expect(theirs.snapshot()).toMatchObject({ available: 100, consumed: 0 });
    expect(mine.available()).toBe(60);
    expect(r.armed).toBe(true);
    expect(r.isIssuedBy(mine)).toBe(true);
    r[Symbol.dispose]();
    expect(mine.available()).toBe(100);
  });

  it('rejects something that is not a reservation at all', async () => {
    const tb = new AtomicTokenBudget(100);
    await expect(tb.recordUsage({ estimate: 10 } as never, 1, 1)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    expect(tb.tokensConsumedSync()).toBe(0);
  });
});

describe('amount edges', () => {
  it('grants cost 0 and denies cost above capacity without touching state', () => {
    const b = new AtomicBudget(10);
    expect(b.tryReserveSync(0)).toBe(true);
    expect(b.tryReserveSync(11)).toBe(false);
    expect(b.tryAcquireSync(11)).toBeNull();
    expect(b.snapshot()).toMatchObject({ available: 10, held: 0 });
    const tb = new AtomicTokenBudget(10);
    expect(tb.tryReserveTokensSync(11)).toBeNull();
    expect(tb.available()).toBe(10);
  });

  it('accepts the largest safe integer as a capacity and an amount', () => {
    const max = Number.MAX_SAFE_INTEGER;
    const b = new AtomicBudget(max);
    expect(b.tryReserveSync(max)).toBe(true);
    expect(b.available()).toBe(0);
  });

  it('rejects usage whose sum is not a safe integer', () => {
    const tb = new AtomicTokenBudget(10);
    const r = tb.tryReserveTokensSync(5)!;
    expect(codeOf(() => tb.recordUsageSync(r, Number.MAX_SAFE_INTEGER, 1))).toBe('INVALID_AMOUNT');
    expect(r.armed).toBe(true);
  });
});

describe('observer', () => {
  it('reports reserve, deny, release, commit and refill in order', () => {
    const events: string[] = [];
    const b = new AtomicBudget(5, { name: 'rows', observer: (e) => events.push(`${e.type}`) });
    b.tryReserveSync(3);
    b.tryReserveSync(3);
    b.releaseSync(3);
    b.tryAcquireSync(2)!.commitSync();
    b.refill();
    expect(events).toEqual(['reserve', 'deny', 'release', 'reserve', 'commit', 'refill']);
  });

  it('names the budget in every event', () => {
    const names = new Set<string | undefined>();
    const tb = new AtomicTokenBudget(5, { name: 'tokens', observer: (e) => names.add(e.budget) });
    tb.recordUsageSync(tb.tryReserveTokensSync(2)!, 9, 0);
    expect([...names]).toEqual(['tokens']);
  });

  it('rejects an observer that is not a function', () => {
    expect(codeOf(() => new AtomicBudget(5, { observer: 'log' as never }))).toBe(
      'INVALID_ARGUMENT',
    );
  });
});

describe('epochs from the clock: followSchedule', () => {
  it('runs the schedule before a permit settles, so it settles in the epoch the clock is in', () => {
    const b = new AtomicBudget(10, { refillPolicy: 'carry', leakBackstop: false });
    let due = false;
    b.followSchedule(() => {
      if (due) {
        due = false;
        b.refill();
      }
    });
    const permit = b.tryAcquireSync(8)!;
    due = true; // a boundary passed; nothing touched the budget
    permit.commitSync();
    expect(b.snapshot()).toMatchObject({ epoch: 1, available: 2 });
  });

  it('runs the schedule before utilization is read, as before every other read', () => {
    for (const b of [new AtomicBudget(10), new AtomicTokenBudget(10)]) {
      let due = false;
      b.followSchedule(() => {
        if (due) {
          due = false;
          b.refill();
        }
      });
      expect(b.tryReserveSync(10)).toBe(true);
      expect(b.utilization()).toBe(1);
      due = true; // a boundary passed: the gauge must not report the old epoch's use
      expect(b.utilization()).toBe(0);
      expect(b.epoch).toBe(1);
    }
  });

  it('runs the schedule before a token reservation refunds', () => {
    const tb = new AtomicTokenBudget(10, { leakBackstop: false });
    let due = false;
    tb.followSchedule(() => {
      if (due) {
        due = false;
        tb.refill();
      }
    });
    const r = tb.tryReserveTokensSync(6)!;
    due = true;
    r[Symbol.dispose](); // fenced by the reset the clock already began
    expect(tb.snapshot()).toMatchObject({ epoch: 1, available: 10 });
    expect(tb.tryReserveTokensSync(10)).not.toBeNull();
  });

  it('follows one schedule at a time, and a detached one no longer runs', () => {
    const b = new AtomicBudget(5);
    let calls = 0;
    const detach = b.followSchedule(() => {
      calls++;
    });
    expect(codeOf(() => b.followSchedule(() => {}))).toBe('INVALID_ARGUMENT');
    b.available();
    detach();
    detach();
    b.available();
    expect(calls).toBe(1);
    expect(codeOf(() => b.followSchedule(42 as never))).toBe('INVALID_ARGUMENT');
    b.followSchedule(() => {});
  });
});

describe('partial commit: keep what was used, return the rest in one step', () => {
  it('returns the unused part to the epoch the permit was taken in', () => {
    const b = new AtomicBudget(10, { leakBackstop: false });
    const p = b.tryAcquireSync(8)!;
    expect(p.commitSync(3)).toBe(true);
    expect(b.snapshot()).toMatchObject({ available: 7, held: 0 });
    expect(p.commitSync(3)).toBe(false); // settled once
    expect(p.releaseSync()).toBe(false);
    b.refill();
    expect(b.available()).toBe(10); // the 3 used stayed spent until the refill
  });

  it('under carry, a permit carried into a new epoch returns its unused part there', () => {
    const b = new AtomicBudget(10, { refillPolicy: 'carry', leakBackstop: false });
    const p = b.tryAcquireSync(8)!;
    b.refill();
    expect(b.available()).toBe(2);
    p.commitSync(3);
    expect(b.available()).toBe(7);
  });

  it('under reset, a permit from an older epoch returns nothing', () => {
    const b = new AtomicBudget(10, { leakBackstop: false });
    const p = b.tryAcquireSync(8)!;
    b.refill();
    p.commitSync(3);
    expect(b.available()).toBe(10);
  });

  it('refuses a used that is not an amount or exceeds the cost, before anything changes', () => {
    const b = new AtomicBudget(10, { leakBackstop: false });
    const p = b.tryAcquireSync(8)!;
    for (const bad of [-1, 9, 1.5, Number.NaN, '3' as never, null as never]) {
      expect(codeOf(() => p.commitSync(bad))).toBe('INVALID_AMOUNT');
    }
    expect([p.state, b.available()]).toEqual(['held', 2]);
    expect(p.commitSync(undefined)).toBe(true); // absent: all of it
    expect(b.available()).toBe(2);
  });

  it('reports what it kept and what it returned, and a waiting line sees the return', () => {
    const events: BudgetEvent[] = [];
    const b = new AtomicBudget(10, { leakBackstop: false, observer: (e) => events.push(e) });
    b.tryAcquireSync(6)!.commitSync(2);
    expect(events.at(-1)).toEqual({
      type: 'commit',
      budget: undefined,
      cost: 6,
      used: 2,
      refunded: 4,
    });
  });
});
