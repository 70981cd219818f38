// Batching under attack: the calls a budget object makes in one turn go as one 'bat' script
// call, and each must be applied and answered exactly as if it had been sent alone. These
// tests compare a batching budget with one that sends every call alone, and push on what the
// batch changes: when a call reaches the server, how much of the state one script call sees
// and sweeps, the answers sliced out of one reply, failures, reloads and the state it keeps.
import { calendarSchedule } from '@budgetry/compose';
import { BudgetError } from '@budgetry/core';
import { describe, expect, it, vi } from 'vitest';
import { budgetKeys, RedisBudget, type RedisScriptClient } from '../src/index.js';
import { RedisAllOf } from '../src/redis-all-of.js';
import { opsOf } from './helpers/batches.js';
import { fileRedis, guards, tokenBudgets } from './helpers/budgets.js';
import { packedState } from './helpers/keyspace.js';
import { LossyClient } from './helpers/lossy-client.js';
import { client, PrivateRedis, privateReady, redisReady, uniquePrefix } from './helpers/redis.js';

const redis = await fileRedis();
const guard = guards(redis, 'hostile');
const tokens = tokenBudgets(redis, 'hostile-t');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The four keys of the guard named 'hostile' under `keyPrefix`. */
function keysOf(keyPrefix: string): string[] {
  const k = budgetKeys(keyPrefix, 'hostile');
  return [k.state, k.leases, k.deadlines, k.graveyard];
}

/** A client in front of the test Redis that records the operations of every script call. */
function recording() {
  const sent: string[][] = [];
  const c: RedisScriptClient = {
    evalsha: (sha, n, ...args) => {
      sent.push(opsOf(args.slice(n)));
      return redis!.evalsha(sha, n, ...args);
    },
    eval: (script, n, ...args) => {
      sent.push(opsOf(args.slice(n)));
      return redis!.eval(script, n, ...args);
    },
  };
  return { client: c, sent };
}

describe.skipIf(!redisReady)('batching: when a call reaches the server', () => {
  it('destroy() deletes the budget even when a call of the same turn is still queued', async () => {
    // Unbatched, the reservation is handed to the client first and the DEL lands after it.
    // Batched, the reservation waits for the microtask while destroy() sends its DEL at once,
    // so the reservation lands on the deleted budget and creates it again.
    const keyPrefix = uniquePrefix('destroy');
    const b = guard(10, { keyPrefix });
    await b.available();
    const pending = b.tryReserve(4);
    await b.destroy();
    await pending;
    expect(await redis!.exists(...keysOf(keyPrefix))).toBe(0);
  });

  it('a release made before an all-of request in the same turn reaches Redis first', async () => {
    // The member's release is queued for the end of the turn; the all-of (a runner of its own,
    // unbatched) sends its request at once, so it is refused the units just released.
    const keyPrefix = uniquePrefix('allof-order');
    const g = guard(5, { keyPrefix });
    const all = new RedisAllOf({ g });
    const p = (await g.tryAcquire(5))!;
    const released = p.release();
    const got = all.tryAcquire(5);
    expect(await released).toBe(true);
    const permit = await got;
    expect(permit).not.toBeNull();
    await permit?.release();
  });

  it('keeps the order of calls across a batch flushed full and the one queued after it', async () => {
    const { client: c, sent } = recording();
    const b = guard(6, { redis: c, maxBatch: 3 });
    await b.available();
    sent.length = 0;
    // 3 fill a batch (sent at once), then a release of everything, then 4 more requests.
    const first = [b.tryReserve(2), b.tryReserve(2), b.tryReserve(2)];
    const back = b.release(6);
    const later = [b.tryReserve(2), b.tryReserve(2), b.tryReserve(2), b.tryReserve(2)];
    expect(await Promise.all(first)).toEqual([true, true, true]);
    await back;
    expect(await Promise.all(later)).toEqual([true, true, true, false]);
    expect(sent).toEqual([
      ['res', 'res', 'res'],
      ['rel', 'res', 'res'],
      ['res', 'res'],
    ]);
  });
});

describe.skipIf(!redisReady)('batching: as if each call were sent alone', () => {
  it('grants in one turn what calls sent alone grant after more than 16 leases expired', async () => {
    // Alone, every call sweeps up to 16 expired leases, so the 2nd of 20 requests already
    // finds all 20 units back. A batch sweeps once, at its start: 16 come back, 4 requests
    // are refused, though each call "sent alone" would have been granted.
    const grantsAfterBulkExpiry = async (maxBatch: number) => {
      const b = guard(20, { maxBatch });
      const leases = await Promise.all(
        Array.from({ length: 20 }, () => b.tryAcquire(1, { leaseMs: 40 })),
      );
      expect(leases.every((p) => p !== null)).toBe(true);
      await sleep(120);
      const got = await Promise.all(Array.from({ length: 20 }, () => b.tryAcquire(1)));
      return got.filter((p) => p !== null).length;
    };
    expect(await grantsAfterBulkExpiry(1)).toBe(20);
    expect(await grantsAfterBulkExpiry(32)).toBe(20);
  });

  it('answers a mixed turn exactly as the same calls sent alone, reply by reply', async () => {
    // Two budgets fed the same calls turn after turn, one batching and one not: every answer
    // (long ones like snapshots among short ones) must agree.
    const max = Number.MAX_SAFE_INTEGER;
    const run = async (maxBatch: number) => {
      const b = guard(max, { maxBatch, strict: true });
      const answers: unknown[] = [];
      const permits: (Awaited<ReturnType<RedisBudget['tryAcquire']>> | null)[] = [];
      let rnd = 7;
      const next = (n: number) => {
        rnd = (rnd * 1_103_515_245 + 12_345) % 2_147_483_648;
        return rnd % n;
      };
      const costs = [0, 1, 2 ** 52, max - 1, max, 3];
      for (let turn = 0; turn < 12; turn++) {
        const calls: Promise<unknown>[] = [];
        for (let i = 0; i < 40; i++) {
          const k = next(9);
          const cost = costs[next(costs.length)]!;
          if (k === 0) calls.push(b.tryReserve(cost));
          else if (k === 1)
            calls.push(
              b.release(cost).then(
                () => 'ok',
                (e) => codeOrText(e),
              ),
            );
          else if (k === 2)
            calls.push(
              b.tryAcquire(cost).then((p) => {
                permits.push(p);
                return p === null ? null : [p.cost, p.epoch];
              }),
            );
          else if (k === 3 || k === 4) {
            const p = permits[next(permits.length + 1)];
            if (p)
              calls.push(
                (k === 3 ? p.release() : p.commit(Math.floor(p.cost / 2))).then(
                  (r) => [r, p.state],
                  (e) => codeOrText(e),
                ),
              );
          } else if (k === 5) {
            const p = permits[next(permits.length + 1)];
            if (p) calls.push(p.renew(60_000));
          } else if (k === 6) {
            calls.push(
              b.snapshot().then((s) => ({ ...s, serverTime: 0, nextRefillAt: 0 }) as unknown),
            );
          } else if (k === 7) calls.push(b.refill(1, turn % 3));
          else calls.push(b.available());
        }
        answers.push(await Promise.all(calls));
      }
      return answers;
    };
    const alone = await run(1);
    const batched = await run(1_000);
    expect(batched).toEqual(alone);
  });

  it('settles permits in the turn they are granted, with the acquisitions still in flight', async () => {
    const b = guard(10);
    const got: boolean[] = [];
    await Promise.all(
      Array.from({ length: 15 }, (_, i) =>
        b.tryAcquire(2).then(async (p) => {
          got.push(p !== null);
          if (p === null) return;
          // Settled in the very microtask the grant arrives in, beside the other grants.
          if (i % 2 === 0) expect(await p.release()).toBe(true);
          else expect(await p.commit(1)).toBe(true);
        }),
      ),
    );
    expect(got.filter(Boolean)).toHaveLength(5);
    const s = await b.snapshot();
    expect(s).toMatchObject({ held: 0, leases: 0 });
    // Two of the five granted committed 1 (odd indexes among 0..4), three released.
    expect(s.available).toBe(10 - 2);
  });

  it('answers a token budget turn of reservations, records and snapshots as alone', async () => {
    const run = async (maxBatch: number) => {
      const t = tokens(100, { maxBatch, maxDebt: 50 });
      const out: unknown[] = [];
      const leases = await Promise.all(
        Array.from({ length: 6 }, (_, i) => t.tryReserveTokens(10 + i * 5)),
      );
      out.push(leases.map((l) => l !== null));
      out.push(
        await Promise.all([
          ...leases.map((l, i) => (l ? t.recordUsage(l, 5 + i * 20, 0) : null)),
          t.snapshot().then((s) => ({ ...s, serverTime: 0, nextRefillAt: 0 })),
          t.debt(),
          t.tokensConsumed(),
        ]),
      );
      out.push({ ...(await t.snapshot()), serverTime: 0, nextRefillAt: 0 });
      return out;
    };
    expect(await run(32)).toEqual(await run(1));
  });
});

describe.skipIf(!redisReady)('batching: failures', () => {
  it("grants every request of a failing batch locally under failure: 'open', and settles nothing", async () => {
    const broken: RedisScriptClient = {
      evalsha: () => Promise.reject(new Error('LOADING Redis is loading the dataset in memory')),
      eval: () => Promise.reject(new Error('unused')),
    };
    const told: BudgetError[] = [];
    const b = guard(2, { redis: broken, failure: 'open', onFailOpen: (e) => told.push(e) });
    const permits = await Promise.all([b.tryAcquire(2), b.tryAcquire(2), b.tryAcquire(2)]);
    expect(permits.map((p) => p?.backed)).toEqual([false, false, false]);
    expect(told).toHaveLength(3);
    for (const e of told) expect(e.details).toMatchObject({ op: 'acq', batched: true });
    expect(await Promise.all(permits.map((p) => p!.release()))).toEqual([true, true, true]);
  });

  it('a lost batch reply: the abandons in a later batch undo only the lost requests', async () => {
    const keyPrefix = uniquePrefix('abandon');
    const lossy = new LossyClient(redis!);
    const b = guard(10, { redis: lossy, keyPrefix, timeoutMs: 150 });
    await b.available();
    lossy.hangAfter.set('acq', 1); // the first batch is applied, its reply never comes
    const lost = [b.tryAcquire(3), b.tryAcquire(3)].map((p) =>
      p.then(
        () => 'granted',
        (e: BudgetError) => [e.code, e.details?.['undone']],
      ),
    );
    await sleep(20);
    // Requests in a later turn: sent before the abandons, they find the lost leases held.
    const meanwhile = await Promise.all([b.tryAcquire(3), b.tryAcquire(3)]);
    expect(meanwhile.map((p) => p !== null)).toEqual([true, false]);
    expect(await Promise.all(lost)).toEqual([
      ['TIMEOUT', true],
      ['TIMEOUT', true],
    ]);
    const check = guard(10, { keyPrefix });
    expect(await check.snapshot()).toMatchObject({ available: 7, held: 3, leases: 1 });
    await meanwhile[0]!.release();
    expect(await check.snapshot()).toMatchObject({ available: 10, held: 0, leases: 0 });
  });

  it('a calendar batch refused for a skewed clock is sent again whole, in order, once', async () => {
    // This process's clock two hours behind the server's: the boundaries it sends do not
    // bracket the server's time, so each batch is refused once, then sent again around it.
    const realNow = Date.now.bind(Date);
    const skew = vi.spyOn(Date, 'now').mockImplementation(() => realNow() - 7_200_000);
    try {
      const keyPrefix = uniquePrefix('cal-batch');
      const { client: c, sent } = recording();
      const b = guard(5, {
        redis: c,
        keyPrefix,
        maxBatch: 4,
        refillCalendar: { unit: 'hour', timeZone: 'UTC' },
      });
      const grants = await Promise.all(Array.from({ length: 6 }, () => b.tryReserve(2)));
      expect(grants).toEqual([true, true, false, false, false, false]);
      expect(sent).toEqual([
        ['res', 'res', 'res', 'res'],
        ['res', 'res'],
        ['res', 'res', 'res', 'res'],
        ['res', 'res'],
      ]);
      const serverMs = Number((await redis!.time())[0]) * 1000;
      const hours = calendarSchedule({ unit: 'hour', timeZone: 'UTC' });
      const state = budgetKeys(keyPrefix, 'hostile').state;
      expect(await packedState(redis!, state)).toMatchObject({
        pidx: hours.index(serverMs),
        ch: 4,
      });
    } finally {
      skew.mockRestore();
    }
  });

  it('slices a 1 000-call batch of long and short replies at costs near 2^53', async () => {
    const max = Number.MAX_SAFE_INTEGER;
    const b = guard(max, { maxBatch: 1_000 });
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 250; i++) {
      calls.push(b.tryReserve(max - i));
      calls.push(b.snapshot().then((s) => [s.available, s.countHeld]));
      calls.push(b.release(max - i));
      calls.push(b.available());
    }
    const out = await Promise.all(calls);
    for (let i = 0; i < 250; i++) {
      expect(out.slice(i * 4, i * 4 + 4)).toEqual([true, [i, max - i], undefined, max]);
    }
  });
});

describe.skipIf(!redisReady)('the count API after a local grant', () => {
  it("two releases in one turn after failure: 'open' never return another process's units", async () => {
    // Each release takes min(cost, locally granted units) before either has subtracted them,
    // so both spend the same 5 local units, and the counter is left at -5: from then on every
    // release asks Redis for 5 more than it was given, taking back units that another process
    // reserved through the count API.
    let down = false;
    const flaky: RedisScriptClient = {
      evalsha: (sha, n, ...a) =>
        down
          ? Promise.reject(
              Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
            )
          : redis!.evalsha(sha, n, ...a),
      eval: (script, n, ...a) =>
        down ? Promise.reject(new Error('connect ECONNREFUSED')) : redis!.eval(script, n, ...a),
    };
    const keyPrefix = uniquePrefix('open-units');
    const b = guard(20, { redis: flaky, keyPrefix, failure: 'open' });
    const other = guard(20, { keyPrefix });
    expect(await b.tryReserve(6)).toBe(true);
    down = true;
    expect(await b.tryReserve(5)).toBe(true); // granted locally
    down = false;
    // 11 held (6 in Redis, 5 local); 16 given back: the 5 beyond are over-released.
    await Promise.all([b.release(8), b.release(8)]);
    expect(await other.tryReserve(10)).toBe(true); // another process holds 10
    expect(await b.tryReserve(4)).toBe(true);
    await b.release(4);
    expect(await other.snapshot()).toMatchObject({ countHeld: 10, available: 10 });
  });
});

describe.skipIf(!privateReady)('batching: script reloads', () => {
  it('batches in flight across SCRIPT FLUSH are each reloaded and applied once, in order', async () => {
    const server = await PrivateRedis.start();
    const r = client(server.port);
    try {
      const b = new RedisBudget(6, { redis: r, name: 'flush', maxBatch: 4 });
      expect(await b.tryReserve(1)).toBe(true); // loads the script (one reload on a new server)
      const before = (await b.snapshot()).scriptReloads;
      await r.script('FLUSH');
      // Three batches (4, 4, 2) in flight at once, each answered NOSCRIPT.
      const grants = await Promise.all(Array.from({ length: 10 }, () => b.tryReserve(1)));
      expect(grants).toEqual([true, true, true, true, true, false, false, false, false, false]);
      const s = await b.snapshot();
      expect(s).toMatchObject({ available: 0, countHeld: 6 });
      expect(s.scriptReloads - before).toBe(3);
    } finally {
      r.disconnect();
      await server.kill();
    }
  });
});

describe.skipIf(!redisReady)('batching: the sweep and graveyard bounds', () => {
  it('reports the leases one batch swept once, to the observer, with their units', async () => {
    const leaks: { amount: number; refunded: number }[] = [];
    const b = guard(10, {
      observer: (e) => {
        if (e.type === 'leak') leaks.push({ amount: e.amount, refunded: e.refunded });
      },
    });
    await Promise.all([b.tryAcquire(3, { leaseMs: 40 }), b.tryAcquire(4, { leaseMs: 40 })]);
    await sleep(100);
    await Promise.all([b.available(), b.tryReserve(1), b.available()]);
    expect(leaks).toEqual([{ amount: 7, refunded: 7 }]);
  });

  it('sweeps leases an all-of wrote into a member on time from the member alone', async () => {
    const g = guard(10);
    const h = guard(10);
    await g.available(); // the member exists with nothing due, so nothing is swept
    const all = new RedisAllOf({ g, h });
    expect(await all.tryAcquire(6, { leaseMs: 40 })).not.toBeNull();
    expect(await Promise.all([g.available(), h.available()])).toEqual([4, 4]);
    await sleep(100);
    expect(await Promise.all([g.available(), h.available(), g.available()])).toEqual([10, 10, 10]);
  });

  it('sweeps every lease of a bulk expiry, 16 a call, with nothing else due after', async () => {
    const b = guard(40, { maxBatch: 1 });
    await Promise.all(Array.from({ length: 40 }, () => b.tryAcquire(1, { leaseMs: 40 })));
    await sleep(100);
    const seen: number[] = [];
    for (let i = 0; i < 3; i++) seen.push(await b.available());
    expect(seen).toEqual([16, 32, 40]);
  });

  it('forgets a settled record no sooner than the window and within 1.25 windows', async () => {
    const keyPrefix = uniquePrefix('grave');
    const windowMs = 400;
    const b = guard(10, { keyPrefix, idempotencyWindowMs: windowMs });
    const [, graveyard] = keysOf(keyPrefix).slice(2);
    const p = (await b.tryAcquire(2))!;
    expect(await p.release()).toBe(true);
    const settled = Date.now();
    const id = p.id;
    let forgottenAt: number | undefined;
    while (Date.now() - settled < windowMs * 1.25 + 150) {
      await b.available();
      const kept = await redis!.zscore(graveyard!, id);
      if (kept === null) {
        forgottenAt = Date.now() - settled;
        break;
      }
      await sleep(20);
    }
    expect(forgottenAt).toBeDefined();
    expect(forgottenAt!).toBeGreaterThanOrEqual(windowMs - 30);
    expect(forgottenAt!).toBeLessThanOrEqual(windowMs * 1.25 + 100);
  });

  it('migrates a budget stored field by field mid-traffic, with old records past due', async () => {
    const keyPrefix = uniquePrefix('migrate');
    const k = budgetKeys(keyPrefix, 'hostile');
    // The earlier layout after 20 leases of 1 (past due) and a count reservation of 3.
    await redis!.hset(k.state, {
      sq: '21',
      cfg: 'guard|30|reset|0|-1',
      net: '7',
      rs: '23',
      ch: '3',
      ep: '0',
      org: '0',
      pidx: '0',
      con: '0',
      od: '0',
      fg: '0',
      xl: '0',
      xu: '0',
    });
    const past = Date.now() - 1_000;
    for (let i = 0; i < 20; i++) {
      await redis!.hset(k.leases, `old${i}`, 'h|1|0');
      await redis!.zadd(k.deadlines, past, `old${i}`);
    }
    const b = guard(30, { keyPrefix });
    // One batch: the first call migrates and sweeps 16; each later call sweeps again, as a
    // call sent alone would, so the third finds the last 4 back.
    const first = await Promise.all([b.available(), b.tryReserve(23), b.tryReserve(1)]);
    expect(first).toEqual([23, true, true]);
    expect((await redis!.hkeys(k.state)).sort()).toEqual(['cfg', 'st']);
    expect(await b.available()).toBe(3);
    const s = await b.snapshot();
    expect(s).toMatchObject({ expiredLeases: 20, leases: 0, countHeld: 27 });
  });
});

function codeOrText(e: unknown): string {
  return BudgetError.isInstance(e) ? e.code : String(e);
}
