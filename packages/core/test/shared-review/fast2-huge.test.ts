// Review 2: huge costs on the lock-free count path — the 2^28 cost bound and the 2^30 bound of
// units pending in one sequence of the fast word — and a capacity of 2^53 − 1: the budget's
// words stay exact, nothing carries into the word's sequence.
import { SharedBudget } from '@budgetry/core';
import { expect, it } from 'vitest';

const MAX = Number.MAX_SAFE_INTEGER;

it('many 2^28 reservations without the lock on a 2^53 − 1 budget stay exact', () => {
  const budget = new SharedBudget(MAX, { leakBackstop: false });
  const other = SharedBudget.open(budget.share(), { leakBackstop: false });
  const costs = [2 ** 28, 2 ** 28 - 1, 2 ** 28 + 1, 1, 2 ** 28, 2 ** 28, 2 ** 28, 2 ** 28];
  let held = 0;
  for (let round = 0; round < 3; round++) {
    for (const cost of costs) {
      expect(other.tryReserveSync(cost)).toBe(true);
      held += cost;
    }
  }
  expect(budget.snapshot()).toMatchObject({ available: MAX - held, held });
  for (let round = 0; round < 3; round++) for (const cost of costs) other.releaseSync(cost);
  expect(budget.snapshot()).toMatchObject({ available: MAX, held: 0, overReleased: 0 });
  // 2^32 units in a row without a lock between them: more than a word's low half holds.
  for (let i = 0; i < 16; i++) expect(other.tryReserveSync(2 ** 28)).toBe(true);
  expect(budget.snapshot()).toMatchObject({ available: MAX - 2 ** 32, held: 2 ** 32 });
  for (let i = 0; i < 16; i++) other.releaseSync(2 ** 28);
  expect(budget.snapshot()).toMatchObject({ available: MAX, held: 0, overReleased: 0 });
  expect(other.tryReserveSync(MAX)).toBe(true);
  expect(other.tryReserveSync(1)).toBe(false);
  other.releaseSync(MAX);
  expect(budget.snapshot()).toMatchObject({ available: MAX, held: 0, overReleased: 0 });
  other.close();
  budget.close();
});
