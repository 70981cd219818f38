import {
  AtomicTokenBudget,
  type BudgetError,
  capabilitiesOf,
  TokenReservation,
} from '@budgetry/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { codeOf, fileRedis, tokenBudgets } from './helpers/budgets.js';
import { LossyClient } from './helpers/lossy-client.js';
import { redisReady } from './helpers/redis.js';

const redis = await fileRedis();
const tokens = tokenBudgets(redis, 'tokens');

describe.skipIf(!redisReady)('RedisTokenBudget', () => {
  it('owes overage in full: the reference case that forgave it', async () => {
    // capacity 100, reserve 50 and 50, record 80 on the first, drop the second: 20 remain.
    const t = tokens(100);
    const a = (await t.tryReserveTokens(50))!;
    const b = (await t.tryReserveTokens(50))!;
    await t.recordUsage(a, 60, 20);
    await b[Symbol.asyncDispose]();
    expect(await t.snapshot()).toMatchObject({ available: 20, debt: 0, consumed: 80 });
  });

  it('denies while in debt, grants an estimate of 0, and pays debt first from refunds', async () => {
    const t = tokens(100);
    const big = (await t.tryReserveTokens(100))!;
    const held = (await t.tryReserve(0)) && (await t.tryReserveTokens(0));
    expect(held).toBeInstanceOf(TokenReservation);
    await t.recordUsage(big, 130, 0);
    expect(await t.debt()).toBe(30);
    expect(await t.tryReserveTokens(1)).toBeNull();
    expect(await t.tryReserveTokens(0)).not.toBeNull();
    await t.refill();
    expect(await t.snapshot()).toMatchObject({ available: 70, debt: 0 });
  });

  it('a record Redis applied before a racing refund leaves the reservation recorded', async () => {
    const t = tokens(100);
    const r = (await t.tryReserveTokens(40))!;
    const refund = r.disarm()!;
    const recorded = t.recordUsage(r, 10, 5); // sent first: Redis applies it
    const refunded = refund(); // sent after it: Redis finds the lease recorded
    await Promise.all([recorded, refunded]);
    expect(r.state).toBe('recorded');
    expect(await t.snapshot()).toMatchObject({ available: 85, consumed: 15 });
    expect(await codeOf(t.recordUsage(r, 1, 0))).toBe('ALREADY_SETTLED');
  });

  it("charges a reservation granted locally under failure: 'open' whose request landed after all", async () => {
    // The request reached Redis and only its answer was lost: the abandon that followed took
    // the lease back (or, failing too, the lease expired). Either way the lease's id holds a
    // record, and the usage must still be charged, once.
    for (const abandon of ['applied', 'lost'] as const) {
      const lossy = new LossyClient(redis!);
      const told: BudgetError[] = [];
      const t = tokens(100, {
        redis: lossy,
        failure: 'open',
        leaseMs: 30,
        timeoutMs: 100,
        onFailOpen: (e) => told.push(e),
      });
      // The script loaded first: a server's first EVALSHA of it is answered NOSCRIPT, and the
      // EVAL that follows bypasses the client's faults.
      await t.available();
      lossy.loseReply.set('acq', 1);
      if (abandon === 'lost') lossy.hangBefore.set('abt', 1);
      const r = await t.tryReserveTokens(10);
      expect(r).not.toBeNull();
      expect(told).toHaveLength(1);
      if (abandon === 'lost') await new Promise((done) => setTimeout(done, 60));
      expect(await t.available()).toBe(100); // the lease is gone, either way
      await t.recordUsage(r!, 30, 30);
      expect(await t.snapshot()).toMatchObject({ available: 40, consumed: 60, debt: 0 });
    }
  });

  it('caps debt at maxDebt and counts what it wrote off', async () => {
    const t = tokens(10, { maxDebt: 5 });
    const r = (await t.tryReserveTokens(10))!;
    await t.recordUsage(r, 30, 0);
    expect(await t.snapshot()).toMatchObject({ debt: 5, forgivenDebt: 15, consumed: 30 });
  });

  it('rejects a foreign, a settled and a non-reservation handle, changing nothing', async () => {
    const t = tokens(100);
    const other = tokens(100);
    const r = (await other.tryReserveTokens(10))!;
    expect(await codeOf(t.recordUsage(r, 1, 1))).toBe('FOREIGN_HANDLE');
    const own = (await t.tryReserveTokens(10))!;
    await t.recordUsage(own, 5, 0);
    expect(await codeOf(t.recordUsage(own, 5, 0))).toBe('ALREADY_SETTLED');
    const fake = { estimate: 3 } as unknown as TokenReservation;
    expect(await codeOf(t.recordUsage(fake, 1, 1))).toBe('INVALID_ARGUMENT');
    for (const bad of [-1, 0.5, Number.NaN, '1', 2 ** 53]) {
      expect(await codeOf(t.recordUsage(own, bad as number, 0))).toBe('INVALID_AMOUNT');
      expect(await codeOf(t.tryReserveTokens(bad as number))).toBe('INVALID_AMOUNT');
    }
    expect(await codeOf(t.recordUsage(own, 2 ** 52, 2 ** 52))).toBe('INVALID_AMOUNT');
    expect(await t.snapshot()).toMatchObject({ available: 95, consumed: 5 });
    expect(await other.snapshot()).toMatchObject({ available: 90, consumed: 0 });
  });

  it('records each reservation once when two records race', async () => {
    const t = tokens(100);
    const r = (await t.tryReserveTokens(40))!;
    const outcomes = await Promise.allSettled([t.recordUsage(r, 10, 0), t.recordUsage(r, 20, 0)]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected']);
    expect(await t.snapshot()).toMatchObject({ available: 90, consumed: 10 });
  });

  it('declares itself asynchronous, with a refill policy and no partial commit', () => {
    expect(capabilitiesOf(tokens(5, { refillPolicy: 'carry' }))).toEqual({
      sync: false,
      countRelease: true,
      partialCommit: false,
      retryHint: false,
      refill: 'carry',
      schedulable: false,
    });
  });

  it('matches AtomicTokenBudget step for step on random histories', async () => {
    const op = fc.oneof(
      fc.record({ k: fc.constant('reserve' as const), n: fc.nat(14) }),
      fc.record({ k: fc.constant('count' as const), n: fc.nat(14) }),
      fc.record({ k: fc.constant('release' as const), n: fc.nat(14) }),
      fc.record({ k: fc.constant('record' as const), i: fc.nat(5), n: fc.nat(25) }),
      fc.record({ k: fc.constant('dispose' as const), i: fc.nat(5) }),
      fc.record({ k: fc.constant('refill' as const), n: fc.integer({ min: 1, max: 3 }) }),
    );
    const policy = fc.constantFrom('reset' as const, 'carry' as const);
    const maxDebt = fc.option(fc.nat(12), { nil: undefined });
    await fc.assert(
      fc.asyncProperty(policy, maxDebt, fc.array(op, { maxLength: 25 }), async (p, md, ops) => {
        const opts = {
          refillPolicy: p,
          leakBackstop: false,
          ...(md === undefined ? {} : { maxDebt: md }),
        };
        const remote = tokens(10, opts);
        const local = new AtomicTokenBudget(10, opts);
        const rs: (TokenReservation | null)[] = [];
        const ls: (TokenReservation | null)[] = [];
        for (const o of ops) {
          if (o.k === 'reserve') {
            rs.push(await remote.tryReserveTokens(o.n));
            ls.push(local.tryReserveTokensSync(o.n));
            expect(rs.at(-1) === null).toBe(ls.at(-1) === null);
          } else if (o.k === 'count') {
            expect(await remote.tryReserve(o.n)).toBe(local.tryReserveSync(o.n));
          } else if (o.k === 'release') {
            await remote.release(o.n);
            local.releaseSync(o.n);
          } else if (o.k === 'refill') {
            await remote.refill(o.n);
            local.refill(o.n);
          } else {
            const r = rs[o.i];
            const l = ls[o.i];
            if (!r || !l) continue;
            if (o.k === 'dispose') {
              await r[Symbol.asyncDispose]();
              l[Symbol.dispose]();
            } else {
              const a = await codeOf(remote.recordUsage(r, o.n, 0));
              let b = 'resolved';
              try {
                local.recordUsageSync(l, o.n, 0);
              } catch (error) {
                b = (error as BudgetError).code;
              }
              expect(a).toBe(b);
            }
          }
          const s = await remote.snapshot();
          const l = local.snapshot();
          expect([o.k, s.available, s.debt, s.held, s.consumed, s.epoch, s.forgivenDebt]).toEqual([
            o.k,
            l.available,
            l.debt,
            l.reserved,
            l.consumed,
            l.epoch,
            l.forgivenDebt,
          ]);
        }
        await remote.destroy();
      }),
      { numRuns: 60 },
    );
  }, 60_000);
});
