// Review: a handle dropped without close() (garbage) strands its lane and its count holds.
import { SharedBudget } from '@budgetry/core';
import { describe, expect, it } from 'vitest';

const gc = (globalThis as { gc?: () => void }).gc!;

describe('review: dropped handles', () => {
  it("a garbage-collected, never-closed handle's count holds come back (leak backstop or lease)", async () => {
    const budget = new SharedBudget(10, { leaseMs: 1_000, maxHandles: 4 });
    let ref: WeakRef<object> | undefined;
    (() => {
      const h = SharedBudget.open(budget.share());
      h.tryReserveSync(5);
      ref = new WeakRef(h);
    })();
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setTimeout(r, 20));
      gc();
    }
    expect(ref!.deref()).toBeUndefined(); // the handle object is gone...
    budget.reclaimExpired();
    // ...and a finalizer gave its lane and its 5 units back (its heartbeat timer alone would
    // have kept the lane beating forever).
    expect(budget.snapshot()).toMatchObject({ available: 10, held: 0, handles: 1 });
    budget.close();
  });
});
