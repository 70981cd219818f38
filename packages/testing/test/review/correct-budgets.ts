// Budgets that are correct per the brief (sections 3 and 4) but unusual in shape.
import {
  AtomicBudget,
  AtomicTokenBudget,
  assertAmount,
  BudgetError,
  type SyncBudgetPermit,
  type TokenReservation,
} from '@budgetry/core';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A permit whose second settle throws ALREADY_SETTLED (the brief: "a no-op or an error"). */
export class ThrowOnSecondSettle {
  private readonly inner: AtomicBudget;
  constructor(capacity: number, policy: 'reset' | 'carry') {
    this.inner = new AtomicBudget(capacity, { refillPolicy: policy, leakBackstop: false });
  }
  tryReserve(c: number) {
    return this.inner.tryReserve(c);
  }
  release(c: number) {
    return this.inner.release(c);
  }
  available() {
    return this.inner.available();
  }
  refill() {
    this.inner.refill();
  }
  async tryAcquire(c: number) {
    const p = await this.inner.tryAcquire(c);
    if (p === null) return null;
    const once = (settled: boolean) => {
      if (!settled) {
        throw new BudgetError({
          code: 'ALREADY_SETTLED',
          message: 'this permit is already settled',
        });
      }
      return true;
    };
    return {
      cost: c,
      release: async () => once(p.releaseSync()),
      commit: async () => once(p.commitSync()),
      [Symbol.asyncDispose]: async () => {
        p.releaseSync();
      },
    };
  }
}

/** Every method applies at once, then answers after `ms` of "network" (resolves late). */
export class SlowReplies {
  private readonly inner: AtomicBudget;
  constructor(
    capacity: number,
    policy: 'reset' | 'carry',
    private readonly ms: number,
  ) {
    this.inner = new AtomicBudget(capacity, { refillPolicy: policy, leakBackstop: false });
  }
  async tryReserve(c: number) {
    const r = this.inner.tryReserveSync(c);
    await sleep(this.ms);
    return r;
  }
  async release(c: number) {
    this.inner.releaseSync(c);
    await sleep(this.ms);
  }
  async available() {
    const a = this.inner.available();
    await sleep(this.ms);
    return a;
  }
  refill() {
    this.inner.refill();
  }
  async tryAcquire(c: number) {
    const p = this.inner.tryAcquireSync(c);
    await sleep(this.ms);
    if (p === null) return null;
    const ms = this.ms;
    return {
      async release() {
        const r = p.releaseSync();
        await sleep(ms);
        return r;
      },
      async commit() {
        const r = p.commitSync();
        await sleep(ms);
        return r;
      },
      async [Symbol.asyncDispose]() {
        p.releaseSync();
        await sleep(ms);
      },
    };
  }
}

/**
 * A non-blocking try-lock in front of an exact budget: a reservation that finds another call
 * holding the lock is denied (spurious denial under contention, declared with
 * `linearizable: false`). Validation happens under the lock, still before any state change.
 */
export class TryLockGuard {
  private locked = false;
  private readonly inner: AtomicBudget;
  constructor(capacity: number) {
    this.inner = new AtomicBudget(capacity, { leakBackstop: false });
  }
  async tryReserve(cost: number): Promise<boolean> {
    if (this.locked) {
      assertAmount(cost, 'cost');
      return cost === 0; // contended: deny (but 0 is always granted)
    }
    this.locked = true;
    try {
      await Promise.resolve(); // the lock round trip
      return this.inner.tryReserveSync(cost); // validates, then acts
    } finally {
      this.locked = false;
    }
  }
  async release(cost: number): Promise<void> {
    assertAmount(cost, 'cost');
    await Promise.resolve();
    this.inner.releaseSync(cost);
  }
  available(): number {
    return this.inner.available();
  }
}

/** Fully synchronous: every method returns a plain value, permits too. */
export function syncGuard(capacity: number, policy: 'reset' | 'carry') {
  const b = new AtomicBudget(capacity, { refillPolicy: policy, leakBackstop: false });
  const wrap = (p: SyncBudgetPermit) => ({
    release: () => p.releaseSync(),
    commit: () => p.commitSync(),
    [Symbol.dispose]: () => p[Symbol.dispose](),
  });
  return {
    tryReserve: (c: number) => b.tryReserveSync(c),
    release: (c: number) => b.releaseSync(c),
    tryAcquire: (c: number) => {
      const p = b.tryAcquireSync(c);
      return p === null ? null : wrap(p);
    },
    available: () => b.available(),
    refill: () => b.refill(),
  };
}

/** Every call goes through one FIFO queue with an await per step (a serialized backend). */
export class QueuedGuard {
  private tail: Promise<unknown> = Promise.resolve();
  private readonly inner: AtomicBudget;
  constructor(capacity: number, policy: 'reset' | 'carry') {
    this.inner = new AtomicBudget(capacity, { refillPolicy: policy, leakBackstop: false });
  }
  private run<T>(fn: () => T): Promise<T> {
    const next = this.tail.then(async () => {
      await Promise.resolve();
      return fn();
    });
    this.tail = next.catch(() => undefined);
    return next;
  }
  tryReserve(c: number) {
    return this.run(() => this.inner.tryReserveSync(c));
  }
  release(c: number) {
    return this.run(() => this.inner.releaseSync(c));
  }
  available() {
    return this.run(() => this.inner.available());
  }
  refill() {
    return this.run(() => this.inner.refill());
  }
  async tryAcquire(c: number) {
    const p = await this.run(() => this.inner.tryAcquireSync(c));
    if (p === null) return null;
    return {
      release: () => this.run(() => p.releaseSync()),
      commit: () => this.run(() => p.commitSync()),
      [Symbol.asyncDispose]: () => this.run(() => p.releaseSync()).then(() => undefined),
    };
  }
}

/** AtomicTokenBudget whose reservations' disarm() returns undefined instead of null. */
export function undefinedDisarm(capacity: number, policy: 'reset' | 'carry') {
  const b = new AtomicTokenBudget(capacity, { refillPolicy: policy, leakBackstop: false });
  const map = new WeakMap<object, TokenReservation>();
  return {
    available: () => b.available(),
    debt: () => b.debt(),
    refill: () => b.refill(),
    tokensConsumed: () => b.tokensConsumedSync(),
    tryReserveTokens: (e: number) => {
      const r = b.tryReserveTokensSync(e);
      if (r === null) return undefined as unknown as null; // a plain `undefined` denial
      const handle = {
        estimate: r.estimate,
        disarm: () => r.disarm() ?? undefined,
        [Symbol.dispose]: () => r[Symbol.dispose](),
      };
      map.set(handle, r);
      return handle;
    },
    recordUsage: (h: object, p: number, c: number) => {
      const r = map.get(h);
      if (r === undefined) {
        throw new BudgetError({ code: 'FOREIGN_HANDLE', message: 'not ours' });
      }
      b.recordUsageSync(r, p, c);
    },
  };
}
