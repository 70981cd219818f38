import type { AtomicBudget, BudgetPermit, PermitBudgetGuard } from '@budgetry/core';

/** How a {@link remoteGuard} misbehaves. */
export interface RemoteFaults {
  /** `tryAcquire` rejects without charging anything. */
  rejectAcquire?: boolean;
  /** Its permits' `release()` throws synchronously instead of returning a rejection. */
  throwOnRelease?: boolean;
  /** The first permit `release()` of the guard rejects (a transient error), later ones work. */
  rejectFirstRelease?: boolean;
}

/**
 * An asynchronous guard over an in-process budget, standing for a remote one, with faults on
 * demand. A permit whose release throws still holds its units: the budget shows it.
 */
export function remoteGuard(inner: AtomicBudget, faults: RemoteFaults = {}): PermitBudgetGuard {
  let transient = faults.rejectFirstRelease === true;
  return {
    async tryAcquire(cost) {
      if (faults.rejectAcquire) throw new Error('backend unavailable');
      const p = inner.tryAcquireSync(cost);
      if (p === null) return null;
      const permit: BudgetPermit = {
        cost: p.cost,
        epoch: p.epoch,
        get state() {
          return p.state;
        },
        release: faults.throwOnRelease
          ? () => {
              throw new Error('release failed');
            }
          : async () => {
              if (transient) {
                transient = false;
                throw new Error('ECONNRESET');
              }
              return p.release();
            },
        commit: () => p.commit(),
        [Symbol.asyncDispose]: () => p[Symbol.asyncDispose](),
      };
      return permit;
    },
    tryReserve: async (cost) => inner.tryReserveSync(cost),
    release: async (cost) => inner.releaseSync(cost),
  };
}
