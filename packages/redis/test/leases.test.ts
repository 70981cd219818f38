import { BudgetError, type BudgetEvent } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { budgetKeys } from '../src/index.js';
import { codeOf, fileRedis, guards, tokenBudgets, trees } from './helpers/budgets.js';
import { LossyClient } from './helpers/lossy-client.js';
import { redisReady, uniquePrefix } from './helpers/redis.js';

const redis = await fileRedis();
const guard = guards(redis, 'leases');
const tokens = tokenBudgets(redis, 'tokens');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!redisReady)('leases', () => {
  it('refunds an expired lease exactly once and reports it', async () => {
    const events: BudgetEvent[] = [];
    const b = guard(10, { observer: (e: BudgetEvent) => events.push(e) });
    const p = (await b.tryAcquire(7, { leaseMs: 150 }))!;
    await b.tryAcquire(1); // a long lease, still held
    expect(await b.available()).toBe(2);
    await sleep(200);
    const first = await b.reclaimExpired();
    expect(first).toEqual({ leases: 1, units: 7, refunded: 7, remaining: 1 });
    expect(await b.reclaimExpired()).toEqual({ leases: 0, units: 0, refunded: 0, remaining: 1 });
    expect(await b.snapshot()).toMatchObject({
      available: 9,
      held: 1,
      leases: 1,
      expiredLeases: 1,
      expiredUnits: 7,
    });
    expect(events.filter((e) => e.type === 'leak')).toEqual([
      { type: 'leak', budget: 'leases', amount: 7, refunded: 7 },
    ]);
    // The holder comes back late: its release changes nothing and says so.
    expect(await p.release()).toBe(false);
    expect(p.expired).toBe(true);
    expect(await b.available()).toBe(9);
  });

  it('sweeps expired leases inside every call, without reclaimExpired', async () => {
    const b = guard(10);
    await b.tryAcquire(10, { leaseMs: 150 });
    expect(await b.tryReserve(5)).toBe(false);
    await sleep(200);
    expect(await b.tryReserve(5)).toBe(true);
    expect(await b.snapshot()).toMatchObject({ available: 5, expiredLeases: 1, leases: 0 });
  });

  it('refuses a commit after expiry with LEASE_EXPIRED and charges nothing', async () => {
    const b = guard(10);
    const p = (await b.tryAcquire(6, { leaseMs: 30 }))!;
    await sleep(60);
    const error = await p.commit(4).catch((e: unknown) => e);
    expect(BudgetError.isInstance(error) && error.code).toBe('LEASE_EXPIRED');
    expect(p.expired).toBe(true);
    expect(p.state).toBe('released');
    expect(await p.commit(4)).toBe(false);
    expect(await b.snapshot()).toMatchObject({ available: 10, held: 0 });
  });

  it('treats a lease past its deadline as expired, however many more were due than a call sweeps', async () => {
    // A call sweeps 16 due leases at most; 40 are due, and the latest ones are not reached.
    const t = trees(redis, 'leases-tree')({ capacity: 100, children: { capacity: 100 } });
    const events: BudgetEvent[] = [];
    const b = guard(100, { observer: (e) => events.push(e) });
    for (const [budget, owner] of [
      [b, b],
      [t.child('acme'), t],
    ] as const) {
      const permits = [];
      for (let i = 0; i < 40; i++) permits.push((await budget.tryAcquire(1, { leaseMs: 20 + i }))!);
      await sleep(120);
      expect(await permits[39]!.renew(10_000)).toBe(false);
      expect(await codeOf(permits[38]!.commit(1))).toBe('LEASE_EXPIRED');
      expect(permits[38]!.expired).toBe(true);
      expect(await permits[37]!.release()).toBe(false);
      expect((await owner.reclaimExpired()).remaining).toBe(0);
      expect(await budget.available()).toBe(100);
    }
    // Every expiry reported once, whichever call expired it.
    const leaks = events.flatMap((e) => (e.type === 'leak' ? [e] : []));
    expect(leaks.reduce((n, e) => n + e.amount, 0)).toBe(40);
    expect(leaks.reduce((n, e) => n + e.refunded, 0)).toBe(40);
  });

  it('keeps a renewed lease past its first deadline', async () => {
    const b = guard(10);
    const p = (await b.tryAcquire(4, { leaseMs: 150 }))!;
    const firstDeadline = p.expiresAt!;
    expect(await p.renew(5_000)).toBe(true);
    expect(p.expiresAt).toBeGreaterThan(firstDeadline);
    await sleep(200);
    expect((await b.reclaimExpired()).leases).toBe(0);
    expect(await p.commit()).toBe(true);
    expect(await p.renew()).toBe(false);
    expect(await b.available()).toBe(6);
  });

  it('fences an expired lease of an older epoch: its expiry refunds nothing under reset', async () => {
    const b = guard(10);
    await b.tryAcquire(6, { leaseMs: 150 });
    await b.refill();
    await b.tryReserve(10);
    await sleep(200);
    expect(await b.reclaimExpired()).toMatchObject({ leases: 1, units: 6, refunded: 0 });
    expect(await b.available()).toBe(0);
  });

  it('charges a token record after expiry in full, once, whatever the retries', async () => {
    const t = tokens(100);
    const r = (await t.tryReserveTokens(40, { leaseMs: 30 }))!;
    await sleep(60);
    expect(await t.reclaimExpired()).toMatchObject({ leases: 1, refunded: 40 });
    expect(await t.available()).toBe(100);
    await t.recordUsage(r, 70, 50); // 120 spent after all: charged in full
    expect(await t.snapshot()).toMatchObject({ available: 0, debt: 20, consumed: 120 });
    expect(await codeOf(t.recordUsage(r, 70, 50))).toBe('ALREADY_SETTLED');
    r[Symbol.dispose]();
    expect(await t.snapshot()).toMatchObject({ available: 0, debt: 20, consumed: 120 });
  });

  it('refunds nothing more when a reservation is disposed after its lease expired', async () => {
    const t = tokens(100);
    const r = (await t.tryReserveTokens(30, { leaseMs: 30 }))!;
    await t.tryReserve(50);
    await sleep(60);
    await r[Symbol.asyncDispose]();
    await t.reclaimExpired();
    expect(await t.snapshot()).toMatchObject({ available: 50, held: 50, expiredUnits: 30 });
  });
});

describe.skipIf(!redisReady)('idempotency', () => {
  /** A budget made by `make` on a client whose faults the test orders. */
  function lossy<T>(make: (client: LossyClient) => T) {
    const lossyClient = new LossyClient(redis!);
    return { lossyClient, subject: make(lossyClient) };
  }

  it('applies a release once when its reply was lost and the permit retried it', async () => {
    const { lossyClient, subject: b } = lossy((c) => guard(10, { redis: c }));
    await b.tryReserve(3); // held by the count API: a doubled refund would show 11 available
    const p = (await b.tryAcquire(4))!;
    lossyClient.loseReply.set('set', 1);
    const error = await p.release().catch((e: unknown) => e);
    expect(BudgetError.isInstance(error) && error.code).toBe('BACKEND');
    expect(BudgetError.isInstance(error) && error.details?.['backendCode']).toBe('ECONNRESET');
    expect((error as Error).cause).toBeInstanceOf(Error);
    expect(p.state).toBe('held');
    // The retry: recognised as applied by the lost attempt, not applied again.
    expect(await p.release()).toBe(false);
    expect(p.state).toBe('released');
    expect(await b.snapshot()).toMatchObject({ available: 7, held: 3 });
  });

  it('applies a partial commit once when its reply was lost and it was retried', async () => {
    const { lossyClient, subject: b } = lossy((c) => guard(10, { redis: c }));
    const p = (await b.tryAcquire(6))!;
    lossyClient.loseReply.set('set', 1);
    expect(await codeOf(p.commit(2))).toBe('BACKEND');
    expect(await p.commit(2)).toBe(false);
    expect(p.state).toBe('committed');
    expect(await b.available()).toBe(8);
  });

  it('records token usage once when its reply was lost and it was retried', async () => {
    const { lossyClient, subject: t } = lossy((c) => tokens(100, { redis: c }));
    const r = (await t.tryReserveTokens(50))!;
    lossyClient.loseReply.set('set', 1);
    expect(await codeOf(t.recordUsage(r, 60, 10))).toBe('BACKEND');
    expect(r.state).toBe('disarmed');
    const retry = await t.recordUsage(r, 60, 10).catch((e: unknown) => e);
    expect(BudgetError.isInstance(retry) && retry.code).toBe('ALREADY_SETTLED');
    expect((retry as BudgetError).details?.['earlierAttempt']).toBe(true);
    expect(r.state).toBe('recorded');
    expect(await t.snapshot()).toMatchObject({ available: 30, debt: 0, consumed: 70 });
  });

  it('refunds nothing on dispose after a record whose reply was lost', async () => {
    const { lossyClient, subject: t } = lossy((c) => tokens(100, { redis: c }));
    const r = (await t.tryReserveTokens(50))!;
    lossyClient.loseReply.set('set', 1);
    expect(await codeOf(t.recordUsage(r, 60, 10))).toBe('BACKEND');
    await r[Symbol.asyncDispose](); // disarmed by the record: refunds nothing
    expect(await t.snapshot()).toMatchObject({ available: 30, consumed: 70, held: 0 });
  });

  it('gives back the estimate at lease expiry when a record never reached Redis', async () => {
    const { lossyClient, subject: t } = lossy((c) => tokens(100, { redis: c, timeoutMs: 30 }));
    const r = (await t.tryReserveTokens(50, { leaseMs: 150 }))!;
    lossyClient.hangBefore.set('set', 1);
    expect(await codeOf(t.recordUsage(r, 60, 10))).toBe('TIMEOUT');
    await r[Symbol.asyncDispose](); // disarmed by the record: no refund from here
    expect(await t.snapshot()).toMatchObject({ available: 50, consumed: 0, held: 50 });
    await sleep(200);
    expect(await t.reclaimExpired()).toMatchObject({ leases: 1, refunded: 50 });
    expect(await t.snapshot()).toMatchObject({ available: 100, consumed: 0, held: 0 });
  });

  it('undoes a reservation whose reply never came, once its time limit passed', async () => {
    const { lossyClient, subject: b } = lossy((c) => guard(10, { redis: c, timeoutMs: 30 }));
    lossyClient.hangAfter.set('acq', 1);
    lossyClient.hangBefore.set('res', 1);
    expect(await codeOf(b.tryAcquire(4))).toBe('TIMEOUT');
    const reserve = await b.tryReserve(5).catch((e: unknown) => e);
    expect((reserve as BudgetError).code).toBe('TIMEOUT');
    expect((reserve as BudgetError).details?.['undone']).toBe(true); // refused if it arrives
    expect(await b.snapshot()).toMatchObject({ available: 10, held: 0, leases: 0 });
  });

  it('undoes a reservation whose reply was lost, so it holds nothing', async () => {
    const { lossyClient, subject: b } = lossy((c) => guard(10, { redis: c }));
    lossyClient.loseReply.set('acq', 1);
    lossyClient.loseReply.set('res', 1);
    const acquire = await b.tryAcquire(4).catch((e: unknown) => e);
    const reserve = await b.tryReserve(5).catch((e: unknown) => e);
    // The lease is settled at once, behind the lost call; the count reservation stays in the
    // pool (taking pool units back could return them twice), and the errors say which.
    expect([acquire, reserve].map((e) => (e as BudgetError).code)).toEqual(['BACKEND', 'BACKEND']);
    expect((acquire as BudgetError).details?.['undone']).toBe(true);
    expect((reserve as BudgetError).details?.['undone']).toBe(false);
    expect(await b.snapshot()).toMatchObject({ available: 5, countHeld: 5, leases: 0 });
    await b.release(5);
    expect(await b.available()).toBe(10);
  });

  it('applies a command delivered twice once, for every kind of change', async () => {
    const { lossyClient, subject: t } = lossy((c) => tokens(100, { redis: c }));
    for (const op of ['acq', 'res', 'rel', 'set']) lossyClient.duplicate.set(op, 10);
    const r = (await t.tryReserveTokens(30))!;
    expect(await t.tryReserve(20)).toBe(true);
    expect(await t.available()).toBe(50);
    await t.release(20);
    expect(await t.available()).toBe(70);
    await t.recordUsage(r, 10, 5);
    expect(await t.snapshot()).toMatchObject({ available: 85, consumed: 15, overReleased: 0 });
    const again = (await t.tryReserveTokens(10))!;
    await again[Symbol.asyncDispose]();
    expect(await t.available()).toBe(85);
    // Both settles (the record and the refund) really were delivered twice.
    expect(lossyClient.duplicate.get('set')).toBe(8);
  });

  it('forgets settled operations after the idempotency window', async () => {
    const keyPrefix = uniquePrefix('window');
    const b = guard(10, { idempotencyWindowMs: 400, keyPrefix });
    for (let i = 0; i < 20; i++) await (await b.tryAcquire(1))!.release();
    const { leases } = budgetKeys(keyPrefix, 'leases');
    expect(await redis!.hlen(leases)).toBe(20);
    await sleep(450);
    await b.available(); // every call forgets up to 16
    await b.available();
    expect(await redis!.hlen(leases)).toBe(0);
  });
});
