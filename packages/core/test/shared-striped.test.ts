// Striped handles: the count API served from a per-handle slice of the shared pool. The total
// never exceeds the capacity, slices go back on close, on exit and with an expired lease, and a
// reset refill discards them.
import { type BudgetEvent, SharedBudget, StripedSharedBudget } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import type { HammerInput, HammerReport } from './shared/hammer-worker.js';
import { ManualClock } from './shared/manual-clock.js';
import { exited, firstMessage, startWorker } from './shared/spawn.js';

describe('StripedSharedBudget in one thread', () => {
  it('takes a slice from the pool, serves from it, and gives it back on close', () => {
    const pool = new SharedBudget(100);
    const events: BudgetEvent[] = [];
    const striped = StripedSharedBudget.open(pool.share(), {
      slice: 10,
      observer: (e) => events.push(e),
    });
    expect(striped.tryReserveSync(4)).toBe(true);
    expect(pool.snapshot()).toMatchObject({ available: 86, held: 0, sliced: 14 });
    expect(striped.tryReserveSync(10)).toBe(true); // 10 free in the slice
    expect(pool.snapshot()).toMatchObject({ available: 86, sliced: 14 });
    expect(striped.tryReserveSync(1)).toBe(true); // slice empty: tops up by 1 + 10
    expect(pool.snapshot()).toMatchObject({ available: 75, sliced: 25 });
    striped.releaseSync(15);
    // 25 free in the slice, more than twice 10: all but 10 go back.
    expect(pool.snapshot()).toMatchObject({ available: 90, sliced: 10 });
    expect(striped.available()).toBe(100);
    striped.close();
    expect(pool.snapshot()).toMatchObject({ available: 100, sliced: 0, held: 0 });
    expect(events.map((e) => e.type)).toEqual(['reserve', 'reserve', 'reserve', 'release']);
    pool.close();
  });

  it('never lets slices and holds together exceed the capacity', () => {
    const pool = new SharedBudget(50);
    const a = StripedSharedBudget.open(pool.share(), { slice: 16 });
    const b = StripedSharedBudget.open(pool.share(), { slice: 16 });
    let granted = 0;
    for (let i = 0; i < 200; i++) {
      const handle = i % 3 === 0 ? b : a;
      if (handle.tryReserveSync(1 + (i % 4))) granted += 1 + (i % 4);
    }
    expect(granted).toBeLessThanOrEqual(50);
    const { available, sliced, held } = pool.snapshot();
    expect(available + sliced + held).toBe(50);
    expect(pool.tryReserveSync(available + 1)).toBe(false);
    a.close();
    b.close();
    expect(pool.available()).toBe(50);
    pool.close();
  });

  it('loses the slice to a reset refill and keeps it under carry', () => {
    for (const refillPolicy of ['reset', 'carry'] as const) {
      const pool = new SharedBudget(40, { refillPolicy });
      const striped = StripedSharedBudget.open(pool.share(), { slice: 8 });
      expect(striped.tryReserveSync(5)).toBe(true);
      pool.refill();
      if (refillPolicy === 'reset') {
        expect(pool.snapshot()).toMatchObject({ available: 40, sliced: 0 });
        striped.releaseSync(5); // its reservation was fenced off with the epoch
        expect(pool.snapshot()).toMatchObject({ available: 40, overReleased: 5 });
      } else {
        expect(pool.snapshot()).toMatchObject({ available: 27, sliced: 13 });
        striped.releaseSync(5);
        expect(pool.snapshot()).toMatchObject({ available: 27, sliced: 13, overReleased: 0 });
      }
      striped.close();
      expect(pool.available()).toBe(40);
      pool.close();
    }
  });

  it('releases beyond its slice to the pool, with strict over-release checked first', () => {
    const pool = new SharedBudget(20, { strict: true });
    const striped = StripedSharedBudget.open(pool.share(), { slice: 4 });
    expect(pool.tryReserveSync(6)).toBe(true); // held by the pool's count API
    expect(striped.tryReserveSync(2)).toBe(true);
    expect(() => striped.releaseSync(9)).toThrow(expect.objectContaining({ code: 'OVER_RELEASE' }));
    expect(pool.snapshot()).toMatchObject({ held: 6, sliced: 6, available: 8 });
    striped.releaseSync(8); // 2 from its slice, 6 from the pool
    expect(pool.snapshot()).toMatchObject({ held: 0, sliced: 6, available: 14 });
    expect(() => striped.tryReserveSync(-1)).toThrow(
      expect.objectContaining({ code: 'INVALID_AMOUNT' }),
    );
    expect(() => StripedSharedBudget.open(pool.share(), { slice: 0 })).toThrow(/slice/);
    striped.close();
    pool.close();
  });

  it("gives back a silent striped handle's slice when its lease runs out", () => {
    const clock = new ManualClock();
    const pool = new SharedBudget(30, { clock, leaseMs: 1_000 });
    const striped = StripedSharedBudget.open(pool.share(), { slice: 5, clock });
    striped.tryReserveSync(3);
    (striped as unknown as { region: { stopHeartbeat(): void } }).region.stopHeartbeat();
    clock.advance(2000);
    expect(pool.reclaimExpired()).toEqual({ handles: 1, units: 8 });
    expect(pool.snapshot()).toMatchObject({ available: 30, sliced: 0 });
    expect(() => striped.tryReserveSync(1)).toThrow(
      expect.objectContaining({ code: 'LEASE_EXPIRED' }),
    );
    pool.close();
  });
});

describe("a striped handle's count API is its own", () => {
  it('a release through another striped handle is over-released; the units come back with the holder', () => {
    const pool = new SharedBudget(100);
    const a = StripedSharedBudget.open(pool.share(), { slice: 4 });
    const b = StripedSharedBudget.open(pool.share(), { slice: 4 });
    expect(a.tryReserveSync(1)).toBe(true);
    b.releaseSync(1); // nothing of it is held in the pool
    expect(pool.overReleased()).toBe(1);
    expect(pool.snapshot()).toMatchObject({ available: 95, sliced: 5 }); // still in a's slice
    a.releaseSync(1); // the holder's own release returns it to its slice
    a.close();
    b.close();
    expect(pool.snapshot()).toMatchObject({ available: 100, held: 0, sliced: 0 });
    pool.close();
  });
});

describe('StripedSharedBudget across worker threads', () => {
  it('2 striped workers: never over capacity, and everything comes back', async () => {
    const CAPACITY = 2_000;
    const pool = new SharedBudget(CAPACITY);
    const over: string[] = [];
    const watch = setInterval(() => {
      const s = pool.snapshot();
      if (s.available + s.held + s.sliced > CAPACITY || s.available < 0) {
        over.push(JSON.stringify(s));
      }
    }, 1);
    const gate = new SharedArrayBuffer(4);
    const workers = [1, 2].map((i) =>
      startWorker('./hammer-worker.ts', {
        descriptor: pool.share() as never,
        seed: 1234 * i + Date.now(),
        ops: 1_000_000,
        mode: 'mixed',
        refiller: false,
        gate,
        workers: 2,
        slice: 64,
      } satisfies HammerInput),
    );
    for (const w of workers) pool.releaseOnExit(w);
    const reports = await Promise.all(workers.map((w) => firstMessage<HammerReport>(w)));
    clearInterval(watch);
    expect(over).toEqual([]);
    const countHeld = reports.reduce((n, r) => n + r.countHeld, 0);
    const permitHeld = reports.reduce((n, r) => n + (r.epochs[0]?.held ?? 0), 0);
    const used = reports.reduce((n, r) => n + (r.epochs[0]?.used ?? 0), 0);
    const s = pool.snapshot();
    expect(s.held).toBe(permitHeld); // count holds live in the slices
    expect(s.sliced).toBeGreaterThanOrEqual(countHeld);
    expect(s.available + s.held + s.sliced + used).toBe(CAPACITY);
    for (const w of workers) w.postMessage('close');
    await Promise.all(workers.map(exited));
    expect(pool.snapshot()).toMatchObject({ available: CAPACITY - used, held: 0, sliced: 0 });
    pool.close();
  }, 120_000);

  it('a striped worker terminated mid-flight gives its slice back on exit', async () => {
    const pool = new SharedBudget(1_000);
    const worker = startWorker('./hammer-worker.ts', {
      descriptor: pool.share() as never,
      seed: 5,
      ops: 0,
      mode: 'churn',
      refiller: false,
      gate: new SharedArrayBuffer(4),
      workers: 1,
      slice: 32,
    } satisfies HammerInput);
    pool.releaseOnExit(worker);
    await firstMessage(worker);
    await new Promise((resolve) => setTimeout(resolve, 30));
    await worker.terminate();
    expect(pool.snapshot()).toMatchObject({ available: 1_000, held: 0, sliced: 0 });
    pool.close();
  });
});
