// RedisLeasedBudget in one process: several children of one pool sharing it equally or in
// proportion, shares that shrink only by what is not held, slices returned when idle and on
// close, renewals under load, a lease that runs out when Redis stops answering, bad input.
import { BudgetError } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { RedisLeasedBudget, type RedisLeasedBudgetOptions } from '../src/index.js';
import { leasePoolKeys } from '../src/lease-script.js';
import { codeOf, fileRedis } from './helpers/budgets.js';
import { LossyClient } from './helpers/lossy-client.js';
import { redisReady, uniquePrefix } from './helpers/redis.js';

const redis = await fileRedis();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A maker of children of one pool (one key prefix per call of `pool`). */
function pool(capacity: number, shared: Partial<RedisLeasedBudgetOptions> = {}) {
  const keyPrefix = uniquePrefix('leased');
  const opened: RedisLeasedBudget[] = [];
  const open = async (options: Partial<RedisLeasedBudgetOptions> = {}) => {
    const b = await RedisLeasedBudget.open(capacity, {
      redis: redis!,
      name: 'pool',
      keyPrefix,
      ...shared,
      ...options,
    });
    opened.push(b);
    return b;
  };
  /** The leases in Redis, read straight from the hash: their sum is checked against capacity. */
  const leasedInRedis = async () => {
    const records = await redis!.hvals(leasePoolKeys(keyPrefix, 'pool')[1]!);
    return records.reduce((s, r) => s + Number(r.split('|')[0]), 0);
  };
  return { open, opened, leasedInRedis, keyPrefix };
}

const always = (n: number) => () => n;

describe.skipIf(!redisReady)('RedisLeasedBudget', () => {
  it('serves a lone process its whole ask, locally, and no more', async () => {
    const { open } = pool(10);
    const b = await open({ wants: always(10) });
    expect(b.snapshot()).toMatchObject({ capacity: 10, leased: 10, held: 0, available: 10 });
    expect(b.tryReserveSync(7)).toBe(true);
    expect(b.tryReserveSync(4)).toBe(false);
    expect(b.tryReserveSync(3)).toBe(true);
    expect(b.tryReserveSync(0)).toBe(true);
    expect(b.held()).toBe(10);
    expect(b.available()).toBe(0);
    b.releaseSync(10);
    expect(await b.tryReserve(2)).toBe(true);
    await b.release(2);
    expect(b.snapshot()).toMatchObject({ held: 0, available: 10, denials: 1 });
    expect(b.capabilities).toMatchObject({ sync: true, countRelease: true, partialCommit: false });
    await b.close();
  });

  it('destroy() deletes a closed pool, so it can be opened again with another capacity', async () => {
    const { open, keyPrefix, leasedInRedis } = pool(10);
    const b = await open({ wants: always(4) });
    await b.close();
    const options = { redis: redis!, name: 'pool', keyPrefix };
    const refused = await RedisLeasedBudget.open(20, options).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect((refused as Error).message).toContain('RedisLeasedBudget.destroy()');
    for (const bad of [{}, { redis: redis! }, { ...options, name: '' }, null]) {
      expect(await codeOf(RedisLeasedBudget.destroy(bad as never))).toBe('INVALID_ARGUMENT');
    }
    expect(await redis!.exists(leasePoolKeys(keyPrefix, 'pool')[0]!)).toBe(1); // still there
    await RedisLeasedBudget.destroy(options);
    expect(await redis!.exists(...leasePoolKeys(keyPrefix, 'pool'))).toBe(0);
    const bigger = await RedisLeasedBudget.open(20, { ...options, wants: always(20) });
    expect(bigger.snapshot()).toMatchObject({ capacity: 20, leased: 20 });
    expect(await leasedInRedis()).toBe(20);
    await bigger.close();
  });

  it('rejects bad input with a typed error, changing nothing', async () => {
    const { open, keyPrefix } = pool(10);
    const b = await open({ wants: always(10), strict: true });
    b.tryReserveSync(3);
    for (const bad of [-1, 1.5, Number.NaN, '2', 2n]) {
      expect(() => b.tryReserveSync(bad as number)).toThrow(BudgetError);
      expect(() => b.releaseSync(bad as number)).toThrow(BudgetError);
    }
    expect(() => b.releaseSync(4)).toThrow(expect.objectContaining({ code: 'OVER_RELEASE' }));
    expect(() => b.tryAcquireSync(1)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(b.snapshot()).toMatchObject({ held: 3, available: 7 });
    const options = { redis: redis!, name: 'pool', keyPrefix };
    for (const [capacity, extra] of [
      [11, {}], // another capacity than the pool's
      [10, { algorithm: 'proportional' }], // another algorithm
      [10, { algorithm: 'random' }],
      [10, { leaseMs: 100, renewEveryMs: 100 }],
      [10, { headroom: -1 }],
      [-1, {}],
    ] as const) {
      const code = await codeOf(
        RedisLeasedBudget.open(capacity, { ...options, ...extra } as never),
      );
      expect(['INVALID_ARGUMENT', 'INVALID_AMOUNT']).toContain(code);
    }
    b.releaseSync(3);
    await b.close();
    expect(() => b.tryReserveSync(1)).toThrow(expect.objectContaining({ code: 'CLOSED' }));
  });

  it('clamps and counts an over-release without strict', async () => {
    const { open } = pool(10);
    const b = await open({ wants: always(10) });
    b.tryReserveSync(2);
    b.releaseSync(5);
    expect(b.snapshot()).toMatchObject({ held: 0, overReleased: 3, available: 10 });
    await b.close();
  });

  it('shares equally between processes that all want everything', async () => {
    const { open, opened, leasedInRedis } = pool(100, { algorithm: 'equal' });
    for (let i = 0; i < 3; i++) await open({ wants: always(100) });
    for (let round = 0; round < 3; round++) {
      for (const b of opened) {
        await b.renewNow();
        expect(await leasedInRedis()).toBeLessThanOrEqual(100);
        expect(opened.reduce((s, c) => s + c.leased(), 0)).toBeLessThanOrEqual(100);
      }
    }
    expect(opened.map((b) => b.leased()).sort()).toEqual([33, 33, 34]);
    expect(await opened[0]!.pool()).toMatchObject({ leased: 100, clients: 3 });
  });

  it('shares in proportion to what each process wants', async () => {
    const { open, opened, leasedInRedis } = pool(50, { algorithm: 'proportional' });
    for (const want of [20, 30, 50]) await open({ wants: always(want) });
    for (let round = 0; round < 3; round++) {
      for (const b of opened) {
        await b.renewNow();
        expect(await leasedInRedis()).toBeLessThanOrEqual(50);
      }
    }
    expect(opened.map((b) => b.leased())).toEqual([10, 15, 25]);
  });

  it('takes back only what is not held when a share shrinks', async () => {
    const { open, leasedInRedis } = pool(100);
    const a = await open({ wants: always(100) });
    expect(a.tryReserveSync(80)).toBe(true);
    const b = await open({ wants: always(100) });
    expect(b.leased()).toBe(0); // a holds it all until it renews
    // a's share is 50 now. It may have used its whole slice while the renewal was on its way,
    // so Redis keeps the 100 leased to it until its next renewal, which reports what it holds.
    await a.renewNow();
    expect(a.leased()).toBe(50);
    expect(a.tryReserveSync(1)).toBe(false);
    expect(await leasedInRedis()).toBe(100);
    await a.renewNow(); // it holds 80: that much stays leased, however small its share
    expect([a.leased(), await leasedInRedis()]).toEqual([50, 80]);
    await b.renewNow();
    expect(b.leased()).toBe(20);
    a.releaseSync(40);
    await a.renewNow();
    await b.renewNow();
    expect([a.leased(), b.leased(), await leasedInRedis()]).toEqual([50, 50, 100]);
    a.releaseSync(40);
  });

  it('gives an idle slice back at the next renewal, and asks again when refused', async () => {
    const { open, leasedInRedis } = pool(100);
    const idle = await open({ initialWants: 60 });
    expect(idle.leased()).toBe(60);
    for (let i = 0; i < 5; i++) {
      idle.tryReserveSync(4);
      idle.releaseSync(4);
    }
    await idle.renewNow(); // it held at most 4: it asks for 6
    expect(idle.leased()).toBe(6);
    await idle.renewNow(); // nothing used since: it asks for nothing
    expect(idle.leased()).toBe(0);
    expect(await idle.pool()).toMatchObject({ leased: 0, clients: 0 });
    expect(await leasedInRedis()).toBe(0);
    // A refusal is demand: it triggers a renewal at once, which asks for what was refused.
    expect(idle.tryReserveSync(10)).toBe(false);
    await idle.renewNow();
    expect(idle.leased()).toBe(15);
  });

  it('returns everything on close, and what is still held when its lease runs out', async () => {
    const { open, leasedInRedis } = pool(100, { leaseMs: 300, renewEveryMs: 100 });
    const a = await open({ wants: always(100) });
    await a.close();
    expect(await leasedInRedis()).toBe(0);
    const b = await open({ wants: always(100) });
    expect(b.tryReserveSync(5)).toBe(true);
    await b[Symbol.asyncDispose]();
    expect(await leasedInRedis()).toBe(5);
    b.releaseSync(5); // allowed after close; the 5 come back at expiry
    const c = await open({ wants: always(100) });
    expect(c.leased()).toBe(95);
    await sleep(350);
    await c.renewNow();
    expect(c.leased()).toBe(100);
    expect(await c.pool()).toMatchObject({ leased: 100, expiredLeases: 1, expiredUnits: 5 });
    c[Symbol.dispose]();
    await c.close();
    expect(await leasedInRedis()).toBe(0);
  });

  it('renews under load, before expiry, without a gap', async () => {
    const { open, leasedInRedis } = pool(1_000, { leaseMs: 200, renewEveryMs: 80 });
    const b = await open({ wants: always(1_000) });
    let ok = 0;
    const deadline = performance.now() + 1_000;
    while (performance.now() < deadline) {
      for (let i = 0; i < 1_000; i++) {
        if (b.tryReserveSync(1)) ok++;
        b.releaseSync(1);
      }
      await new Promise((r) => setImmediate(r));
    }
    const s = b.snapshot();
    expect(s.renewals).toBeGreaterThanOrEqual(6);
    expect(s.denials).toBe(0);
    expect(s.lapses).toBe(0);
    expect(ok).toBeGreaterThan(10_000);
    expect(await leasedInRedis()).toBe(1_000);
    await b.close();
  });

  it('gives back the slice a first request took when its answer was lost', async () => {
    const { open, leasedInRedis } = pool(100);
    // The script loaded first: a server's first EVALSHA of it is answered NOSCRIPT, and the
    // EVAL that follows bypasses the client's faults.
    await (await open()).close();
    const lossy = new LossyClient(redis!);
    lossy.loseReply.set('req', 1);
    expect(await codeOf(open({ redis: lossy }))).toBe('BACKEND');
    expect(await leasedInRedis()).toBe(0);
    const next = await open({ wants: always(100) });
    expect(next.snapshot().leased).toBe(100); // the whole pool, without waiting for a lease to run out
    await next.close();
  });

  it('stops serving when its lease runs out and Redis does not answer', async () => {
    const { keyPrefix } = pool(10);
    const errors: string[] = [];
    let answering = true;
    const flaky = {
      evalsha: (...args: Parameters<NonNullable<typeof redis>['evalsha']>) =>
        answering ? redis!.evalsha(...args) : new Promise(() => {}),
      eval: (...args: Parameters<NonNullable<typeof redis>['eval']>) =>
        answering ? redis!.eval(...args) : new Promise(() => {}),
    } as unknown as RedisLeasedBudgetOptions['redis'];
    const b = await RedisLeasedBudget.open(10, {
      redis: flaky,
      name: 'pool',
      keyPrefix,
      leaseMs: 200,
      renewEveryMs: 60,
      timeoutMs: 30,
      wants: always(10),
      onError: (e) => errors.push(e.code),
    });
    expect(b.tryReserveSync(3)).toBe(true);
    answering = false;
    await sleep(120);
    expect(b.tryReserveSync(1)).toBe(true); // still within its lease
    await sleep(150);
    expect(b.tryReserveSync(1)).toBe(false);
    expect(b.snapshot()).toMatchObject({ leased: 0, available: 0, held: 4, lapses: 0 });
    expect(errors[0]).toBe('TIMEOUT');
    answering = true;
    await sleep(100); // a retry reaches Redis: the lease was gone there, it says so
    const s = b.snapshot();
    expect(s.lapses).toBe(1);
    expect(s.leased).toBe(10);
    b.releaseSync(4);
    await b.close();
  });
});
