// A head that gives up while the guard is denying it, after a notify() already made the line
// try it again, must not strand the waiter behind it: the line serves the next head. Found
// while extending the random histories to cost 0 (which is now granted past the line, and so
// calls the guard from inside its events): the line compared the room with the departed
// head's cost and went back to sleep with the new head fitting.
import { AtomicBudget } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { waiting } from '../src/index.js';
import { flush, outcome } from './helpers/waiting-outcome.js';

describe('a head that leaves during a second denial', () => {
  it('the next waiter is served when it fits', async () => {
    let line: ReturnType<typeof waiting> | undefined;
    let denials = -1; // not counting until the line is set up
    const headCtl = new AbortController();
    const budget = new AtomicBudget(5, {
      leakBackstop: false,
      observer: (event) => {
        if (event.type !== 'deny' || denials < 0) return;
        denials++;
        if (denials === 1) line!.notify(); // units "freed" while the head is denied: try again
        if (denials === 2) headCtl.abort(); // the head gives up while it is denied again
      },
    });
    line = waiting(budget);
    expect(budget.tryReserveSync(3)).toBe(true); // 2 free
    const head = outcome(line.acquire(3, { signal: headCtl.signal, priority: 1 }));
    const next = outcome(line.acquire(2));
    await flush();
    expect([head.now(), next.now()]).toEqual(['pending', 'pending']);
    denials = 0;
    line.notify();
    await flush();
    expect([head.now(), next.now(), budget.available()]).toEqual(['ABORTED', 'granted 2', 0]);
    expect(line.pending).toBe(0);
  });
});
