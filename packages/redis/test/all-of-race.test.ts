// Several connections — processes of a fleet, in effect — hammer one all-of and its members
// directly at once. Every script call is logged with its reply; each reply carries every
// member's place in that member's one order of changes, so each member's history can be
// replayed in order against an in-process twin (core's AtomicBudget / AtomicTokenBudget):
// every grant must fit the twin (no member is ever over capacity), every denial by a member
// must be a denial of the twin, and the final state must be the twin's.
import {
  AtomicBudget,
  AtomicTokenBudget,
  type SyncBudgetPermit,
  type TokenReservation,
} from '@budgetry/core';
import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { RedisScriptClient } from '../src/index.js';
import { RedisAllOf } from '../src/redis-all-of.js';
import { unbatch } from './helpers/batches.js';
import { fileRedis, guards, tokenBudgets } from './helpers/budgets.js';
import { client, redisReady, sharedPort, uniquePrefix } from './helpers/redis.js';

const redis = await fileRedis();
const guard = guards(redis, 'g');
const tokens = tokenBudgets(redis, 't');
const connections: Redis[] = redisReady
  ? await Promise.all(Array.from({ length: 4 }, async () => client(await sharedPort())))
  : [];
afterAll(() => {
  for (const c of connections) c.disconnect();
});

interface Call {
  readonly keys: readonly string[];
  readonly argv: readonly string[];
  readonly reply: readonly number[];
}

function recorder(redis: Redis, calls: Call[]): RedisScriptClient {
  const log = (n: number, args: string[], reply: unknown) => {
    for (const call of unbatch(args.slice(n), reply))
      calls.push({ keys: args.slice(0, n), ...call });
    return reply;
  };
  return {
    evalsha: async (sha, n, ...args) => log(n, args, await redis.evalsha(sha, n, ...args)),
    eval: async (script, n, ...args) => log(n, args, await redis.eval(script, n, ...args)),
  };
}

function random(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n) => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state >>> 8) % n;
  };
}

/** One member's part in one call: its place in its order, and what the call did to it. */
interface Step {
  readonly seq: number;
  readonly changed: boolean;
  readonly apply: () => void;
}

describe.skipIf(!redisReady)('an all-of shared by several connections', () => {
  it('never puts a member over capacity; each member replays to its final state', async () => {
    const calls: Call[] = [];
    const gPrefix = uniquePrefix('g');
    const tPrefix = uniquePrefix('t');
    const open = (c: Redis) => {
      const r = recorder(c, calls);
      const g = guard(12, { redis: r, keyPrefix: gPrefix, leaseMs: 60_000 });
      const t = tokens(20, { redis: r, keyPrefix: tPrefix, leaseMs: 60_000 });
      return { g, t, both: new RedisAllOf({ g, t }) };
    };
    const handles = connections.map(open);
    await handles[0]!.both.snapshot(); // both budgets exist before the race
    calls.length = 0;
    await Promise.all(
      handles.map((h, i) => {
        const rand = random(11 + i);
        return Promise.all(
          Array.from({ length: 50 }, async () => {
            const cost = 1 + rand(5);
            const kind = rand(7);
            // Spread out: the all-of's calls go at once, its members' at the end of the turn
            // (batched); started together, every all-of call would come before any refill.
            await new Promise((r) => setTimeout(r, rand(4)));
            if (kind <= 1) {
              const p = await h.both.tryAcquire(cost);
              if (p === null) return;
              await new Promise((r) => setTimeout(r, rand(3)));
              if (rand(3) > 0) await p.release();
              else if (kind === 0) await p.commit(rand(cost + 1));
              else await p.commitEach({ g: rand(cost + 1), t: rand(2 * cost) });
            } else if (kind === 2) {
              if (await h.both.tryReserve(cost)) await h.both.release(cost - rand(2));
            } else if (kind === 3) {
              const p = await h.g.tryAcquire(cost);
              if (p !== null) await p.commit(rand(cost + 1));
            } else if (kind >= 5) {
              await (kind === 5 ? h.g : h.t).refill();
            } else {
              const r = await h.t.tryReserveTokens(cost);
              if (r !== null) await h.t.recordUsage(r, rand(2 * cost), 0);
            }
          }),
        );
      }),
    );
    const final = await handles[0]!.both.snapshot();

    // Each member's history, from the log.
    const twinG = new AtomicBudget(12, { leakBackstop: false });
    const twinT = new AtomicTokenBudget(20, { leakBackstop: false });
    const gPermits = new Map<string, SyncBudgetPermit>();
    const tLeases = new Map<string, TokenReservation>();
    const steps: Step[][] = [[], []];
    let grants = 0;
    for (const { keys, argv, reply } of calls) {
      const op = argv[0]!;
      const single = keys.length === 4;
      const members = single ? [keys[0]!.startsWith(gPrefix) ? 0 : 1] : [0, 1];
      const own = argv.slice(single ? 7 : 2 + 6 * 2);
      const v = reply.slice(5 * members.length);
      members.forEach((m, at) => {
        const seq = reply[at * 5 + 4]!;
        const [id = '', cost = 0] = [own[0], Number(own[1])];
        let apply: () => void = () => {};
        let changed = true;
        if (op === 'acq' || op === 'res') {
          const granted = v[0] === 1;
          changed = granted;
          if (granted && !single) grants++;
          apply = () => {
            if (!granted) {
              // A denial by this member must be a denial of its twin (all-of: the one named).
              if (single || v[1] === m + 1) {
                expect(m === 0 ? twinG.available() : twinT.available()).toBeLessThan(cost);
              }
              return;
            }
            if (op === 'res') {
              expect(m === 0 ? twinG.tryReserveSync(cost) : twinT.tryReserveSync(cost)).toBe(true);
            } else if (m === 0) {
              const p = twinG.tryAcquireSync(cost);
              expect(p).not.toBeNull();
              gPermits.set(id, p!);
            } else {
              const r = twinT.tryReserveTokensSync(cost);
              expect(r).not.toBeNull();
              tLeases.set(id, r!);
            }
          };
        } else if (op === 'set') {
          const how = own[1]!;
          const amount = Number(single ? own[2] : own[3 + m]);
          apply = () => {
            if (m === 0) {
              const p = gPermits.get(id)!;
              if (how === 'r') p.releaseSync();
              else p.commitSync(amount);
            } else {
              const r = tLeases.get(id)!;
              if (how === 'r') r[Symbol.dispose]();
              else twinT.recordUsageSync(r, amount, 0);
            }
          };
        } else if (op === 'ref') {
          changed = v[0] === 1;
          apply = () => (m === 0 ? twinG.refill() : twinT.refill());
        } else if (op === 'rel') {
          apply = () => (m === 0 ? twinG.releaseSync(cost) : twinT.releaseSync(cost));
        } else {
          changed = false;
        }
        steps[m]!.push({ seq, changed, apply });
      });
    }
    for (const list of steps) {
      // A call that changed nothing sits after the change whose number it saw.
      list.sort((a, b) => a.seq + (a.changed ? 0 : 0.5) - (b.seq + (b.changed ? 0 : 0.5)));
      const changes = list.filter((s) => s.changed).map((s) => s.seq);
      expect(new Set(changes).size).toBe(changes.length);
      for (const s of list) {
        s.apply();
        expect(twinG.held()).toBeLessThanOrEqual(12);
        expect(twinT.reserved()).toBeLessThanOrEqual(20);
      }
    }
    expect(grants).toBeGreaterThan(20);
    expect([final.g.available, final.g.held]).toEqual([twinG.available(), twinG.held()]);
    expect([final.t.available, final.t.held, final.t.debt]).toEqual([
      twinT.available(),
      twinT.reserved(),
      twinT.debt(),
    ]);
  }, 60_000);
});
