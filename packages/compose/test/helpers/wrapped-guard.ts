import type { AtomicBudget, SyncBudgetGuard } from '@budgetry/core';

/**
 * A hand-written synchronous guard over `inner`, as a user would write one: allOf cannot
 * trust it to fail clean, so it reads its availability before charging it. `declared`: it
 * passes on `inner`'s capabilities; otherwise it declares none.
 */
export function wrappedGuard(inner: AtomicBudget, declared = true): SyncBudgetGuard {
  return {
    ...(declared ? { capabilities: inner.capabilities } : {}),
    get capacity() {
      return inner.capacity;
    },
    available: () => inner.available(),
    tryReserveSync: (cost: number) => inner.tryReserveSync(cost),
    releaseSync: (cost: number) => inner.releaseSync(cost),
    tryAcquireSync: (cost: number) => inner.tryAcquireSync(cost),
    tryReserve: async (cost: number) => inner.tryReserveSync(cost),
    release: async (cost: number) => inner.releaseSync(cost),
    tryAcquire: async (cost: number) => inner.tryAcquireSync(cost),
  } as unknown as SyncBudgetGuard;
}
