import { AtomicBudget, BudgetError, type BudgetEvent, capabilitiesOf } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { RedisBudget, type RedisBudgetOptions } from '../src/index.js';
import { codeOf, fileRedis, guards } from './helpers/budgets.js';
import { redisReady, uniquePrefix } from './helpers/redis.js';

const redis = await fileRedis();
const budget = guards(redis, 'budget');

describe.skipIf(!redisReady)('RedisBudget, count API', () => {
  it('grants cost 0, denies more than is available, and releases into the pool', async () => {
    const b = budget(10);
    expect(await b.tryReserve(0)).toBe(true);
    expect(await b.tryReserve(11)).toBe(false);
    expect(await b.tryReserve(7)).toBe(true);
    expect(await b.tryReserve(4)).toBe(false);
    expect(await b.available()).toBe(3);
    await b.release(7);
    expect(await b.snapshot()).toMatchObject({ available: 10, held: 0, countHeld: 0 });
  });

  it('clamps an over-release to what the count API holds and counts the excess', async () => {
    const b = budget(10);
    await b.tryReserve(3);
    await b.tryReserve(4);
    await b.release(3);
    await b.release(3);
    await b.release(3); // only 1 of these 3 is held
    const s = await b.snapshot();
    expect(s.available).toBe(10);
    expect(s.overReleased).toBe(2);
  });

  it('refuses an over-release with OVER_RELEASE when strict, changing nothing', async () => {
    const b = budget(10, { strict: true });
    await b.tryReserve(3);
    expect(await codeOf(b.release(4))).toBe('OVER_RELEASE');
    expect(await b.snapshot()).toMatchObject({ available: 7, countHeld: 3, overReleased: 0 });
  });

  it('lets a permit release not return count-API units', async () => {
    const b = budget(10);
    await b.tryReserve(5);
    const p = (await b.tryAcquire(5))!;
    await b.release(10); // 5 accepted, 5 ignored: the permit's units are not the pool's
    expect(await b.snapshot()).toMatchObject({ available: 5, held: 5, overReleased: 5 });
    await p.release();
    expect(await b.available()).toBe(10);
  });
});

describe.skipIf(!redisReady)('RedisBudget, permits', () => {
  it('commits part of a permit and returns the rest in the same step', async () => {
    const b = budget(10);
    const p = (await b.tryAcquire(6))!;
    expect(p.state).toBe('held');
    expect(await p.commit(2)).toBe(true);
    expect(p.state).toBe('committed');
    expect(await b.snapshot()).toMatchObject({ available: 8, held: 0, leases: 0 });
  });

  it('settles a permit exactly once: a second settle resolves false and refunds nothing', async () => {
    const b = budget(10);
    const p = (await b.tryAcquire(4))!;
    expect(await p.release()).toBe(true);
    expect(await p.release()).toBe(false);
    expect(await p.commit()).toBe(false);
    await p[Symbol.asyncDispose]();
    expect(await b.available()).toBe(10);
  });

  it('lets exactly one of two settles started together win', async () => {
    const b = budget(10);
    const p = (await b.tryAcquire(4))!;
    const results = await Promise.all([p.release(), p.commit(), p.release()]);
    expect(results.filter(Boolean)).toHaveLength(1);
    const available = await b.available();
    expect(available === 10 || available === 6).toBe(true);
    expect(available).toBe(results[0] ? 10 : 6);
  });

  it('releases a permit on asyncDispose', async () => {
    const b = budget(3);
    {
      await using p = (await b.tryAcquire(3))!;
      expect(await b.available()).toBe(0);
      expect(p.expiresAt).toBeGreaterThan(0);
    }
    expect(await b.available()).toBe(3);
  });

  it('rejects a used above cost or not an amount with INVALID_AMOUNT, changing nothing', async () => {
    const b = budget(10);
    const p = (await b.tryAcquire(4))!;
    for (const used of [5, -1, 1.5, Number.NaN, '2' as unknown as number]) {
      expect(await codeOf(p.commit(used))).toBe('INVALID_AMOUNT');
    }
    expect(p.state).toBe('held');
    expect(await b.available()).toBe(6);
    expect(await p.commit(4)).toBe(true);
  });
});

describe.skipIf(!redisReady)('RedisBudget, epochs', () => {
  it('fences permits of an older epoch under reset: their release returns nothing', async () => {
    const b = budget(10);
    const old = (await b.tryAcquire(8))!;
    expect(await b.refill()).toBe(true);
    expect(await b.tryReserve(10)).toBe(true);
    expect(await old.release()).toBe(true);
    expect(await b.snapshot()).toMatchObject({ available: 0, held: 10, epoch: 1 });
  });

  it('carries held permits into the new epoch under carry', async () => {
    const b = budget(10, { refillPolicy: 'carry' });
    const held = (await b.tryAcquire(8))!;
    const spent = (await b.tryAcquire(2))!;
    await spent.commit();
    await b.refill();
    expect(await b.available()).toBe(2);
    await held.commit(5);
    expect(await b.available()).toBe(5);
  });

  it('applies a refill once when many processes refill from the same epoch', async () => {
    const b = budget(10, { refillPolicy: 'carry' });
    await b.tryAcquire(4);
    const { epoch } = await b.snapshot();
    const applied = await Promise.all(Array.from({ length: 8 }, () => b.refill(1, epoch)));
    expect(applied.filter(Boolean)).toHaveLength(1);
    expect(await b.snapshot()).toMatchObject({ epoch: epoch + 1, available: 6 });
  });

  it('begins epochs on the Redis server clock with refillEveryMs', async () => {
    const b = budget(10, { refillEveryMs: 150 });
    const first = await b.snapshot();
    expect(first.nextRefillAt).toBeGreaterThan(first.serverTime);
    await b.tryReserve(10);
    const wait = first.nextRefillAt! - first.serverTime + 20;
    await new Promise((r) => setTimeout(r, wait));
    const later = await b.snapshot();
    expect(later.epoch).toBeGreaterThanOrEqual(1);
    expect(later.available).toBe(10);
    expect(later.nextRefillAt).toBeGreaterThan(later.serverTime);
  });

  it('refuses a refill of 0 or a fractional number of times, changing nothing', async () => {
    const b = budget(10);
    for (const times of [0, 1.5, -1])
      expect(await codeOf(b.refill(times))).toBe('INVALID_ARGUMENT');
    expect((await b.snapshot()).epoch).toBe(0);
  });

  it('refuses every call once its schedule would begin an epoch past 2^53 − 1', async () => {
    const b = budget(4, { refillEveryMs: 20 });
    // The first call stores the schedule's origin: no boundary has passed yet.
    expect(await b.refill(Number.MAX_SAFE_INTEGER - 1)).toBe(true);
    await new Promise((r) => setTimeout(r, 60)); // two boundaries or more: room for one
    for (const call of [() => b.tryAcquire(4), () => b.tryReserve(1), () => b.snapshot()]) {
      const error = await call().catch((e: unknown) => e);
      expect(BudgetError.isInstance(error) && error.code, String(error)).toBe('INVALID_ARGUMENT');
      expect((error as Error).message).toMatch(/can begin no more epochs/);
    }
  });

  it('refuses a refill past epoch 2^53 − 1, keeping what the epoch holds', async () => {
    const b = budget(4);
    expect(await b.refill(Number.MAX_SAFE_INTEGER - 1)).toBe(true);
    expect(await codeOf(b.refill(2))).toBe('INVALID_ARGUMENT');
    expect(await b.refill()).toBe(true);
    expect(await b.tryReserve(3)).toBe(true);
    const refused = await b.refill().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error).message).toMatch(/past 2\^53 − 1/);
    const after = await b.snapshot();
    expect([after.epoch, after.available]).toEqual([Number.MAX_SAFE_INTEGER, 1]);
    await b.release(3);
    expect((await b.snapshot()).available).toBe(4);
  });
});

describe.skipIf(!redisReady)('RedisBudget, configuration', () => {
  it('refuses to share a name with a budget of another capacity or policy', async () => {
    const keyPrefix = uniquePrefix('config');
    const a = new RedisBudget(10, { redis: redis!, name: 'shared', keyPrefix });
    await a.tryReserve(4);
    const b = new RedisBudget(20, { redis: redis!, name: 'shared', keyPrefix });
    const c = new RedisBudget(10, {
      redis: redis!,
      name: 'shared',
      keyPrefix,
      refillPolicy: 'carry',
    });
    expect(await codeOf(b.tryReserve(1))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(c.available())).toBe('INVALID_ARGUMENT');
    expect(await a.available()).toBe(6);
    const same = new RedisBudget(10, { redis: redis!, name: 'shared', keyPrefix });
    expect(await same.available()).toBe(6);
  });

  it('rejects invalid construction with a typed error', () => {
    const bad: unknown[] = [
      [-1, {}],
      [1.5, {}],
      [10, { name: '' }],
      [10, { redis: {} }],
      [10, { refillPolicy: 'sometimes' }],
      [10, { leaseMs: 0 }],
      [10, { timeoutMs: -5 }],
      [10, { failure: 'maybe' }],
      [10, { keyPrefix: 'a{b}' }],
      [10, { refillEveryMs: 1.5 }],
      [10, { strict: 'yes' }],
      [10, { observer: 3 }],
    ];
    for (const [capacity, options] of bad as [number, object][]) {
      let code = 'none';
      try {
        new RedisBudget(capacity, { redis: redis!, name: 'x', ...options } as RedisBudgetOptions);
      } catch (error) {
        code = BudgetError.isInstance(error) ? error.code : 'untyped';
      }
      expect(code, JSON.stringify([capacity, options])).toMatch(/^INVALID_(AMOUNT|ARGUMENT)$/);
    }
  });

  it('rejects invalid amounts at every entry point before sending anything', async () => {
    const b = budget(10);
    await b.tryReserve(2);
    const p = (await b.tryAcquire(3))!;
    const before = await b.snapshot();
    for (const bad of [-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '1', 1n, null]) {
      const v = bad as number;
      expect(await codeOf(b.tryReserve(v))).toBe('INVALID_AMOUNT');
      expect(await codeOf(b.release(v))).toBe('INVALID_AMOUNT');
      expect(await codeOf(b.tryAcquire(v))).toBe('INVALID_AMOUNT');
      expect(await codeOf(p.commit(v))).toBe('INVALID_AMOUNT');
    }
    for (const leaseMs of [0, null]) {
      expect(await codeOf(b.tryAcquire(1, { leaseMs: leaseMs as number }))).toBe(
        'INVALID_ARGUMENT',
      );
    }
    expect(await codeOf(p.renew(-1))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(p.renew(null as never))).toBe('INVALID_ARGUMENT');
    const after = await b.snapshot();
    expect({ ...after, serverTime: 0 }).toEqual({ ...before, serverTime: 0 });
  });

  it('declares its capabilities, so combinators decide from the declaration', () => {
    const caps = capabilitiesOf(budget(10, { refillPolicy: 'carry' }));
    expect(caps).toEqual({
      sync: false,
      countRelease: true,
      partialCommit: true,
      retryHint: false,
      refill: 'carry',
      schedulable: false,
    });
  });

  it('tells its observer about grants, denials, settles and refills', async () => {
    const events: BudgetEvent[] = [];
    const b = budget(5, { observer: (e) => events.push(e), name: 'observed' });
    const p = (await b.tryAcquire(3))!;
    await b.tryReserve(4);
    await p.commit(1);
    await b.refill();
    expect(events.map((e) => e.type)).toEqual(['reserve', 'deny', 'commit', 'refill']);
    expect(events[2]).toMatchObject({ type: 'commit', cost: 3, used: 1, refunded: 2 });
    expect(events[0]).toMatchObject({ budget: 'observed', available: 2 });
  });

  it('behaves as AtomicBudget on the same sequence of calls', async () => {
    const b = budget(12);
    const a = new AtomicBudget(12, { leakBackstop: false });
    const steps: [string, number][] = [
      ['acq', 5],
      ['res', 4],
      ['acq', 4],
      ['commit0', 2],
      ['rel', 6],
      ['acq', 3],
      ['refill', 0],
      ['release1', 0],
      ['res', 9],
      ['acq', 3],
      ['commit2', 1],
    ];
    const remote: Awaited<ReturnType<RedisBudget['tryAcquire']>>[] = [];
    const local: ReturnType<AtomicBudget['tryAcquireSync']>[] = [];
    for (const [op, n] of steps) {
      if (op === 'acq') {
        remote.push(await b.tryAcquire(n));
        local.push(a.tryAcquireSync(n));
      } else if (op === 'res') {
        expect(await b.tryReserve(n)).toBe(a.tryReserveSync(n));
      } else if (op === 'rel') {
        await b.release(n);
        a.releaseSync(n);
      } else if (op === 'refill') {
        await b.refill();
        a.refill();
      } else if (op.startsWith('commit')) {
        const i = Number(op.slice(6));
        expect(await remote[i]?.commit(n)).toBe(local[i]?.commitSync(n));
      } else {
        const i = Number(op.slice(7));
        expect(await remote[i]?.release()).toBe(local[i]?.releaseSync());
      }
      const s = await b.snapshot();
      expect([op, s.available, s.held, s.epoch, s.overReleased]).toEqual([
        op,
        a.available(),
        a.held(),
        a.epoch,
        a.overReleased(),
      ]);
    }
  });
});
