// Many callers on several connections share one Redis hierarchy, as processes of a fleet do.
// Over-admission is checked twice: directly (what was granted under each node never exceeds
// its capacity, and Redis holds exactly that), and by replaying every call in the tree's one
// order of changes (each reply carries its place in it) against compose's in-process
// hierarchy, which must make the same decision at every step.
import type { HierarchyNode } from '@budgetry/compose';
import type { SyncBudgetPermit } from '@budgetry/core';
import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { RedisHierarchy, RedisPermit, RedisScriptClient } from '../src/index.js';
import { unbatch } from './helpers/batches.js';
import { fileRedis, trees } from './helpers/budgets.js';
import { client, redisReady, sharedPort, uniquePrefix } from './helpers/redis.js';
import { modelOf, nodeState, pathOfRef, pathsOf } from './helpers/tree-model.js';

const redis = await fileRedis();
const tree = trees(redis, 'race');
const connections: Redis[] = redisReady
  ? await Promise.all(Array.from({ length: 4 }, async () => client(await sharedPort())))
  : [];
afterAll(() => {
  for (const c of connections) c.disconnect();
});

const TEMPLATE = { capacity: 40, children: { capacity: 18, children: { capacity: 7 } } };
const TENANTS = ['t0', 't{1}: x', 't2\n'];
const USERS = ['u0', 'u 1', '}u2{'];

/** A seeded generator, so a failure can be run again as it was. */
function random(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n) => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state >>> 8) % n;
  };
}

interface Call {
  readonly op: string;
  readonly args: readonly string[];
  readonly reply: readonly number[];
}

/** A client that logs every script call of the hierarchy with its reply. */
function recorder(redis: Redis, calls: Call[]): RedisScriptClient {
  const log = (n: number, args: string[], reply: unknown) => {
    // KEYS, then the op, the three config arguments, and the operation's own (a batch's
    // calls one by one).
    for (const call of unbatch(args.slice(n), reply)) {
      calls.push({ op: call.argv[0]!, args: call.argv.slice(4), reply: call.reply });
    }
    return reply;
  };
  return {
    evalsha: async (sha, n, ...args) => log(n, args, await redis.evalsha(sha, n, ...args)),
    eval: async (script, n, ...args) => log(n, args, await redis.eval(script, n, ...args)),
  };
}

/** Each connection opens the tree as a process of its own would. */
function openEach(keyPrefix: string, calls?: Call[]): RedisHierarchy[] {
  return connections.map((c) =>
    tree(TEMPLATE, { keyPrefix, redis: calls === undefined ? c : recorder(c, calls) }),
  );
}

function pickPath(rand: (n: number) => number): string[] {
  const tenant = TENANTS[rand(TENANTS.length)]!;
  return rand(4) === 0 ? [tenant] : [tenant, USERS[rand(USERS.length)]!];
}

describe.skipIf(!redisReady)('a hierarchy shared by several connections', () => {
  it('never admits past capacity at any level', async () => {
    const handles = openEach(uniquePrefix('burst'));
    const granted: { path: string[]; cost: number }[] = [];
    const deniedAt: number[] = [0, 0, 0];
    await Promise.all(
      handles.map((t, i) => {
        const rand = random(7 + i);
        return Promise.all(
          Array.from({ length: 60 }, async () => {
            const path = pickPath(rand);
            const cost = 1 + rand(4);
            const node = t.at(...path);
            if (rand(2) === 0) {
              if (await node.tryReserve(cost)) granted.push({ path, cost });
              return;
            }
            const decision = await node.tryAcquireDetailed(cost);
            if (decision.ok) granted.push({ path, cost });
            else deniedAt[decision.deniedBy.length]!++;
          }),
        );
      }),
    );
    expect(deniedAt[0]).toBeGreaterThan(0); // the root was a limit
    const paths = pathsOf(TENANTS, USERS);
    const under = (p: string[]) =>
      granted.filter((g) => p.every((k, i) => g.path[i] === k)).reduce((sum, g) => sum + g.cost, 0);
    const snapshots = await Promise.all(paths.map((p) => handles[0]!.at(...p).snapshot()));
    for (const [i, p] of paths.entries()) {
      expect(under(p), `granted under ${JSON.stringify(p)}`).toBeLessThanOrEqual(
        snapshots[i]!.capacity,
      );
      expect(snapshots[i]!.held, `held at ${JSON.stringify(p)}`).toBe(under(p));
    }
  });

  it('decides as the in-process hierarchy, replayed in the tree’s order of changes', async () => {
    const calls: Call[] = [];
    const handles = openEach(uniquePrefix('replay'), calls);
    const loop = async (t: RedisHierarchy, seed: number) => {
      const rand = random(seed);
      const permits: RedisPermit[] = [];
      const counted: { path: string[]; cost: number }[] = [];
      for (let i = 0; i < 60; i++) {
        const roll = rand(10);
        if (roll < 4) {
          const p = await t.at(...pickPath(rand)).tryAcquire(1 + rand(5));
          if (p) permits.push(p);
        } else if (roll < 6 && permits.length > 0) {
          const p = permits.splice(rand(permits.length), 1)[0]!;
          await (rand(2) === 0 ? p.release() : p.commit(rand(p.cost + 1)));
        } else if (roll < 8) {
          const path = pickPath(rand);
          const cost = 1 + rand(4);
          if (await t.at(...path).tryReserve(cost)) counted.push({ path, cost });
        } else if (counted.length > 0) {
          const { path, cost } = counted.splice(rand(counted.length), 1)[0]!;
          await t.at(...path).release(cost);
        }
      }
      for (const p of permits) await p.release();
    };
    await Promise.all(
      handles.flatMap((t, i) => [loop(t, 100 + i), loop(t, 200 + i), loop(t, 300 + i)]),
    );

    const changed = (c: Call) => (c.op === 'acq' || c.op === 'res' ? c.reply[5] === 1 : true);
    const steps = calls.filter((c) => c.op !== 'get');
    steps.sort((a, b) => a.reply[4]! - b.reply[4]! || Number(changed(b)) - Number(changed(a)));
    const seqs = steps.filter(changed).map((c) => c.reply[4]!);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs.at(-1)).toBe(seqs.length);

    const model = modelOf(TEMPLATE);
    const held = new Map<string, { node: HierarchyNode; permit: SyncBudgetPermit }>();
    let denials = 0;
    for (const c of steps) {
      const [id, a, b, ref] = c.args;
      let focus: HierarchyNode = model;
      if (c.op === 'acq' || c.op === 'res') {
        focus = model.at(...pathOfRef(c.op === 'acq' ? ref! : b!));
        const cost = Number(a);
        let ok: boolean;
        if (c.op === 'acq') {
          const decision = focus.tryAcquireDetailedSync(cost);
          ok = decision.ok;
          if (decision.ok) held.set(id!, { node: focus, permit: decision.permit });
          else expect(focus.depth - decision.deniedBy.length).toBe(c.reply[8]);
        } else {
          ok = focus.tryReserveSync(cost);
        }
        expect(ok, `${c.op} ${cost} #${c.reply[4]}`).toBe(c.reply[5] === 1);
        if (!ok) {
          denials++;
          continue;
        }
      } else if (c.op === 'rel') {
        focus = model.at(...pathOfRef(ref!));
        const before = model.overReleased();
        focus.releaseSync(Number(a));
        expect(Number(a) - (model.overReleased() - before)).toBe(c.reply[6]);
      } else if (c.op === 'set') {
        const h = held.get(id!)!;
        focus = h.node;
        const done = a === 'r' ? h.permit.releaseSync() : h.permit.commitSync(Number(b));
        expect(done && c.reply[5] === 1).toBe(true);
      }
      expect(c.reply[3], `available after ${c.op} #${c.reply[4]}`).toBe(focus.available());
    }
    expect(denials).toBeGreaterThan(0);
    const paths = pathsOf(TENANTS, USERS);
    const states = await Promise.all(paths.map((p) => handles[0]!.at(...p).snapshot()));
    expect(states.map(nodeState)).toEqual(paths.map((p) => nodeState(model.at(...p))));
  }, 30_000);
});
