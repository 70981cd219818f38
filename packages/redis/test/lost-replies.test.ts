// Calls whose answer is lost after Redis applied them, and commands delivered twice: what the
// budget says afterwards must be what happened. Each case came from a review that drove the
// budgets through test/helpers/lossy-client.ts against a model. Each test makes a call before
// it arms a fault: on a server that has not loaded a script yet, the first EVALSHA is answered
// NOSCRIPT, and the EVAL that follows bypasses the faults.
import type { BudgetError, BudgetEvent } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import type { RedisScriptClient } from '../src/index.js';
import { RedisAllOf } from '../src/redis-all-of.js';
import { opsOf } from './helpers/batches.js';
import { codeOf, fileRedis, guards, tokenBudgets, trees } from './helpers/budgets.js';
import { LossyClient } from './helpers/lossy-client.js';
import { redisReady } from './helpers/redis.js';

const redis = await fileRedis();

/** `client`'s evalsha, except that a call carrying `op` is never answered (nor sent). */
function hangsOn(op: string, client: RedisScriptClient): RedisScriptClient['evalsha'] {
  return (sha, n, ...args) =>
    opsOf(args.slice(n)).includes(op) ? new Promise(() => {}) : client.evalsha(sha, n, ...args);
}
const guard = guards(redis, 'lost');
const tokens = tokenBudgets(redis, 'lost-t');
const tree = trees(redis, 'lost-tree');

describe.skipIf(!redisReady)('lost replies and copies', () => {
  it("under failure: 'open', a count reservation that reached Redis is released there", async () => {
    // The reply of the reservation is lost; the abandon finds it arrived (undone: false). It
    // is granted by Redis, so the caller's release must reach Redis, not a local count.
    const lossy = new LossyClient(redis!);
    const told: BudgetError[] = [];
    const b = guard(100, { redis: lossy, failure: 'open', onFailOpen: (e) => told.push(e) });
    const t = tree(
      { capacity: 100, children: { capacity: 60 } },
      { redis: lossy, failure: 'open' },
    );
    const acme = t.child('acme');
    await Promise.all([b.available(), acme.available()]); // loads the scripts (see the header)
    for (const node of [b, acme]) {
      lossy.loseReply.set('res', 1);
      expect(await node.tryReserve(30)).toBe(true);
      await node.release(30);
    }
    expect(told.map((e) => e.details?.['undone'])).toEqual([false]);
    expect(await b.snapshot()).toMatchObject({ available: 100, countHeld: 0 });
    expect(await Promise.all([acme.held(), t.held()])).toEqual([0, 0]);
  });

  it('a permit whose commit reached Redis says committed when released after, and reports the commit', async () => {
    const lossy = new LossyClient(redis!);
    const events: BudgetEvent[] = [];
    const observer = (e: BudgetEvent) => events.push(e);
    const b = guard(100, { redis: lossy, observer });
    const t = tree({ capacity: 100, children: { capacity: 60 } }, { redis: lossy, observer });
    const g = guard(100, { redis: lossy });
    const tpm = tokens(100, { redis: lossy });
    const both = new RedisAllOf({ g, tpm });
    const permits = [
      (await b.tryAcquire(10))!,
      (await t.child('acme').tryAcquire(10))!,
      (await both.tryAcquire(10))!,
    ];
    for (const p of permits) {
      lossy.loseReply.set('set', 1);
      expect(await codeOf(p.commit(4))).toBe('BACKEND');
      await p[Symbol.asyncDispose](); // `await using` leaving its block: a release
      expect(p.state).toBe('committed');
    }
    expect(await Promise.all([b.available(), t.child('acme').available(), g.available()])).toEqual([
      96, 56, 96,
    ]);
    expect(await tpm.tokensConsumed()).toBe(4);
    // The guard's and the node's commits, reported once each with what Redis applied.
    expect(events.filter((e) => e.type === 'commit' || e.type === 'release')).toMatchObject([
      { type: 'commit', cost: 10, used: 4, refunded: 6 },
      { type: 'commit', cost: 10, used: 4, refunded: 6 },
    ]);
  });

  it('a retried commit whose first attempt was applied reports what that attempt charged', async () => {
    const lossy = new LossyClient(redis!);
    const events: BudgetEvent[] = [];
    const observer = (e: BudgetEvent) => events.push(e);
    const b = guard(100, { redis: lossy, observer });
    const t = tree({ capacity: 100, children: { capacity: 60 } }, { redis: lossy, observer });
    const node = t.child('acme');
    for (const budget of [b, node]) {
      const p = (await budget.tryAcquire(10))!;
      lossy.loseReply.set('set', 1);
      expect(await codeOf(p.commit(4))).toBe('BACKEND');
      expect(await p.commit(7)).toBe(false); // the retry changes nothing…
      expect(p.state).toBe('committed');
    }
    expect(await Promise.all([b.available(), node.available()])).toEqual([96, 56]);
    // …and reports the commit that was applied, once each.
    expect(events.filter((e) => e.type === 'commit')).toMatchObject([
      { cost: 10, used: 4, refunded: 6 },
      { cost: 10, used: 4, refunded: 6 },
    ]);
  });

  it('a refill delivered twice begins one epoch, and its copy answers what it did', async () => {
    const lossy = new LossyClient(redis!);
    const b = guard(100, { redis: lossy });
    const t = tokens(100, { redis: lossy });
    const root = tree({ capacity: 100, children: { capacity: 60 } }, { redis: lossy });
    const debt = (await t.tryReserveTokens(100))!;
    await t.recordUsage(debt, 350, 0); // 250 owed
    await root.snapshot();
    lossy.duplicate.set('ref', 3);
    expect(await b.refill()).toBe(true);
    expect(await t.refill()).toBe(true);
    expect(await root.refill()).toBe(true);
    expect((await b.snapshot()).epoch).toBe(1);
    expect(await t.snapshot()).toMatchObject({ epoch: 1, debt: 150 });
    expect((await root.snapshot()).epoch).toBe(1);
    // Fenced to the epoch it saw: the copy answers true as the first did, not false.
    lossy.duplicate.set('ref', 1);
    expect(await b.refill(1, 1)).toBe(true);
    expect((await b.snapshot()).epoch).toBe(2);
  });

  it('reports a lost record with what Redis charged, once, when retried or refunded after', async () => {
    for (const after of ['retry', 'refund'] as const) {
      const lossy = new LossyClient(redis!);
      const events: BudgetEvent[] = [];
      const t = tokens(100, { redis: lossy, observer: (e) => events.push(e) });
      const r = (await t.tryReserveTokens(10))!;
      const refund = r.disarm()!;
      lossy.loseReply.set('set', 1);
      expect(await codeOf(t.recordUsage(r, 150, 0))).toBe('BACKEND'); // applied: 50 owed
      if (after === 'retry') expect(await codeOf(t.recordUsage(r, 5, 0))).toBe('ALREADY_SETTLED');
      else await refund();
      expect(r.state).toBe('recorded');
      const seen = events.filter((e) => e.type !== 'reserve');
      expect(seen).toMatchObject([
        { type: 'record', estimate: 10, actual: 150, debt: 50 },
        { type: 'debt', debt: 50 },
      ]);
      expect(seen).toHaveLength(2);
      expect(await t.snapshot()).toMatchObject({ consumed: 150, debt: 50 });
    }
  });

  /**
   * What ioredis does with a command unanswered at a reconnect: it sends it again, and the
   * caller gets the second answer. Here every command goes twice.
   */
  const copies: RedisScriptClient = {
    evalsha: async (sha, n, ...args) => {
      await redis!.evalsha(sha, n, ...args);
      return redis!.evalsha(sha, n, ...args);
    },
    eval: async (script, n, ...args) => {
      await redis!.eval(script, n, ...args);
      return redis!.eval(script, n, ...args);
    },
  };

  it('resolves a record whose only attempt the client delivered twice', async () => {
    for (const backed of [true, false]) {
      const events: BudgetEvent[] = [];
      const t = tokens(100, {
        redis: backed ? copies : { ...copies, evalsha: hangsOn('acq', copies) },
        failure: 'open',
        timeoutMs: 100,
        observer: (e) => events.push(e),
      });
      const r = (await t.tryReserveTokens(10))!;
      await t.recordUsage(r, 30, 0);
      expect(r.state).toBe('recorded');
      expect(events.filter((e) => e.type === 'record')).toMatchObject([{ actual: 30 }]);
      expect(await t.snapshot()).toMatchObject({ consumed: 30, available: 70 });
    }
  });

  it('resolves a settle whose only attempt the client delivered twice, and reports it once', async () => {
    const events: BudgetEvent[] = [];
    const observer = (e: BudgetEvent) => events.push(e);
    const b = guard(100, { redis: copies, observer });
    const t = tree({ capacity: 100, children: { capacity: 60 } }, { redis: copies, observer });
    const both = new RedisAllOf({
      g: guard(100, { redis: copies }),
      tpm: tokens(100, { redis: copies }),
    });
    for (const how of ['release', 'commit'] as const) {
      events.length = 0;
      const permits = [
        (await b.tryAcquire(10))!,
        (await t.child('acme').tryAcquire(10))!,
        (await both.tryAcquire(10))!,
      ];
      for (const p of permits) {
        expect(await (how === 'release' ? p.release() : p.commit(4))).toBe(true);
        expect(p.state).toBe(how === 'release' ? 'released' : 'committed');
        // A retry by the caller is still one: the permit was settled.
        expect(await p.release()).toBe(false);
      }
      const settles = events.filter((e) => e.type === how);
      expect(settles).toHaveLength(2); // the guard's and the tree node's
      expect(settles.map((e) => ('refunded' in e ? e.refunded : undefined))).toEqual(
        how === 'release' ? [10, 10] : [6, 6],
      );
    }
    expect(
      await Promise.all([b.available(), t.child('acme').available(), both.snapshot()]),
    ).toMatchObject([96, 56, { g: { available: 96 }, tpm: { available: 96 } }]);
  });

  it('reports what a refund the client delivered twice gave back', async () => {
    const events: BudgetEvent[] = [];
    const t = tokens(100, { redis: copies, observer: (e) => events.push(e) });
    const r = (await t.tryReserveTokens(10))!;
    await r.disarm()!();
    expect(events.filter((e) => e.type === 'release')).toMatchObject([{ cost: 10, refunded: 10 }]);
    expect(await t.snapshot()).toMatchObject({ available: 100, held: 0 });
  });

  it('reports a record once when a refund sent right after it meets it', async () => {
    const events: BudgetEvent[] = [];
    const t = tokens(100, { observer: (e) => events.push(e) });
    const r = (await t.tryReserveTokens(10))!;
    const refund = r.disarm()!;
    // Both sent before either answers: the refund reaches Redis second and finds the record.
    await Promise.allSettled([t.recordUsage(r, 30, 0), refund()]);
    expect(r.state).toBe('recorded');
    expect(events.filter((e) => e.type === 'record')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'release')).toHaveLength(0);
    expect(await t.snapshot()).toMatchObject({ consumed: 30, available: 70 });
  });

  it('a retried record whose first attempt was applied is rejected as recorded, and reported once', async () => {
    // Backed, and granted locally under failure: 'open' (its charge has an id of its own).
    for (const backed of [true, false]) {
      const lossy = new LossyClient(redis!);
      const events: BudgetEvent[] = [];
      const t = tokens(100, {
        redis: lossy,
        failure: 'open',
        timeoutMs: 100,
        observer: (e) => events.push(e),
      });
      await t.available();
      if (!backed) lossy.hangBefore.set('acq', 1);
      const r = (await t.tryReserveTokens(10))!;
      lossy.loseReply.set(backed ? 'set' : 'chg', 1);
      expect(await codeOf(t.recordUsage(r, 20, 0))).toBe('BACKEND');
      await expect(t.recordUsage(r, 20, 0)).rejects.toMatchObject({
        code: 'ALREADY_SETTLED',
        details: { earlierAttempt: true },
      });
      expect(r.state).toBe('recorded');
      expect(await t.snapshot()).toMatchObject({ consumed: 20, available: 80 });
      expect(events.filter((e) => e.type === 'record')).toHaveLength(1);
    }
  });
});
