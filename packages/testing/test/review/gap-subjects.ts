// Budgets whose bug sits where the kit's generator used to not look: more calls in flight
// than a batch started, an invalid amount on partial commit, an async dispose after record.
import {
  AtomicTokenBudget,
  assertAmount,
  BudgetError,
  type TokenReservation,
} from '@budgetry/core';

/** A correct fast path for up to `lanes` calls in flight; beyond that, a racy fallback. */
export function lanes(capacity: number, lanesCount: number) {
  let avail = capacity;
  let pool = 0;
  let inflight = 0;
  const enter = async <T>(fast: () => T, slow: () => Promise<T>): Promise<T> => {
    inflight++;
    try {
      if (inflight > lanesCount) return await slow();
      await Promise.resolve();
      return fast();
    } finally {
      inflight--;
    }
  };
  return {
    tryReserve(c: number) {
      assertAmount(c, 'cost');
      return enter(
        () => {
          if (c > avail) return false;
          avail -= c;
          pool += c;
          return true;
        },
        async () => {
          const seen = avail; // BUG: check-then-act on the overflow path
          await Promise.resolve();
          if (c > seen) return false;
          avail = seen - c;
          pool += c;
          return true;
        },
      );
    },
    release(c: number) {
      assertAmount(c, 'cost');
      return enter(
        () => {
          const back = Math.min(c, pool);
          pool -= back;
          avail += back;
        },
        async () => {
          const back = Math.min(c, pool);
          pool -= back;
          const seen = avail; // BUG: lost update on the overflow path
          await Promise.resolve();
          avail = seen + back;
        },
      );
    },
    available: () => avail,
  };
}

/** A permit whose commit(used) never validates `used`: commit(-2) hands back cost + 2. */
export function unvalidatedCommit(capacity: number) {
  let avail = capacity;
  let pool = 0;
  return {
    async tryReserve(c: number) {
      assertAmount(c, 'cost');
      if (c > avail) return false;
      avail -= c;
      pool += c;
      return true;
    },
    async release(c: number) {
      assertAmount(c, 'cost');
      const back = Math.min(c, pool);
      pool -= back;
      avail += back;
    },
    available: () => avail,
    async tryAcquire(c: number) {
      assertAmount(c, 'cost');
      if (c > avail) return null;
      avail -= c;
      let held = true;
      return {
        async release() {
          if (!held) return false;
          held = false;
          avail += c;
          return true;
        },
        async commit(used?: number) {
          const spent = used ?? c;
          if (spent > c) throw new BudgetError({ code: 'INVALID_AMOUNT', message: 'used > cost' });
          if (!held) return false;
          held = false;
          avail += c - spent; // BUG: spent may be negative, fractional or NaN
          return true;
        },
      };
    },
  };
}

/** Reservations whose Symbol.asyncDispose refunds the estimate again after recordUsage. */
export function asyncDisposeAfterRecord(capacity: number) {
  const b = new AtomicTokenBudget(capacity, { leakBackstop: false });
  const inner = new WeakMap<object, TokenReservation>();
  return {
    available: () => b.available(),
    debt: () => b.debt(),
    tokensConsumed: () => b.tokensConsumedSync(),
    tryReserveTokens(e: number) {
      const r = b.tryReserveTokensSync(e);
      if (r === null) return null;
      let recorded = false;
      let refundedAfter = false;
      const h = {
        estimate: e,
        disarm: () => r.disarm(),
        [Symbol.dispose]: () => r[Symbol.dispose](),
        async [Symbol.asyncDispose]() {
          if (recorded && !refundedAfter) {
            refundedAfter = true;
            // BUG: a clean-up path that refunds a recorded reservation's estimate once more.
            (b as unknown as { net: number }).net += e;
            return;
          }
          await r[Symbol.asyncDispose]();
        },
      };
      inner.set(h, r);
      return Object.assign(h, {
        markRecorded: () => {
          recorded = true;
        },
      });
    },
    recordUsage(h: { markRecorded(): void }, p: number, c: number) {
      const r = inner.get(h);
      if (r === undefined)
        throw new BudgetError({ code: 'FOREIGN_HANDLE', message: 'not issued here' });
      b.recordUsageSync(r, p, c);
      h.markRecorded();
    },
  };
}
