// A budget that follows a refill schedule catches it up before each call, but only for a call
// it will accept: invalid input changes nothing, a refill that was due included. This holds for
// the reservation handle of `recordUsageSync` as for its amounts.
import { describe, expect, it } from 'vitest';
import { AtomicTokenBudget } from '../src/budgets/atomic-token-budget.js';
import { TokenReservation } from '../src/budgets/token-reservation.js';
import { SharedTokenBudget } from '../src/shared/shared-token-budget.js';
import { BudgetError } from '../src/spec/budget-error.js';

type Scheduled = AtomicTokenBudget | SharedTokenBudget;

const kinds: [string, (capacity: number) => Scheduled][] = [
  ['AtomicTokenBudget', (c) => new AtomicTokenBudget(c, { leakBackstop: false })],
  ['SharedTokenBudget', (c) => new SharedTokenBudget(c, { leakBackstop: false })],
];

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return BudgetError.isInstance(error) ? error.code : String(error);
  }
  return 'returned';
}

describe.each(kinds)('%s following a schedule', (_, make) => {
  it('applies no due refill for a call it refuses for its reservation handle', () => {
    const budget = make(10);
    const other = make(10);
    let due = 0;
    budget.followSchedule(() => {
      if (due > 0) budget.refill(due);
      due = 0;
    });
    const held = budget.tryReserveTokensSync(4)!;
    const settled = budget.tryReserveTokensSync(1)!;
    budget.recordUsageSync(settled, 1, 0);
    const foreign = other.tryReserveTokensSync(2)!;
    const forged = new TokenReservation({ estimate: 3, owner: budget, refund: () => {} });
    const before = budget.snapshot(); // every read catches the schedule up: before it is due
    due = 1;
    expect(codeOf(() => budget.recordUsageSync(foreign, 1, 0))).toBe('FOREIGN_HANDLE');
    expect(codeOf(() => budget.recordUsageSync(settled, 1, 0))).toBe('ALREADY_SETTLED');
    expect(codeOf(() => budget.recordUsageSync({} as never, 1, 0))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => budget.recordUsageSync(held, -1, 0))).toBe('INVALID_AMOUNT');
    const most = Number.MAX_SAFE_INTEGER;
    expect(codeOf(() => budget.recordUsageSync(held, most, 1))).toBe('INVALID_AMOUNT');
    // Refused, with the refill still due and nothing changed.
    expect(due).toBe(1);
    expect([held.state, settled.state, foreign.state]).toEqual(['armed', 'recorded', 'armed']);
    // An accepted call catches the schedule up first: the held reservation is fenced by then.
    budget.recordUsageSync(held, 2, 0);
    expect(due).toBe(0);
    expect(budget.snapshot().epoch).toBe(before.epoch + 1);
    // A forged handle names this budget as its owner and is told apart only by its refund
    // channel, which the budget's own method checks: refused all the same.
    expect(codeOf(() => budget.recordUsageSync(forged, 1, 0))).toBe('FOREIGN_HANDLE');
    for (const b of [budget, other]) if (b instanceof SharedTokenBudget) b.close();
  });
});
