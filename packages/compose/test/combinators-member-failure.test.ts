// Which members hold units after one throws, in allOf and anyOf: a member that threw after
// charging is rolled back too, one that threw before is left alone, and a release a member
// failed is reported as a BACKEND error naming it and can be retried without refunding twice.
import {
  AtomicBudget,
  BudgetError,
  type BudgetPermit,
  type PermitBudgetGuard,
  type SyncBudgetGuard,
  type SyncBudgetPermit,
} from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { allOf } from '../src/all-of/all-of.js';
import { anyOf } from '../src/any-of/any-of.js';

const errorOf = (fn: () => unknown): BudgetError | string | undefined => {
  try {
    fn();
  } catch (error) {
    return BudgetError.isInstance(error) ? error : 'not a BudgetError';
  }
  return undefined;
};

const rejectionOf = async (p: Promise<unknown>): Promise<BudgetError | string | undefined> => {
  try {
    await p;
  } catch (error) {
    return BudgetError.isInstance(error) ? error : 'not a BudgetError';
  }
  return undefined;
};

type Method = 'tryReserveSync' | 'releaseSync' | 'tryAcquireSync';

/**
 * A synchronous guard over an AtomicBudget whose `method` throws on its next call, either
 * before doing anything or after doing its work (as a wrapper whose hook fails would).
 */
class Throwing implements SyncBudgetGuard {
  armed = true;
  constructor(
    readonly inner: AtomicBudget,
    private readonly method: Method,
    private readonly when: 'before' | 'after',
  ) {}
  get capacity(): number {
    return this.inner.capacity;
  }
  available(): number {
    return this.inner.available();
  }
  tryReserveSync(cost: number): boolean {
    return this.call('tryReserveSync', () => this.inner.tryReserveSync(cost));
  }
  releaseSync(cost: number): void {
    this.call('releaseSync', () => this.inner.releaseSync(cost));
  }
  tryAcquireSync(cost: number): SyncBudgetPermit | null {
    return this.call('tryAcquireSync', () => this.inner.tryAcquireSync(cost));
  }
  async tryReserve(cost: number): Promise<boolean> {
    return this.tryReserveSync(cost);
  }
  async release(cost: number): Promise<void> {
    this.releaseSync(cost);
  }
  async tryAcquire(cost: number): Promise<SyncBudgetPermit | null> {
    return this.tryAcquireSync(cost);
  }
  private call<T>(method: Method, work: () => T): T {
    const fire = this.armed && method === this.method;
    if (fire) this.armed = false;
    if (fire && this.when === 'before') throw new Error(`${method} failed`);
    const result = work();
    if (fire) throw new Error(`${method} failed after its work`);
    return result;
  }
}

/** A permit whose release throws once, before settling anything. */
function failingOnce(p: SyncBudgetPermit): SyncBudgetPermit {
  let fail = true;
  return Object.assign(Object.create(p) as SyncBudgetPermit, {
    releaseSync: () => {
      if (fail) {
        fail = false;
        throw new Error('release failed');
      }
      return p.releaseSync();
    },
    release: async () => {
      if (fail) {
        fail = false;
        throw new Error('release failed');
      }
      return p.releaseSync();
    },
  });
}

/** An asynchronous guard over `inner` whose permits' first release fails. */
function remoteFailingRelease(inner: AtomicBudget): PermitBudgetGuard {
  return {
    async tryAcquire(cost: number): Promise<BudgetPermit | null> {
      const p = inner.tryAcquireSync(cost);
      return p === null ? null : failingOnce(p);
    },
    tryReserve: async (cost) => inner.tryReserveSync(cost),
    release: async (cost) => inner.releaseSync(cost),
  };
}

describe('allOf: which members hold units after a member throws', () => {
  it('rolls back a member that threw after charging, and leaves one that threw before alone', () => {
    for (const [size, at] of [
      [3, 2], // general path
      [3, 0],
      [2, 1], // pair path
      [2, 0],
    ] as const) {
      for (const when of ['after', 'before'] as const) {
        const inner = Array.from({ length: size }, () => new AtomicBudget(10));
        // Someone else holds 3 units of the failing member: they must stay held.
        expect(inner[at]!.tryReserveSync(3)).toBe(true);
        const members: SyncBudgetGuard[] = inner.map((b, i) =>
          i === at ? new Throwing(b, 'tryReserveSync', when) : b,
        );
        const gate = allOf(members);
        const error = errorOf(() => gate.tryReserveSync(4));
        expect(error).toBeInstanceOf(BudgetError);
        expect((error as BudgetError).code).toBe('BACKEND');
        expect((error as BudgetError).details).toEqual({ member: at });
        expect(inner.map((b) => b.available())).toEqual(inner.map((_, i) => (i === at ? 7 : 10)));
        expect(gate.held()).toBe(0);
      }
    }
  });
});

describe('allOf: members taken to fail clean', () => {
  it('are only core budgets themselves: a subclass that throws after charging is rolled back', () => {
    class Audited extends AtomicBudget {
      override tryReserveSync(cost: number): boolean {
        const ok = super.tryReserveSync(cost);
        if (ok) throw new Error('audit log unavailable');
        return ok;
      }
    }
    for (const members of [
      [new AtomicBudget(10), new Audited(10)], // pair path
      [new Audited(10), new AtomicBudget(10)],
      [new AtomicBudget(10), new AtomicBudget(10), new Audited(10)], // general path
    ]) {
      const gate = allOf(members);
      expect((errorOf(() => gate.tryReserveSync(4)) as BudgetError).code).toBe('BACKEND');
      expect(members.map((m) => m.available())).toEqual(members.map(() => 10));
    }
  });
});

describe('anyOf: a member that fails', () => {
  it('is released again when it threw after charging a count reservation', () => {
    const a = new AtomicBudget(10);
    const pool = anyOf({ a: new Throwing(a, 'tryReserveSync', 'after') });
    const error = errorOf(() => pool.tryReserveSync(4));
    expect((error as BudgetError).code).toBe('BACKEND');
    expect((error as BudgetError).details).toEqual({ member: 'a' });
    expect(a.available()).toBe(10);
    expect(pool.held()).toBe(0);
  });

  it('reports a failed count release as BACKEND naming the member, and keeps it retryable', () => {
    const a = new AtomicBudget(10);
    const pool = anyOf({ a: new Throwing(a, 'releaseSync', 'before') });
    expect(pool.tryReserveSync(4)).toBe(true);
    const error = errorOf(() => pool.releaseSync(4));
    expect((error as BudgetError).code).toBe('BACKEND');
    expect((error as BudgetError).details).toEqual({ member: 'a' });
    expect([a.available(), pool.held()]).toEqual([6, 4]);
    pool.releaseSync(4); // the retry
    expect([a.available(), pool.held(), pool.overReleased()]).toEqual([10, 0, 0]);
  });

  it('never releases twice for a member that failed after returning the units', () => {
    const a = new AtomicBudget(10);
    expect(a.tryReserveSync(3)).toBe(true); // someone else's count reservation
    const pool = anyOf({ a: new Throwing(a, 'releaseSync', 'after') });
    expect(pool.tryReserveSync(4)).toBe(true);
    expect((errorOf(() => pool.releaseSync(4)) as BudgetError).code).toBe('BACKEND');
    expect([a.available(), pool.held()]).toEqual([7, 0]);
    pool.releaseSync(4); // nothing left to release: counted, ignored
    expect([a.available(), pool.overReleased()]).toEqual([7, 4]);
  });

  it('reports a failed permit release as BACKEND naming the member; the permit can settle again', () => {
    const a = new AtomicBudget(10);
    const member = new Throwing(a, 'releaseSync', 'before');
    member.tryAcquireSync = (cost) => {
      const p = a.tryAcquireSync(cost);
      return p === null ? null : failingOnce(p);
    };
    const permit = anyOf({ a: member }).tryAcquireSync(4)!;
    const error = errorOf(() => permit.releaseSync());
    expect((error as BudgetError).code).toBe('BACKEND');
    expect((error as BudgetError).details).toEqual({ member: 'a' });
    expect(permit.state).toBe('held');
    expect(permit.releaseSync()).toBe(true);
    expect(a.available()).toBe(10);
  });

  it('asynchronous: a failed release is BACKEND naming the member and can be retried', async () => {
    const a = new AtomicBudget(10);
    const pool = anyOf({ remote: remoteFailingRelease(a) });
    const permit = (await pool.tryAcquire(2))!;
    const error = await rejectionOf(permit.release());
    expect((error as BudgetError).code).toBe('BACKEND');
    expect((error as BudgetError).details).toEqual({ member: 'remote' });
    expect(await permit.release()).toBe(true);
    expect(a.available()).toBe(10);

    expect(await pool.tryReserve(4)).toBe(true);
    expect(((await rejectionOf(pool.release(4))) as BudgetError).code).toBe('BACKEND');
    expect([a.available(), pool.held()]).toEqual([6, 4]);
    await pool.release(4); // the retry
    expect([a.available(), pool.held()]).toEqual([10, 0]);
  });
});

describe('allOf (asynchronous): a count release a member failed', () => {
  it('stays recorded for the parts still held, and a retry releases only those', async () => {
    const remote = new AtomicBudget(10);
    const local = new AtomicBudget(10);
    const gate = allOf({ remote: remoteFailingRelease(remote), local });
    expect(await gate.tryReserve(3)).toBe(true);
    const error = await rejectionOf(gate.release(3));
    expect((error as BudgetError).code).toBe('BACKEND');
    expect((error as BudgetError).details).toEqual({ member: 'remote' });
    expect([remote.available(), local.available(), gate.held()]).toEqual([7, 10, 3]);
    await gate.release(3); // the retry: only the remote part is still held
    expect([remote.available(), local.available(), gate.held()]).toEqual([10, 10, 0]);
    expect(gate.overReleased()).toBe(0);
  });
});
