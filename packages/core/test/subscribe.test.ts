import { describe, expect, it } from 'vitest';
import { AtomicBudget } from '../src/budgets/atomic-budget.js';
import { AtomicTokenBudget } from '../src/budgets/atomic-token-budget.js';
import { BudgetError } from '../src/spec/budget-error.js';

describe('subscribe', () => {
  it('delivers events to listeners after the constructor observer, until unsubscribed', () => {
    const seen: string[] = [];
    const b = new AtomicBudget(5, { observer: (e) => seen.push(`own:${e.type}`) });
    const stop = b.subscribe((e) => seen.push(`a:${e.type}`));
    b.tryReserveSync(2);
    stop();
    stop();
    b.releaseSync(2);
    expect(seen).toEqual(['own:reserve', 'a:reserve', 'own:release']);
  });

  it('keeps delivering to the others when a listener unsubscribes during delivery', () => {
    const tb = new AtomicTokenBudget(10);
    const seen: string[] = [];
    const stopFirst = tb.subscribe(() => {
      seen.push('first');
      stopFirst();
    });
    tb.subscribe(() => seen.push('second'));
    tb.tryReserveTokensSync(1);
    tb.tryReserveTokensSync(1);
    expect(seen).toEqual(['first', 'second', 'second']);
  });

  it('removes one registration of a listener added twice', () => {
    const b = new AtomicBudget(5);
    let calls = 0;
    const listener = (): void => {
      calls++;
    };
    const stop = b.subscribe(listener);
    b.subscribe(listener);
    stop();
    b.tryReserveSync(1);
    expect(calls).toBe(1);
  });

  it('rejects a listener that is not a function and changes nothing', () => {
    const b = new AtomicBudget(5);
    let error: unknown;
    try {
      b.subscribe('log' as never);
    } catch (e) {
      error = e;
    }
    expect(BudgetError.isInstance(error) && error.code).toBe('INVALID_ARGUMENT');
    expect(b.tryReserveSync(1)).toBe(true);
  });
});
