// Cost 0 is granted (BRIEF: "Cost 0 is granted"), by a waiting line too, with anyone in line:
// it takes nothing, so it passes nobody. Found by a hostile review: with a waiter in line, a
// cost of 0 was denied by the count API and tryAcquireSync, and queued by acquire.
import { AtomicBudget } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { allOf, hierarchy, waiting } from '../src/index.js';
import { flush, outcome } from './helpers/waiting-outcome.js';

const guards = {
  'an AtomicBudget': () => new AtomicBudget(5, { leakBackstop: false }),
  'a hierarchy tenant': () => hierarchy({ capacity: 5, children: { capacity: 5 } }).child('t'),
  'an all-of': () =>
    allOf({ a: new AtomicBudget(5, { leakBackstop: false }), b: new AtomicBudget(9) }),
};

describe('a waiting line grants cost 0 with someone in line', () => {
  for (const [what, make] of Object.entries(guards)) {
    it(`over ${what}: at once, through every call, taking nothing from the waiter`, async () => {
      const guard = make();
      const line = waiting(guard);
      const hold = line.tryAcquireSync(3)!;
      const head = outcome(line.acquire(4));
      await flush();
      expect([line.pending, head.now()]).toEqual([1, 'pending']);

      expect(line.tryReserveSync(0)).toBe(true);
      line.releaseSync(0);
      const permit = line.tryAcquireSync(0);
      expect(permit?.cost).toBe(0);
      permit!.releaseSync();
      const zero = outcome(line.acquire(0));
      await flush();
      expect(zero.now()).toBe('granted 0');
      zero.permit().releaseSync();

      expect([line.pending, head.now(), guard.available()]).toEqual([1, 'pending', 2]);
      expect(line.tryReserveSync(1)).toBe(false); // anything more still waits its turn
      hold.releaseSync();
      await flush();
      expect([line.pending, head.now(), guard.available()]).toEqual([0, 'granted 4', 1]);
    });
  }
});
