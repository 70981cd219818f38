// Batching: the calls a RedisBudget makes in one turn go to Redis as one script call, each
// applied and answered exactly as if sent alone. Also the state layout the batching script
// keeps — packed numbers and records — and budgets stored by the layout before it.
import { BudgetError } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { HIERARCHY_SCRIPT } from '../src/hierarchy-script.js';
import { budgetKeys, hierarchyKeys, RedisAllOf, type RedisScriptClient } from '../src/index.js';
import { BUDGET_SCRIPT } from '../src/script.js';
import { opsOf, unbatch } from './helpers/batches.js';
import { codeOf, fileRedis, guards, tokenBudgets, trees } from './helpers/budgets.js';
import { packedState } from './helpers/keyspace.js';
import { redisReady, uniquePrefix } from './helpers/redis.js';

const redis = await fileRedis();
const guard = guards(redis, 'batch');
const tokens = tokenBudgets(redis, 'batch-t');
const tree = trees(redis, 'batch-tree');

/** A client that counts the script calls it carries and the operations in each. */
function counting() {
  const sent: string[][] = [];
  const client: RedisScriptClient = {
    evalsha: (sha, n, ...args) => {
      sent.push(opsOf(args.slice(n)));
      return redis!.evalsha(sha, n, ...args);
    },
    eval: (script, n, ...args) => {
      sent.push(opsOf(args.slice(n)));
      return redis!.eval(script, n, ...args);
    },
  };
  return { client, sent };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!redisReady)('batched calls', () => {
  it('sends the calls of one turn as one script call, each answered in order', async () => {
    const { client, sent } = counting();
    const b = guard(3, { redis: client });
    await b.available(); // the budget exists
    sent.length = 0;
    const grants = await Promise.all(Array.from({ length: 5 }, () => b.tryReserve(1)));
    expect(grants).toEqual([true, true, true, false, false]);
    expect(sent).toEqual([['res', 'res', 'res', 'res', 'res']]);
    expect(await b.snapshot()).toMatchObject({ available: 0, held: 3 });
  });

  it('splits a turn into batches of maxBatch, and sends each call alone at maxBatch 1', async () => {
    const { client, sent } = counting();
    const b = guard(100, { redis: client, maxBatch: 4 });
    await Promise.all(Array.from({ length: 10 }, () => b.tryReserve(1)));
    expect(sent.map((ops) => ops.length)).toEqual([4, 4, 2]);
    const alone = counting();
    const c = guard(100, { redis: alone.client, maxBatch: 1 });
    await Promise.all(Array.from({ length: 3 }, () => c.tryReserve(1)));
    expect(alone.sent).toEqual([['res'], ['res'], ['res']]);
  });

  it('numbers every change in a batch on its own, as calls sent alone would be', async () => {
    const log: number[] = [];
    const b = guard(10, {
      observer: () => {},
      redis: {
        evalsha: async (sha, n, ...args) => {
          const reply = await redis!.evalsha(sha, n, ...args);
          for (const call of unbatch(args.slice(n), reply)) log.push(call.reply[4]!);
          return reply;
        },
        eval: (script, n, ...args) => redis!.eval(script, n, ...args),
      },
    });
    await Promise.all([b.tryReserve(2), b.tryReserve(3), b.available(), b.release(1)]);
    // Three changes, numbered 1, 2, 3; the read in between sees the second.
    expect(log).toEqual([1, 2, 2, 3]);
  });

  it('conserves units under many overlapping calls on several budget objects', async () => {
    const keyPrefix = uniquePrefix('overlap');
    const objects = Array.from({ length: 4 }, () => guard(50, { keyPrefix, maxBatch: 8 }));
    const results = await Promise.all(
      objects.flatMap((b) =>
        Array.from({ length: 40 }, async (_, i) => {
          const p = await b.tryAcquire(1 + (i % 3));
          if (p === null) return 0;
          await sleep(i % 4);
          if (i % 2 === 0) await p.release();
          else await p.commit();
          return i % 2 === 0 ? 0 : p.cost;
        }),
      ),
    );
    const committed = results.reduce((a, b) => a + b, 0);
    expect(committed).toBeGreaterThan(0);
    expect(await objects[0]!.snapshot()).toMatchObject({
      available: 50 - committed,
      held: 0,
      leases: 0,
    });
  });

  it("fails each call of a batch that fails, with the call's own operation", async () => {
    const broken: RedisScriptClient = {
      evalsha: () =>
        Promise.reject(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })),
      eval: () => Promise.reject(new Error('unused')),
    };
    const b = guard(10, { redis: broken });
    const errors = await Promise.all([
      b.tryReserve(1).catch((e: unknown) => e),
      b.release(1).catch((e: unknown) => e),
    ]);
    for (const [error, op] of [
      [errors[0], 'res'],
      [errors[1], 'rel'],
    ] as const) {
      expect(BudgetError.isInstance(error)).toBe(true);
      const e = error as BudgetError;
      expect(e.code).toBe('BACKEND');
      expect(e.details).toMatchObject({ op, batched: true, backendCode: 'ECONNRESET' });
    }
  });

  it('times out every call of a batch whose answer does not come, and undoes the requests', async () => {
    const keyPrefix = uniquePrefix('hang');
    let hang = true;
    const client: RedisScriptClient = {
      evalsha: (sha, n, ...args) =>
        hang ? new Promise(() => {}) : redis!.evalsha(sha, n, ...args),
      eval: (script, n, ...args) => redis!.eval(script, n, ...args),
    };
    const b = guard(10, { redis: client, keyPrefix, timeoutMs: 50 });
    const codes = Promise.all([codeOf(b.tryAcquire(2)), codeOf(b.tryAcquire(3))]);
    await sleep(10);
    hang = false; // the abandons that follow the time-outs get through
    expect(await codes).toEqual(['TIMEOUT', 'TIMEOUT']);
    expect(await guard(10, { keyPrefix }).snapshot()).toMatchObject({ available: 10, held: 0 });
  });

  it('rejects a maxBatch that is not an integer from 1 to 1 000, with nothing made', async () => {
    for (const maxBatch of [0, -1, 1.5, 1_001, Number.NaN, '4']) {
      expect(() => guard(10, { maxBatch: maxBatch as number })).toThrow(
        expect.objectContaining({
          code: 'INVALID_ARGUMENT',
          details: expect.objectContaining({ name: 'maxBatch' }),
        }),
      );
    }
    expect(guard(10, { maxBatch: 1_000 })).toBeDefined();
  });

  it('refuses a batch naming an unknown operation before running any of it', async () => {
    const k = budgetKeys(uniquePrefix('unknown'), 'b');
    const keys = [k.state, k.leases, k.deadlines, k.graveyard];
    const config = ['guard', '10', 'reset', '0', '-1', '600000'];
    await expect(
      redis!.eval(
        BUDGET_SCRIPT.text,
        4,
        ...keys,
        'bat',
        ...config,
        '2',
        'res',
        '2',
        'r1',
        '4',
        'nope',
        '0',
      ),
    ).rejects.toThrow(/BUDGETRY_OP unknown operation nope/);
    expect(await redis!.exists(...keys)).toBe(0);
  });

  it('runs token budgets batched too: records and refunds in one turn', async () => {
    const t = tokens(100);
    const [a, b] = await Promise.all([t.tryReserveTokens(30), t.tryReserveTokens(40)]);
    await Promise.all([t.recordUsage(a!, 10, 5), t.recordUsage(b!, 50, 20)]);
    expect(await t.snapshot()).toMatchObject({ available: 15, consumed: 85, debt: 0 });
  });
});

describe.skipIf(!redisReady)('batched calls on an all-of', () => {
  it('sends a turn of all-of calls as one script call, a charge read only from its own call', async () => {
    const { client, sent } = counting();
    const rows = guard(3, { redis: client });
    const tpm = tokens(100, { redis: client });
    const both = new RedisAllOf({ rows, tpm }, { charge: { rows: 1 } });
    const plain = new RedisAllOf({ rows, tpm });
    await both.snapshot();
    sent.length = 0;
    // A count reserve without charges, then requests with them, in one turn: each call's
    // arguments end where its own do.
    const got = await Promise.all([
      plain.tryReserve(0),
      both.tryReserve(0),
      both.tryAcquire(40),
      both.tryAcquire(30),
      both.tryReserve(20),
    ]);
    expect(got.map((g) => (g === null || g === false ? 'no' : 'yes'))).toEqual([
      'yes',
      'yes',
      'yes',
      'yes',
      'yes',
    ]);
    expect(sent.map((ops) => ops.length)).toEqual([1, 4]); // two all-of objects: two runs
    expect(await rows.held()).toBe(3);
    expect((await tpm.snapshot()).held).toBe(90);
  });
});

describe.skipIf(!redisReady)('batched calls on a tree', () => {
  it('sends a turn of leaf calls as one script call, each answered in order', async () => {
    const { client, sent } = counting();
    const t = tree({ capacity: 5, children: { capacity: 4 } }, { redis: client });
    const leaf = t.child('acme');
    await leaf.available();
    sent.length = 0;
    const grants = await Promise.all([leaf.tryReserve(2), leaf.tryReserve(2), leaf.tryReserve(1)]);
    expect(grants).toEqual([true, true, false]); // the tenant's 4 ran out
    expect(sent).toEqual([['res', 'res', 'res']]);
    expect(await t.snapshot()).toMatchObject({ held: 4 });
  });

  it('conserves units along the path under overlapping permits on several tree objects', async () => {
    const keyPrefix = uniquePrefix('tree-overlap');
    const template = { capacity: 30, children: { capacity: 12 } };
    const objects = Array.from({ length: 3 }, () => tree(template, { keyPrefix, maxBatch: 8 }));
    const spent = await Promise.all(
      objects.flatMap((t, k) =>
        Array.from({ length: 30 }, async (_, i) => {
          const p = await t.child(`tenant-${(i + k) % 3}`).tryAcquire(1 + (i % 2));
          if (p === null) return 0;
          await sleep(i % 3);
          if (i % 3 === 0) {
            await p.release();
            return 0;
          }
          await p.commit();
          return p.cost;
        }),
      ),
    );
    const total = spent.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(0);
    expect(total).toBeLessThanOrEqual(30);
    const root = await objects[0]!.snapshot();
    expect(root).toMatchObject({ held: total, leases: 0 });
    const tenants = await Promise.all(
      [0, 1, 2].map((j) => objects[0]!.child(`tenant-${j}`).held()),
    );
    expect(tenants.every((h) => h <= 12)).toBe(true);
    expect(tenants.reduce((a, b) => a + b, 0)).toBe(total);
  });

  it('refuses a batch naming a node deeper than the tree before running any of it', async () => {
    const k = hierarchyKeys(uniquePrefix('deep'), 'tree');
    const keys = [k.state, k.nodes, k.leases, k.deadlines, k.graveyard];
    const config = ['10,5', '0', '600000'];
    await expect(
      redis!.eval(
        HIERARCHY_SCRIPT.text,
        5,
        ...keys,
        'bat',
        ...config,
        '2',
        'res',
        '3',
        'r1',
        '1',
        'n:a',
        'res',
        '3',
        'r2',
        '1',
        'n:a:b',
      ),
    ).rejects.toThrow(/BUDGETRY_PATH/);
    expect(await redis!.exists(...keys)).toBe(0);
  });
});

describe.skipIf(!redisReady)('the state a budget keeps in Redis', () => {
  it('packs its numbers in one field, exact to the largest safe integer', async () => {
    const keyPrefix = uniquePrefix('packed');
    const max = Number.MAX_SAFE_INTEGER;
    const b = guard(max, { keyPrefix });
    expect(await b.tryReserve(max - 1)).toBe(true);
    const { state } = budgetKeys(keyPrefix, 'batch');
    expect((await redis!.hkeys(state)).sort()).toEqual(['cfg', 'st']);
    expect(await packedState(redis!, state)).toMatchObject({ net: 1, rs: max - 1, ch: max - 1 });
    expect(await b.available()).toBe(1);
  });

  it('reads a budget stored field by field by an earlier version, and packs it', async () => {
    const keyPrefix = uniquePrefix('old');
    const k = budgetKeys(keyPrefix, 'batch');
    // What the earlier layout held after a lease of 4 (id 'p1') and a count reservation of 2.
    await redis!.hset(k.state, {
      sq: '2',
      cfg: 'guard|10|reset|0|-1',
      net: '4',
      rs: '6',
      ch: '2',
      ep: '0',
      org: '0',
      pidx: '0',
      con: '0',
      od: '0',
      fg: '0',
      xl: '0',
      xu: '0',
    });
    await redis!.hset(k.leases, 'p1', 'h|4|0');
    await redis!.zadd(k.deadlines, Date.now() + 60_000, 'p1');
    const b = guard(10, { keyPrefix });
    expect(await b.snapshot()).toMatchObject({ available: 4, held: 6, leases: 1 });
    expect((await redis!.hkeys(k.state)).sort()).toEqual(['cfg', 'st']);
    // The old text record is still a lease this version settles: its units come back.
    const reply = (await redis!.evalsha(
      BUDGET_SCRIPT.sha,
      4,
      k.state,
      k.leases,
      k.deadlines,
      k.graveyard,
      'set',
      'guard',
      '10',
      'reset',
      '0',
      '-1',
      '600000',
      'p1',
      'r',
      '0',
      '4',
    )) as number[];
    expect(reply.slice(5, 7)).toEqual([1, 4]);
    await b.release(2);
    expect(await b.snapshot()).toMatchObject({ available: 10, held: 0, leases: 0 });
    expect((await packedState(redis!, k.state))?.sq).toBe(4);
  });

  it('sweeps a short lease on time though a longer one was taken before it', async () => {
    const b = guard(10);
    const long = await b.tryAcquire(3, { leaseMs: 60_000 });
    const short = await b.tryAcquire(4, { leaseMs: 60 });
    expect(long).not.toBeNull();
    expect(short).not.toBeNull();
    expect(await b.available()).toBe(3);
    await sleep(120);
    expect(await b.available()).toBe(7);
    expect((await b.snapshot()).expiredLeases).toBe(1);
  });

  it('sweeps a lease renewed shorter on time', async () => {
    const b = guard(10);
    const p = (await b.tryAcquire(5, { leaseMs: 60_000 }))!;
    expect(await p.renew(60)).toBe(true);
    await sleep(120);
    expect(await b.available()).toBe(10);
  });
});
