import {
  AtomicBudget,
  AtomicTokenBudget,
  BudgetError,
  type BudgetPermit,
  type PermitBudgetGuard,
  type SyncBudgetPermit,
} from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { coordinator } from '../src/coordinator/coordinator.js';

const errorOf = (fn: () => unknown): BudgetError | undefined => {
  try {
    fn();
  } catch (error) {
    if (BudgetError.isInstance(error)) return error;
    throw error;
  }
  return undefined;
};

/** Makes `method` of `target` throw on its first `times` calls, then behave. */
function failing<T extends object>(target: T, method: keyof T & string, times = 1): T {
  const real = (target[method] as (...args: unknown[]) => unknown).bind(target);
  let left = times;
  (target as Record<string, unknown>)[method] = (...args: unknown[]) => {
    if (left > 0) {
      left--;
      throw new Error(`${method} failed`);
    }
    return real(...args);
  };
  return target;
}

const tokens = () => new AtomicTokenBudget(100, { leakBackstop: false });
const rows = () => new AtomicBudget(10, { leakBackstop: false });

describe('settle: a dimension that fails does not strand the others, nor itself', () => {
  it('settleSync: a dimension failing in recordUsage settles the others and stays recoverable by cancel', () => {
    const [before, t, after] = [rows(), failing(tokens(), 'recordUsageSync'), rows()];
    const d = coordinator({ before, t, after }).tryReserveSync({ before: 2, t: 50, after: 3 });
    if (!d.ok) throw new Error('denied');
    const error = errorOf(() => d.permit.settleSync({ before: 1, t: 30, after: 3 }));
    expect(error).toMatchObject({ code: 'BACKEND', details: { dimension: 't' } });
    expect(error?.message).toMatch(/dimension t failed/);
    // Every other dimension is settled; t still holds its estimate, through the dispatch.
    expect([before.available(), after.available(), t.reserved()]).toEqual([9, 7, 50]);
    expect(d.permit.state).toBe('held');
    expect(d.permit.cancelSync()).toBe(true);
    expect([before.available(), after.available(), t.reserved()]).toEqual([9, 7, 0]);
    expect(t.tokensConsumedSync()).toBe(0);
    expect(d.permit.cancelSync()).toBe(false);
  });

  it('settleSync: settling again retries only the dimension that failed, and reports all', () => {
    const [t, room] = [failing(tokens(), 'recordUsageSync'), new AtomicBudget(6)];
    const d = coordinator({ room, t }).tryReserveSync({ room: 4, t: 50 });
    if (!d.ok) throw new Error('denied');
    expect(errorOf(() => d.permit.settleSync({ room: 9, t: 30 }))?.code).toBe('BACKEND');
    expect(room.available()).toBe(0); // 4 + 2 of the 5 over: 3 short
    expect(d.permit.settleSync({ room: 100, t: 30 })).toEqual({
      shortfall: { room: 3 },
      overcharge: {},
    });
    expect([room.available(), t.reserved(), t.tokensConsumedSync()]).toEqual([0, 0, 30]);
    expect(d.permit.state).toBe('settled');
  });

  it('a dispatch left held by a failed settle is released when disposed', () => {
    const t = failing(tokens(), 'recordUsageSync');
    const c = coordinator({ t });
    {
      const d = c.tryReserveSync({ t: 40 });
      if (!d.ok) throw new Error('denied');
      using dispatch = d.permit;
      expect(errorOf(() => dispatch.settleSync({ t: 10 }))?.code).toBe('BACKEND');
    }
    expect(t.reserved()).toBe(0);
  });

  it('a dimension that recorded its usage before throwing is not recorded twice', () => {
    const t = tokens();
    const real = t.recordUsageSync.bind(t);
    t.recordUsageSync = (r, prompt, completion) => {
      real(r, prompt, completion);
      throw new Error('observer failed after the record');
    };
    const d = coordinator({ t }).tryReserveSync({ t: 50 });
    if (!d.ok) throw new Error('denied');
    expect(errorOf(() => d.permit.settleSync({ t: 30 }))?.message).toMatch(/settled nonetheless/);
    expect(d.permit.state).toBe('settled');
    expect([t.reserved(), t.tokensConsumedSync()]).toEqual([0, 30]);
  });

  it('a guard whose overage permit fails to commit keeps nothing of it, and the overage is retried', () => {
    const g = rows();
    const realAcquire = g.tryAcquireSync.bind(g);
    let calls = 0;
    g.tryAcquireSync = (cost: number): SyncBudgetPermit | null => {
      const p = realAcquire(cost);
      if (p === null || ++calls !== 2) return p;
      return failing(p, 'commitSync'); // the overage permit: its first commit throws
    };
    const d = coordinator({ g }).tryReserveSync({ g: 2 });
    if (!d.ok) throw new Error('denied');
    expect(errorOf(() => d.permit.settleSync({ g: 5 }))?.details).toEqual({ dimension: 'g' });
    expect(g.available()).toBe(8); // the estimate is spent; the overage permit was released
    expect(d.permit.settleSync({ g: 5 })).toEqual({ shortfall: {}, overcharge: {} });
    expect(g.available()).toBe(5);
  });

  it('settle: a remote dimension that rejects is kept held, the others are settled', async () => {
    const inner = rows();
    let rejectOnce = true;
    const remote: PermitBudgetGuard = {
      async tryAcquire(cost) {
        const p = inner.tryAcquireSync(cost);
        if (p === null) return null;
        return {
          cost: p.cost,
          epoch: p.epoch,
          get state() {
            return p.state;
          },
          release: () => p.release(),
          commit: async (used?: number) => {
            if (rejectOnce) {
              rejectOnce = false;
              throw new Error('backend unavailable');
            }
            return p.commit(used);
          },
          [Symbol.asyncDispose]: () => p[Symbol.asyncDispose](),
        } satisfies BudgetPermit;
      },
      tryReserve: async (cost) => inner.tryReserveSync(cost),
      release: async (cost) => inner.releaseSync(cost),
    };
    const t = tokens();
    const d = await coordinator({ remote, t }).tryReserve({ remote: 4, t: 20 });
    if (!d.ok) throw new Error('denied');
    await expect(d.permit.settle({ remote: 4, t: 5 })).rejects.toMatchObject({
      code: 'BACKEND',
      details: { dimension: 'remote' },
    });
    expect([t.reserved(), t.tokensConsumedSync(), d.permit.state]).toEqual([0, 5, 'held']);
    expect(await d.permit.cancel()).toBe(true);
    expect(inner.available()).toBe(10);
  });
});

describe('cancel: a dimension that fails to refund stays held until cancelled again', () => {
  it('cancelSync refunds the others, throws naming it, and a second cancel refunds it', () => {
    const a = rows();
    const realAcquire = a.tryAcquireSync.bind(a);
    a.tryAcquireSync = (cost: number) => {
      const p = realAcquire(cost);
      return p === null ? null : failing(p, 'releaseSync');
    };
    const t = tokens();
    const d = coordinator({ a, t }).tryReserveSync({ a: 3, t: 30 });
    if (!d.ok) throw new Error('denied');
    expect(errorOf(() => d.permit.cancelSync())).toMatchObject({
      code: 'BACKEND',
      details: { dimension: 'a' },
    });
    expect([a.available(), t.reserved(), d.permit.state]).toEqual([7, 0, 'held']);
    expect(d.permit.cancelSync()).toBe(true);
    expect([a.available(), d.permit.state]).toEqual([10, 'cancelled']);
  });
});

describe('run: a dimension failing to settle leaves nothing held', () => {
  it('settles what failed at its estimate on a second try, then says so', async () => {
    const t = failing(tokens(), 'recordUsageSync');
    const r = rows();
    const run = coordinator({ r, t }).run({ r: 1, t: 50 }, async () => ({
      value: 1,
      usage: { r: 1, t: 10 },
    }));
    await expect(run).rejects.toMatchObject({ code: 'BACKEND', details: { dimension: 't' } });
    await expect(run).rejects.toThrow(/settled at its estimate/);
    expect([t.reserved(), t.tokensConsumedSync(), r.available()]).toEqual([0, 50, 9]);
  });

  it('releases what fails to settle twice', async () => {
    const t = failing(tokens(), 'recordUsageSync', 2);
    const run = coordinator({ t }).run({ t: 50 }, async () => ({ value: 1, usage: { t: 10 } }));
    await expect(run).rejects.toThrow(/released/);
    expect([t.reserved(), t.tokensConsumedSync()]).toEqual([0, 0]);
  });

  it("refunds everything when fn throws, retrying a refund that fails, and rethrows fn's error", async () => {
    const a = rows();
    const realAcquire = a.tryAcquireSync.bind(a);
    a.tryAcquireSync = (cost: number) => {
      const p = realAcquire(cost);
      return p === null ? null : failing(p, 'releaseSync');
    };
    const boom = new Error('provider down');
    const run = coordinator({ a }).run({ a: 4 }, async () => {
      throw boom;
    });
    await expect(run).rejects.toBe(boom);
    expect(a.available()).toBe(10);
  });

  it('says so, with fn’s error as cause, when a refund fails twice', async () => {
    const a = rows();
    const realAcquire = a.tryAcquireSync.bind(a);
    a.tryAcquireSync = (cost: number) => {
      const p = realAcquire(cost);
      return p === null ? null : failing(p, 'releaseSync', 2);
    };
    const boom = new Error('provider down');
    const run = coordinator({ a }).run({ a: 4 }, async () => {
      throw boom;
    });
    await expect(run).rejects.toMatchObject({ code: 'BACKEND', cause: boom });
    expect(a.available()).toBe(6); // still held: the member's leak backstop is what is left
  });
});

describe('coordinator: a guard that declares no partial commit', () => {
  it('is committed whole under its estimate, and the report says by how much it is over-charged', async () => {
    const inner = new AtomicBudget(10);
    // The plain Promise interface, declaring nothing: its permits may commit all or nothing.
    const outside: PermitBudgetGuard = {
      tryReserve: (cost) => inner.tryReserve(cost),
      release: (cost) => inner.release(cost),
      tryAcquire: (cost) => inner.tryAcquire(cost),
    };
    const c = coordinator({ outside, rows: new AtomicBudget(10) });
    const d = await c.tryReserve({ outside: 6, rows: 6 });
    if (!d.ok) throw new Error('denied');
    const report = await d.permit.settle({ outside: 2, rows: 2 });
    expect(report).toEqual({ shortfall: {}, overcharge: { outside: 4 } });
    expect(inner.available()).toBe(4); // kept whole: 6 spent for 2 used, never less
  });
});
