// RedisHierarchy against compose's in-process hierarchy on random histories, and what Redis
// adds: leases that expire and give back to their whole path once, retries applied once,
// epochs on the server's clock, declared capacities, typed refusals of bad input.
import { allOf } from '@budgetry/compose';
import { AtomicBudget, type BudgetEvent, capabilitiesOf } from '@budgetry/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  hierarchyKeys,
  RedisBudget,
  type RedisHierarchyNode,
  type RedisPermit,
} from '../src/index.js';
import { codeOf, fileRedis, trees } from './helpers/budgets.js';
import { hostile, slotOf } from './helpers/keyspace.js';
import { LossyClient } from './helpers/lossy-client.js';
import { keysUnder, redisReady, uniquePrefix } from './helpers/redis.js';
import { type Model, modelOf, nodeState, pathsOf } from './helpers/tree-model.js';

const redis = await fileRedis();
const tree = trees(redis, 'tree');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const THREE = { capacity: 10, children: { capacity: 6, children: { capacity: 4 } } };

describe.skipIf(!redisReady)('RedisHierarchy, decisions', () => {
  it('decides as compose’s hierarchy on random histories, at every node', async () => {
    const tenants = ['acme', 'a}{: b\n'];
    const users = ['u', '{x}:y'];
    const path = fc.oneof(
      { arbitrary: fc.constant([] as string[]), weight: 1 },
      { arbitrary: fc.constantFrom(...tenants).map((t) => [t]), weight: 2 },
      { arbitrary: fc.tuple(fc.constantFrom(...tenants), fc.constantFrom(...users)), weight: 4 },
    );
    const op = fc.oneof(
      fc.record({ k: fc.constant('acquire' as const), path, n: fc.nat(12) }),
      fc.record({ k: fc.constant('reserve' as const), path, n: fc.nat(12) }),
      fc.record({ k: fc.constant('release' as const), path, n: fc.nat(12) }),
      fc.record({
        k: fc.constant('settle' as const),
        i: fc.nat(9),
        commit: fc.boolean(),
        n: fc.nat(12),
      }),
      fc.record({ k: fc.constant('refill' as const) }),
      fc.record({
        k: fc.constant('declare' as const),
        t: fc.constantFrom(...tenants),
        n: fc.nat(15),
      }),
    );
    const caps = fc.tuple(fc.nat(16), fc.nat(10), fc.nat(8));
    const paths = pathsOf(tenants, users);
    await fc.assert(
      fc.asyncProperty(
        caps,
        fc.array(op, { maxLength: 40, size: 'max' }),
        async ([c0, c1, c2], ops) => {
          const template = { capacity: c0, children: { capacity: c1, children: { capacity: c2 } } };
          const remote = tree(template);
          const model: Model = modelOf(template);
          const held: [RedisPermit | null, ReturnType<Model['tryAcquireSync']>][] = [];
          for (const o of ops) {
            if (o.k === 'acquire') {
              const r = await remote.at(...o.path).tryAcquireDetailed(o.n);
              const m = model.at(...o.path).tryAcquireDetailedSync(o.n);
              // The denial itself too: which node, and whether waiting could ever help.
              expect(r.ok ? 'ok' : [r.deniedBy, r.exceedsCapacity === true]).toEqual(
                m.ok ? 'ok' : [m.deniedBy, m.exceedsCapacity === true],
              );
              held.push([r.ok ? r.permit : null, m.ok ? m.permit : null]);
            } else if (o.k === 'reserve') {
              const r = await remote.at(...o.path).tryReserve(o.n);
              expect(r).toBe(model.at(...o.path).tryReserveSync(o.n));
            } else if (o.k === 'release') {
              await remote.at(...o.path).release(o.n);
              model.at(...o.path).releaseSync(o.n);
            } else if (o.k === 'settle') {
              const [r, m] = held[o.i] ?? [null, null];
              if (r === null || m === null) continue;
              const used = Math.min(o.n, r.cost);
              const a = o.commit ? await r.commit(used) : await r.release();
              expect(a).toBe(o.commit ? m.commitSync(used) : m.releaseSync());
            } else if (o.k === 'refill') {
              expect(await remote.refill()).toBe(true);
              model.refill();
            } else {
              const a = await codeOf(remote.child(o.t).declare(o.n));
              let b = 'resolved';
              try {
                model.child(o.t, { capacity: o.n });
              } catch (error) {
                b = (error as { code: string }).code;
              }
              expect(a).toBe(b);
            }
            const states = await Promise.all(paths.map((p) => remote.at(...p).snapshot()));
            expect(states.map(nodeState)).toEqual(paths.map((p) => nodeState(model.at(...p))));
            expect(states[0]!.overReleased).toBe(model.overReleased());
          }
          await remote.destroy();
        },
      ),
      { numRuns: 80 },
    );
  }, 120_000);

  it('charges a three-level path in one script call, and gives it back in one', async () => {
    const calls: string[] = [];
    const counting = {
      evalsha: (sha: string, n: number, ...args: string[]) => {
        calls.push(args[n]!);
        return redis!.evalsha(sha, n, ...args);
      },
      eval: (script: string, n: number, ...args: string[]) => redis!.eval(script, n, ...args),
    };
    const t = tree(THREE, { redis: counting });
    await t.available(); // loads the script
    calls.length = 0;
    const permit = (await t.at('acme', 'alice').tryAcquire(3))!;
    await permit.commit(1);
    expect(calls).toEqual(['acq', 'set']);
    const [root, acme, alice] = await Promise.all(
      [t, t.child('acme'), t.at('acme', 'alice')].map((n) => n.held()),
    );
    expect([root, acme, alice]).toEqual([1, 1, 1]);
  });

  it('says which node denied: the first without room, from the node up', async () => {
    const t = tree(THREE);
    expect(await t.at('a', 'x').tryReserve(4)).toBe(true);
    expect(await t.at('a', 'y').tryAcquireDetailed(3)).toEqual({ ok: false, deniedBy: ['a'] });
    expect(await t.at('b', 'x').tryReserve(4)).toBe(true);
    expect(await t.at('c', 'x').tryAcquireDetailed(3)).toEqual({ ok: false, deniedBy: [] });
    expect(await t.at('a', 'x').tryAcquireDetailed(1)).toEqual({
      ok: false,
      deniedBy: ['a', 'x'],
    });
    expect(await t.at('c', 'x').tryAcquireDetailed(2)).toMatchObject({ ok: true });
    // Above the smallest capacity on the path (the user's 4), waiting cannot help.
    expect(await t.at('c', 'y').tryAcquireDetailed(5)).toEqual({
      ok: false,
      deniedBy: ['c', 'y'],
      exceedsCapacity: true,
    });
  });

  it('keeps declared capacities for every process, and refuses one below what is held', async () => {
    const keyPrefix = uniquePrefix('declare');
    const one = tree(THREE, { keyPrefix });
    const two = tree(THREE, { keyPrefix });
    await one.child('big').declare(9);
    expect(await two.child('big').snapshot()).toMatchObject({ capacity: 9, declared: true });
    expect(await two.child('big').tryReserve(8)).toBe(true);
    expect(await codeOf(one.child('big').declare(7))).toBe('INVALID_ARGUMENT');
    expect(await one.child('big').snapshot()).toMatchObject({ capacity: 9, held: 8 });
    expect(await codeOf(one.declare(20))).toBe('INVALID_ARGUMENT');
  });

  it('takes a tenant node as a member of compose’s all-of, by its declaration', async () => {
    const t = tree(THREE);
    // What a RedisBudget with `reset` declares (spelled out in redis-budget.test.ts).
    const guard = new RedisBudget(1, { redis: redis!, name: 'g', refillPolicy: 'reset' });
    expect(capabilitiesOf(t.at('acme', 'alice'))).toEqual(capabilitiesOf(guard));
    expect(capabilitiesOf(t)).toEqual(capabilitiesOf(guard));
    const local = new AtomicBudget(100);
    const both = allOf({ tenant: t.at('acme', 'alice'), local });
    const permit = (await both.tryAcquire(3))!;
    expect(await permit.commit(1)).toBe(true);
    expect([await t.held(), local.available()]).toEqual([1, 99]);
    const denied = await both.tryAcquireDetailed(4);
    expect(!denied.ok && denied.deniedBy).toBe('tenant');
    expect([await t.held(), local.available()]).toEqual([1, 99]);
  });
});

describe.skipIf(!redisReady)('RedisHierarchy, leases and retries', () => {
  it('gives an expired lease back to its whole path exactly once', async () => {
    const events: BudgetEvent[] = [];
    const t = tree(THREE, { observer: (e) => events.push(e) });
    const lost = (await t.at('acme', 'alice').tryAcquire(4, { leaseMs: 150 }))!;
    await t.at('acme', 'bob').tryAcquire(2);
    expect(await t.held()).toBe(6);
    await sleep(200);
    expect(await t.reclaimExpired()).toEqual({ leases: 1, units: 4, refunded: 4, remaining: 1 });
    expect(await t.reclaimExpired()).toEqual({ leases: 0, units: 0, refunded: 0, remaining: 1 });
    const held = await Promise.all(
      [t, t.child('acme'), t.at('acme', 'alice'), t.at('acme', 'bob')].map((n) => n.held()),
    );
    expect(held).toEqual([2, 2, 0, 2]);
    expect(await lost.release()).toBe(false);
    expect(lost.expired).toBe(true);
    expect(await t.held()).toBe(2);
    expect(events.filter((e) => e.type === 'leak')).toEqual([
      { type: 'leak', budget: 'tree', amount: 4, refunded: 4 },
    ]);
  });

  it('sweeps expired leases inside any call on the tree, once', async () => {
    const t = tree(THREE);
    const p = (await t.at('a', 'x').tryAcquire(4, { leaseMs: 100 }))!;
    await sleep(150);
    expect(await t.at('b', 'y').tryReserve(4)).toBe(true); // the sweep runs first
    expect(await t.at('c', 'z').tryReserve(1)).toBe(true);
    const snap = await t.snapshot();
    expect(snap).toMatchObject({ held: 5, expiredLeases: 1, expiredUnits: 4, leases: 0 });
    expect(await t.child('a').held()).toBe(0);
    expect(await codeOf(p.commit(2))).toBe('LEASE_EXPIRED');
    expect(await t.held()).toBe(5);
  });

  it('fences an expired lease of an older epoch: it gives nothing back', async () => {
    const t = tree(THREE);
    await t.at('a', 'x').tryAcquire(4, { leaseMs: 100 });
    await t.refill();
    expect(await t.at('a', 'x').tryReserve(4)).toBe(true);
    await sleep(150);
    expect(await t.reclaimExpired()).toMatchObject({ leases: 1, units: 4, refunded: 0 });
    expect(await t.at('a', 'x').held()).toBe(4);
  });

  it('applies a settle once when its reply was lost and it was retried', async () => {
    const lossy = new LossyClient(redis!);
    const t = tree(THREE, { redis: lossy });
    const p = (await t.at('a', 'x').tryAcquire(4))!;
    lossy.loseReply.set('set', 1);
    expect(await codeOf(p.commit(1))).toBe('BACKEND');
    expect(await p.commit(1)).toBe(false);
    expect(p.state).toBe('committed');
    expect(await t.held()).toBe(1);
    expect(await t.at('a', 'x').held()).toBe(1);
  });

  it('undoes a reservation whose reply was lost, on the whole path', async () => {
    const lossy = new LossyClient(redis!);
    const t = tree(THREE, { redis: lossy });
    lossy.loseReply.set('acq', 1);
    const error = await t
      .at('a', 'x')
      .tryAcquire(3)
      .catch((e: unknown) => e);
    expect((error as { details: { undone: boolean } }).details.undone).toBe(true);
    expect(await t.snapshot()).toMatchObject({ held: 0, leases: 0 });
    lossy.duplicate.set('res', 1);
    expect(await t.at('a', 'x').tryReserve(2)).toBe(true); // delivered twice, applied once
    expect(await t.child('a').held()).toBe(2);
  });
});

describe.skipIf(!redisReady)('RedisHierarchy, failure policy', () => {
  it('fails open on request: grants locally, unbacked, and settles locally', async () => {
    const lossy = new LossyClient(redis!);
    const failures: unknown[] = [];
    const t = tree(THREE, {
      redis: lossy,
      failure: 'open',
      timeoutMs: 30,
      onFailOpen: (e) => failures.push(e),
    });
    lossy.hangBefore.set('acq', 1);
    lossy.hangBefore.set('res', 1);
    const permit = (await t.at('a', 'x').tryAcquire(3))!;
    expect(permit.backed).toBe(false);
    expect(await t.at('a', 'x').tryReserve(4)).toBe(true);
    expect(failures).toHaveLength(2);
    expect(await t.snapshot()).toMatchObject({ held: 0, leases: 0 });
    await t.at('a', 'x').release(4); // the local units, returned locally
    expect(await permit.commit(1)).toBe(true);
    expect(await t.snapshot()).toMatchObject({ held: 0, overReleased: 0 });
    expect(await t.at('a', 'x').tryReserve(4)).toBe(true); // backed again
    expect(await t.held()).toBe(4);
  });

  it('fails closed by default, with TIMEOUT, holding nothing', async () => {
    const lossy = new LossyClient(redis!);
    const t = tree(THREE, { redis: lossy, timeoutMs: 30 });
    lossy.hangAfter.set('acq', 1);
    expect(await codeOf(t.at('a', 'x').tryAcquire(3))).toBe('TIMEOUT');
    await sleep(20);
    expect(await t.snapshot()).toMatchObject({ held: 0, leases: 0 });
  });
});

describe.skipIf(!redisReady)('RedisHierarchy, epochs and keys', () => {
  it('begins epochs for the whole tree on the server clock, and forgets stale nodes', async () => {
    const keyPrefix = uniquePrefix('epochs');
    const t = tree(THREE, { refillEveryMs: 150, keyPrefix });
    expect(await t.at('a', 'x').tryReserve(4)).toBe(true);
    const permit = (await t.at('b', 'y').tryAcquire(3))!;
    await permit.commit(); // spent until the next epoch
    const first = await t.snapshot();
    expect(first).toMatchObject({ held: 7, epoch: 0 });
    await sleep(first.nextRefillAt! - first.serverTime + 20);
    expect(await t.snapshot()).toMatchObject({ held: 0, available: 10, epoch: 1 });
    expect(await t.at('a', 'x').available()).toBe(4);
    const { nodes } = hierarchyKeys(keyPrefix, 'tree');
    expect(await redis!.hlen(nodes)).toBeGreaterThan(0); // records of epoch 0
    await t.reclaimExpired();
    expect(await redis!.hlen(nodes)).toBe(0);
  });

  it('keeps hostile tenant ids to their own nodes, and a whole tree in one slot', async () => {
    const keyPrefix = uniquePrefix('hostile');
    const t = tree(
      { capacity: 1_000, children: { capacity: 50, children: { capacity: 20 } } },
      {
        keyPrefix,
      },
    );
    for (const [i, id] of hostile.entries()) {
      expect(await t.child(id).tryReserve(i + 1)).toBe(true);
      expect(await t.at(id, id).tryAcquire(1)).not.toBeNull();
    }
    for (const [i, id] of hostile.entries()) {
      expect(await t.child(id).snapshot()).toMatchObject({ held: i + 2, ownHeld: i + 1 });
      expect(await t.at(id, id).held()).toBe(1);
    }
    const n = hostile.length;
    expect(await t.held()).toBe((n * (n + 1)) / 2 + n);
    const keys = Object.values(hierarchyKeys(keyPrefix, 'tree'));
    expect(await keysUnder(redis!, keyPrefix)).toEqual([...keys].sort());
    expect(new Set(keys.map(slotOf)).size).toBe(1);
    for (const name of hostile) {
      const named = tree(THREE, { keyPrefix, name });
      await named.at(name, name).tryReserve(1);
      const own = Object.values(hierarchyKeys(keyPrefix, name));
      expect(new Set(own.map(slotOf)).size, name).toBe(1);
      expect(await redis!.exists(...own)).toBe(4); // all but deadlines: no lease is live
    }
    await t.destroy();
    expect(await keysUnder(redis!, `${keyPrefix}:{tree}`)).toEqual([]);
  });

  it('refuses a tree of another shape, and a budget, under the same name', async () => {
    const keyPrefix = uniquePrefix('shape');
    const t = tree(THREE, { keyPrefix });
    await t.at('a', 'x').tryReserve(2);
    const other = tree({ capacity: 10, children: { capacity: 5 } }, { keyPrefix });
    expect(await codeOf(other.tryReserve(1))).toBe('INVALID_ARGUMENT');
    const budget = new RedisBudget(10, { redis: redis!, name: 'tree', keyPrefix });
    expect(await codeOf(budget.tryReserve(1))).toBe('INVALID_ARGUMENT');
    expect(await t.held()).toBe(2);
  });

  it('rejects bad templates, options, keys and amounts with typed errors, changing nothing', async () => {
    const cyclic: { capacity: number; children?: unknown } = { capacity: 5 };
    cyclic.children = cyclic;
    const deep = Array.from({ length: 17 }).reduce<object>((c) => ({ capacity: 1, children: c }), {
      capacity: 1,
    });
    for (const [template, options] of [
      [null, {}],
      [{ capacity: -1 }, {}],
      [{ capacity: 5, children: { capacity: 1.5 } }, {}],
      [cyclic, {}],
      [deep, {}],
      [THREE, { refillPolicy: 'carry' }],
      [THREE, { keyPrefix: 'a{' }],
      [THREE, { leaseMs: 0 }],
    ] as const) {
      expect(
        await codeOf(Promise.resolve().then(() => tree(template as never, options as never))),
      ).toMatch(/^INVALID_(AMOUNT|ARGUMENT)$/);
    }
    const t = tree(THREE);
    const leaf: RedisHierarchyNode = t.at('a', 'x');
    await leaf.tryReserve(1);
    const calls = Promise.resolve();
    expect(await codeOf(calls.then(() => leaf.child('deeper')))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(calls.then(() => t.child(3 as never)))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(calls.then(() => t.child('\uD800')))).toBe('INVALID_ARGUMENT');
    for (const bad of [-1, 0.5, Number.NaN, 2 ** 53, '1']) {
      expect(await codeOf(leaf.tryReserve(bad as number))).toBe('INVALID_AMOUNT');
      expect(await codeOf(leaf.tryAcquire(bad as number))).toBe('INVALID_AMOUNT');
      expect(await codeOf(leaf.release(bad as number))).toBe('INVALID_AMOUNT');
      expect(await codeOf(leaf.declare(bad as number))).toBe('INVALID_AMOUNT');
    }
    expect(await codeOf(leaf.tryAcquire(1, { leaseMs: -1 }))).toBe('INVALID_ARGUMENT');
    expect(await t.snapshot()).toMatchObject({ held: 1, leases: 0 });
  });
});
