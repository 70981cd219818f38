// Settled records are forgotten together: the records one script call keeps for good (count
// reservations and releases, settled leases, charges of their own) share one graveyard member,
// scored 2^52 plus their forget time. These tests pin what that must not change: a copy of
// any of them is still recognised while the window lasts, every record of a member is
// forgotten on time however many it lists, a record buried again later keeps a member of its
// own, and a version that forgets single records only never reaches a bundle.
import { describe, expect, it } from 'vitest';
import { budgetKeys, hierarchyKeys, RedisAllOf } from '../src/index.js';
import { BUDGET_SCRIPT } from '../src/script.js';
import { fileRedis, guards, trees } from './helpers/budgets.js';
import { redisReady, uniquePrefix } from './helpers/redis.js';

const redis = await fileRedis();
const guard = guards(redis, 'bundles');
const tree = trees(redis, 'bundle-tree');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const BUNDLED = 2 ** 52;

/** Raw calls of the budget script on a fresh budget of `capacity` ('token' kind: it records). */
function rawBudget(capacity: number, windowMs: number) {
  const k = budgetKeys(uniquePrefix('raw'), 'b');
  const keys = [k.state, k.leases, k.deadlines, k.graveyard];
  const config = ['token', String(capacity), 'reset', '0', '-1', String(windowMs)];
  const one = async (op: string, ...args: string[]) =>
    (await redis!.eval(BUDGET_SCRIPT.text, 4, ...keys, op, ...config, ...args)) as number[];
  const batch = async (...ops: string[][]) =>
    (await redis!.eval(
      BUDGET_SCRIPT.text,
      4,
      ...keys,
      'bat',
      ...config,
      String(ops.length),
      ...ops.flatMap(([op, ...a]) => [op!, String(a.length), ...a]),
    )) as number[];
  /** available − debt, from the header of a `get` (which changes nothing due here). */
  const net = async () => (await one('get'))[3];
  const graveyard = async () => (await redis!.zrange(k.graveyard, 0, -1, 'WITHSCORES')) as string[];
  return { k, one, batch, net, graveyard };
}

async function serverMs(): Promise<number> {
  const [s, us] = await redis!.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

describe.skipIf(!redisReady)('graveyard bundles', () => {
  it("lists one call's final records in one member, and a copy of each still changes nothing", async () => {
    const b = rawBudget(100, 600_000);
    const first = [
      ['res', 'r1', '5'],
      ['res', 'r2', '7'],
      ['rel', 'q1', '5', '0'],
      ['acq', 'l1', '3', '60000'],
    ];
    await b.batch(...first);
    await b.one('set', 'l1', 'u', '2', '3');
    // r1, r2 and q1 in the first member; l1's lease was held then, and is final after the set.
    const members = await b.graveyard();
    expect(members.filter((_, i) => i % 2 === 0).sort()).toEqual(['l1', 'r1 r2 q1']);
    expect(members.filter((_, i) => i % 2 === 1).every((x) => Number(x) > BUNDLED)).toBe(true);
    expect(await redis!.hlen(b.k.leases)).toBe(4);
    const at = await b.net();
    expect(at).toBe(100 - 5 - 7 + 5 - 2);
    // The same calls again, batched and alone: each recognised, nothing charged or kept again.
    await b.batch(...first);
    await b.one('set', 'l1', 'u', '2', '3');
    for (const call of first) await b.one(call[0]!, ...call.slice(1));
    expect(await b.net()).toBe(at);
    expect(await redis!.zcard(b.k.graveyard)).toBe(2);
    expect(await redis!.hlen(b.k.leases)).toBe(4);
  });

  it('is out of reach of a version that forgets single records only', async () => {
    const b = rawBudget(100, 5_000);
    const before = await serverMs();
    await b.batch(['res', 'a', '1'], ['rel', 'b', '1', '0']);
    const after = await serverMs();
    // What such a version asks for: members due by now, in ms of server time.
    const farFuture = after + 1_000 * 365 * 86_400_000;
    expect(await redis!.zrangebyscore(b.k.graveyard, '-inf', farFuture)).toEqual([]);
    const [member, score] = await b.graveyard();
    expect(member).toBe('a b');
    expect(Number(score) - BUNDLED).toBeGreaterThanOrEqual(before + 5_000);
    expect(Number(score) - BUNDLED).toBeLessThanOrEqual(after + 5_000);
  });

  it('forgets every record of a member of 1 000, between the window and 1.25 windows', async () => {
    const keyPrefix = uniquePrefix('many');
    const windowMs = 300;
    const b = guard(5_000, { keyPrefix, idempotencyWindowMs: windowMs, maxBatch: 1_000 });
    const k = budgetKeys(keyPrefix, 'bundles');
    // 1 000 count reservations made in one turn: one script call, so one member of 1 000 ids.
    const granted = await Promise.all(Array.from({ length: 1_000 }, () => b.tryReserve(1)));
    const settled = Date.now();
    expect(granted.every((g) => g)).toBe(true);
    expect(await redis!.zcard(k.graveyard)).toBe(1);
    expect(await redis!.hlen(k.leases)).toBe(1_000);
    let forgottenAt: number | undefined;
    while (Date.now() - settled < windowMs * 1.25 + 400) {
      await b.available(); // a call: it looks at the graveyard when due
      if ((await redis!.hlen(k.leases)) === 0) {
        forgottenAt = Date.now() - settled;
        break;
      }
      await sleep(20);
    }
    expect(forgottenAt).toBeDefined();
    expect(forgottenAt!).toBeGreaterThanOrEqual(windowMs - 30);
    expect(forgottenAt!).toBeLessThanOrEqual(windowMs * 1.25 + 150);
    expect(await redis!.zcard(k.graveyard)).toBe(0);
    expect(await b.available()).toBe(4_000);
  });

  it('forgets about 1 024 records a call, a whole member at a time, and the rest on the next', async () => {
    const keyPrefix = uniquePrefix('spread');
    const windowMs = 200;
    const b = guard(5_000, { keyPrefix, idempotencyWindowMs: windowMs, maxBatch: 1_000 });
    const k = budgetKeys(keyPrefix, 'bundles');
    for (let turn = 0; turn < 3; turn++) {
      await Promise.all(Array.from({ length: 1_000 }, () => b.tryReserve(1)));
    }
    expect(await redis!.zcard(k.graveyard)).toBe(3);
    await sleep(windowMs * 1.25 + 100);
    const left: number[] = [];
    for (let call = 0; call < 3; call++) {
      await b.available();
      left.push(await redis!.hlen(k.leases));
    }
    // 1 000 then 2 000 gone (past 1 024) in the first look; the last member in the second.
    expect(left).toEqual([1_000, 0, 0]);
    expect(await redis!.zcard(k.graveyard)).toBe(0);
  });

  it("keeps an expired lease's record a member of its own, moved on by the late record", async () => {
    const windowMs = 60_000;
    const b = rawBudget(100, windowMs);
    const ids = ['late1', 'late2'];
    await b.batch(...ids.map((id) => ['acq', id, '3', '1']));
    await sleep(20);
    const swept = await serverMs();
    await b.one('get'); // sweeps both leases: each record 'x', a member of its own
    for (const id of ids) {
      expect(Number(await redis!.zscore(b.k.graveyard, id))).toBeGreaterThanOrEqual(
        swept + windowMs,
      );
    }
    await sleep(20);
    const recorded = await serverMs();
    // Both late records in one call: in a member of that call's, the ids' own members would
    // keep the expiry's forget time, and a copy sent after it would be charged again.
    const usage = await b.batch(...ids.map((id) => ['set', id, 'u', '5', '3']));
    expect([usage[6], usage[16]]).toEqual([1, 1]); // each charged in full
    for (const id of ids) {
      const score = Number(await redis!.zscore(b.k.graveyard, id));
      expect(score).toBeGreaterThanOrEqual(recorded + windowMs);
      expect(score).toBeLessThan(BUNDLED);
    }
    expect(await redis!.zcard(b.k.graveyard)).toBe(2);
    const at = await b.net();
    expect((await b.one('set', 'late1', 'u', '5', '3'))[5]).toBe(2); // applied before
    expect(await b.net()).toBe(at);
  });

  it('refuses an idempotency window whose forget times would reach the members of a call', () => {
    // Server time plus the window must stay below 2^52: past it, a single record's member
    // would be read as a call's, and forgotten a window too early.
    for (const make of [
      (idempotencyWindowMs: number) => guard(10, { idempotencyWindowMs }),
      (idempotencyWindowMs: number) => tree({ capacity: 10 }, { idempotencyWindowMs }),
    ]) {
      for (const bad of [2 ** 40 + 1, 2 ** 52, Number.MAX_SAFE_INTEGER]) {
        expect(() => make(bad)).toThrow(
          expect.objectContaining({
            code: 'INVALID_ARGUMENT',
            details: expect.objectContaining({ name: 'idempotencyWindowMs', value: bad }),
          }),
        );
      }
      expect(make(2 ** 40)).toBeDefined();
    }
  });

  it('gives each member of an all-of, and a tree, one member per call', async () => {
    const prefixes = [uniquePrefix('g'), uniquePrefix('h')];
    const [g, h] = prefixes.map((keyPrefix) => guard(100, { keyPrefix }));
    const both = new RedisAllOf({ g: g!, h: h! });
    await Promise.all(Array.from({ length: 10 }, () => both.tryReserve(1)));
    await both.release(10);
    for (const keyPrefix of prefixes) {
      const k = budgetKeys(keyPrefix, 'bundles');
      expect(await redis!.zcard(k.graveyard)).toBe(2);
      expect(await redis!.hlen(k.leases)).toBe(11);
    }
    expect(await Promise.all([g!.available(), h!.available()])).toEqual([100, 100]);

    const keyPrefix = uniquePrefix('tree');
    const t = tree({ capacity: 100, children: { capacity: 50 } }, { keyPrefix });
    const acme = t.child('acme');
    const permits = await Promise.all(Array.from({ length: 5 }, () => acme.tryAcquire(2)));
    await Promise.all(permits.map((p) => p!.commit(1)));
    const k = hierarchyKeys(keyPrefix, 'bundle-tree');
    expect(await redis!.zcard(k.graveyard)).toBe(1);
    expect(await redis!.hlen(k.leases)).toBe(5);
    expect(await acme.available()).toBe(45);
  });
});
