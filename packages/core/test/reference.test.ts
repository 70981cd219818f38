// TypeScript twins of every test in the reference module (`budget.rs`, `mod tests`). Each
// title names the original; each asserts the same meaning. Where the reference's behaviour is
// one budgetry fixes, the twin asserts what the reference's test asserts, and the fix has its
// own regression test in `fixes.test.ts`.
import { describe, expect, it } from 'vitest';
import { AtomicBudget } from '../src/budgets/atomic-budget.js';
import { AtomicTokenBudget } from '../src/budgets/atomic-token-budget.js';

describe('reference twins (budget.rs)', () => {
  it('reserve_until_empty: reserves to exhaustion, denies, then reserves again after a release', async () => {
    const b = new AtomicBudget(100);
    expect(await b.tryReserve(60)).toBe(true);
    expect(await b.tryReserve(40)).toBe(true);
    expect(await b.tryReserve(1)).toBe(false);
    await b.release(50);
    expect(await b.tryReserve(50)).toBe(true);
  });

  it('release_caps_at_capacity: a release larger than what is held never lifts available above capacity', async () => {
    const b = new AtomicBudget(10);
    expect(await b.tryReserve(5)).toBe(true);
    await b.release(100);
    expect(b.available()).toBe(10);
  });

  it('refill_restores_capacity: refill makes the budget full again', async () => {
    const b = new AtomicBudget(100);
    expect(await b.tryReserve(75)).toBe(true);
    expect(b.available()).toBe(25);
    b.refill();
    expect(b.available()).toBe(100);
  });

  it('utilization_tracks_consumption: utilization is the reserved fraction of capacity', async () => {
    const b = new AtomicBudget(100);
    expect(Math.abs(b.utilization() - 0)).toBeLessThan(Number.EPSILON);
    expect(await b.tryReserve(40)).toBe(true);
    expect(Math.abs(b.utilization() - 0.4)).toBeLessThan(Number.EPSILON);
  });

  it('token_budget_reserves_records_and_reports: recording refunds the unused estimate and reports consumption', async () => {
    const tb = new AtomicTokenBudget(1_000);
    const reservation = await tb.tryReserveTokens(400);
    expect(reservation).not.toBeNull();
    await tb.recordUsage(reservation!, 120, 80);
    expect(await tb.tokensConsumed()).toBe(200);
    // Hold the second reservation so its refund does not restore the budget before the deny check.
    using _hold = (await tb.tryReserveTokens(800))!;
    expect(_hold).not.toBeNull();
    expect(await tb.tryReserveTokens(1)).toBeNull();
  });

  it('token_budget_debits_overage: usage above the estimate is debited from the budget', async () => {
    const tb = new AtomicTokenBudget(1_000);
    const reservation = (await tb.tryReserveTokens(100))!;
    await tb.recordUsage(reservation, 150, 50);
    expect(await tb.tokensConsumed()).toBe(200);
    expect(tb.available()).toBe(800);
  });

  it('token_budget_reconciles_each_reservation_independently: each reservation reconciles against its own estimate', async () => {
    const tb = new AtomicTokenBudget(1_000);
    const first = (await tb.tryReserveTokens(400))!;
    const second = (await tb.tryReserveTokens(400))!;
    expect(tb.available()).toBe(200);

    await tb.recordUsage(first, 100, 100);
    expect(tb.available()).toBe(400);
    expect(await tb.tryReserveTokens(401)).toBeNull();

    await tb.recordUsage(second, 200, 200);
    expect(tb.available()).toBe(400);
    expect(await tb.tokensConsumed()).toBe(600);
  });

  it('token_reservation_reports_estimate: the handle carries its estimate', async () => {
    const tb = new AtomicTokenBudget(10);
    const reservation = (await tb.tryReserveTokens(7))!;
    expect(reservation.estimate).toBe(7);
  });

  it('token_reservation_refunds_on_drop: disposing an unrecorded reservation refunds its estimate', async () => {
    const tb = new AtomicTokenBudget(1_000);
    {
      using _reservation = (await tb.tryReserveTokens(400))!;
      expect(tb.available()).toBe(600);
    } // disposed without recordUsage
    expect(tb.available()).toBe(1_000);
    expect(await tb.tokensConsumed()).toBe(0);
  });

  it('token_reservation_refund_is_capped_at_capacity: a refund never lifts available above capacity', async () => {
    const tb = new AtomicTokenBudget(100);
    const r = (await tb.tryReserveTokens(40))!;
    r[Symbol.dispose]();
    expect(tb.available()).toBe(100);
    r[Symbol.dispose]();
    expect(tb.available()).toBe(100);
  });
});
