// RedisAllOf against compose's allOf over core's AtomicBudget and AtomicTokenBudget on random
// histories, and what Redis adds: one script call per operation, leases that expire on every
// member once, epochs on the server's clock, typed refusals of bad input that change nothing.
import { type AllOfPermit, allOf, type SyncAllOfPermit, type TokenPermit } from '@budgetry/compose';
import { AtomicBudget, AtomicTokenBudget, BudgetError } from '@budgetry/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RedisAllOfPermit } from '../src/all-of-permit.js';
import type { RedisScriptClient } from '../src/index.js';
import { RedisAllOf } from '../src/redis-all-of.js';
import { codeOf, fileRedis, guards, tokenBudgets } from './helpers/budgets.js';
import { client, keysUnder, redisReady, sharedPort, uniquePrefix } from './helpers/redis.js';

const redis = await fileRedis();
const guard = guards(redis, 'rows');
const tokens = tokenBudgets(redis, 'tokens');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A client that counts the script calls it sends, by operation. */
function counting(calls: string[]): RedisScriptClient {
  return {
    evalsha: (sha, n, ...args) => {
      calls.push(args[n]!);
      return redis!.evalsha(sha, n, ...args);
    },
    eval: (script, n, ...args) => redis!.eval(script, n, ...args),
  };
}

describe.skipIf(!redisReady)('RedisAllOf, decisions', () => {
  it.each([
    ['every member charged the cost', undefined],
    ['the guard charged a fixed 0 to 3 units', 'fixed'],
  ] as const)(
    'decides as compose’s allOf over core budgets on random histories (%s)',
    async (_, mode) => {
      const op = fc.oneof(
        fc.record({ k: fc.constant('acquire' as const), n: fc.nat(12) }),
        fc.record({ k: fc.constant('reserve' as const), n: fc.nat(12) }),
        fc.record({ k: fc.constant('release' as const), n: fc.nat(14) }),
        fc.record({
          k: fc.constant('settle' as const),
          i: fc.nat(7),
          commit: fc.boolean(),
          n: fc.nat(12),
        }),
        fc.record({ k: fc.constant('each' as const), i: fc.nat(7), a: fc.nat(12), b: fc.nat(20) }),
        fc.record({ k: fc.constant('direct' as const), n: fc.nat(8) }),
        fc.record({ k: fc.constant('refill' as const), member: fc.constantFrom('g', 't') }),
      );
      const policy = fc.constantFrom('reset' as const, 'carry' as const);
      await fc.assert(
        fc.asyncProperty(
          fc.tuple(fc.nat(14), fc.nat(16), policy, policy, fc.nat(3)),
          fc.array(op, { maxLength: 30, size: 'max' }),
          async ([cg, ct, pg, pt, fixed], ops) => {
            const charge = mode === 'fixed' ? { charge: { g: fixed } } : {};
            const rg = guard(cg, { refillPolicy: pg });
            const rt = tokens(ct, { refillPolicy: pt, maxDebt: 9 });
            const lg = new AtomicBudget(cg, { refillPolicy: pg, leakBackstop: false });
            const lt = new AtomicTokenBudget(ct, {
              refillPolicy: pt,
              maxDebt: 9,
              leakBackstop: false,
            });
            const remote = new RedisAllOf({ g: rg, t: rt }, charge);
            const reserved: number[] = [];
            const model = allOf({ g: lg, t: lt }, charge);
            const held: [RedisAllOfPermit<'g' | 't'> | null, SyncAllOfPermit<'g' | 't'> | null][] =
              [];
            for (const o of ops) {
              if (o.k === 'acquire') {
                const r = await remote.tryAcquireDetailed(o.n);
                const m = model.tryAcquireDetailedSync(o.n);
                // The denial itself too: who, and whether waiting could ever help.
                expect([o.k, r.ok ? 'ok' : [r.deniedBy, r.exceedsCapacity === true]]).toEqual([
                  o.k,
                  m.ok ? 'ok' : [m.deniedBy, m.exceedsCapacity === true],
                ]);
                held.push([r.ok ? r.permit : null, m.ok ? m.permit : null]);
              } else if (o.k === 'reserve') {
                const granted = await remote.tryReserve(o.n);
                expect(granted).toBe(model.tryReserveSync(o.n));
                if (granted) reserved.push(o.n);
              } else if (o.k === 'release') {
                // With a fixed charge a release must match an earlier reserve (compose keeps a
                // tally and ignores others; a fleet has no tally to keep): release one of those.
                const n =
                  mode === 'fixed' ? reserved.splice(o.n % (reserved.length || 1), 1)[0] : o.n;
                if (n === undefined) continue;
                await remote.release(n);
                model.releaseSync(n);
              } else if (o.k === 'settle') {
                const [r, m] = held[o.i] ?? [null, null];
                if (r === null) continue;
                const used = Math.min(o.n, r.cost);
                if (m === null) {
                  // Settled member by member (commitEach): settling it again does nothing —
                  // but a partial commit over a fixed charge is refused first, as compose's.
                  const refused = o.commit && used !== r.cost && mode === 'fixed';
                  const again = await (o.commit ? r.commit(used) : r.release()).catch(
                    (e: unknown) => (e as BudgetError).code,
                  );
                  expect(again).toBe(refused ? 'INVALID_ARGUMENT' : false);
                  continue;
                }
                // A partial commit over a fixed charge is refused by both, changing nothing.
                const a = await (o.commit ? r.commit(used) : r.release()).catch(
                  (e: unknown) => (e as BudgetError).code,
                );
                let b: boolean | string;
                try {
                  b = o.commit ? m.commitSync(used) : m.releaseSync();
                } catch (error) {
                  b = (error as BudgetError).code;
                }
                expect(a).toBe(b);
              } else if (o.k === 'each') {
                const [r, m] = held[o.i] ?? [null, null];
                if (r === null || m === null || r.cost === 0 || r.state !== 'held') continue;
                const a = Math.min(o.a, mode === 'fixed' ? fixed : r.cost);
                expect(await r.commitEach({ g: a, t: o.b })).toBe(true);
                m.part('g')!.commitSync(a);
                lt.recordUsageSync((m.part('t') as unknown as TokenPermit).reservation, o.b, 0);
                // The model's permit was settled through its parts, which it does not see.
                held[o.i] = [r, null];
              } else if (o.k === 'direct') {
                const r = await rg.tryAcquire(o.n);
                const m = lg.tryAcquireSync(o.n);
                expect(r === null).toBe(m === null);
                if (r && m) {
                  await r.commit(Math.floor(o.n / 2));
                  m.commitSync(Math.floor(o.n / 2));
                }
              } else if (o.member === 'g') {
                await rg.refill();
                lg.refill();
              } else {
                await rt.refill();
                lt.refill();
              }
              const s = await remote.snapshot();
              expect([o.k, s.g.available, s.g.held, s.t.available, s.t.held, s.t.debt]).toEqual([
                o.k,
                lg.available(),
                lg.held(),
                lt.available(),
                lt.reserved(),
                lt.debt(),
              ]);
            }
            await rg.destroy();
            await rt.destroy();
          },
        ),
        { numRuns: 60 },
      );
    },
    120_000,
  );

  it('charges a fixed row per request beside the tokens it costs (the charge option)', async () => {
    const rows = guard(2);
    const tpm = tokens(5_000);
    const gate = new RedisAllOf({ rows, tpm }, { charge: { rows: 1 } });
    expect(gate.capacity).toBe(5_000); // the row member bounds no cost
    const a = (await gate.tryAcquire(1_200))!;
    expect(await rows.held()).toBe(1);
    expect((await tpm.snapshot()).held).toBe(1_200);
    expect(await codeOf(a.commit(900))).toBe('INVALID_ARGUMENT'); // partial: refused, held
    expect(a.state).toBe('held');
    expect(await a.commitEach({ tpm: 900 })).toBe(true); // the row keeps its 1
    expect(await rows.available()).toBe(1);
    expect(await tpm.snapshot()).toMatchObject({ available: 4_100, consumed: 900, held: 0 });
    const b = (await gate.tryAcquire(3_000))!;
    expect(await b.commit()).toBe(true);
    const denied = await gate.tryAcquireDetailed(1);
    expect(denied).toMatchObject({ ok: false, deniedBy: 'rows' }); // rows ran out first
    expect(await gate.available()).toBe(0);
    expect(await gate.tryReserve(0)).toBe(true); // a cost of 0 charges nobody
  });

  it('refuses a bad charge option before anything is sent', () => {
    const fail = () => Promise.reject(new Error('sent a command'));
    const unused = { evalsha: fail, eval: fail };
    const rows = guard(2, { redis: unused });
    const tpm = tokens(5, { redis: unused });
    const make = (charge: unknown) => () =>
      new RedisAllOf({ rows, tpm }, { charge: charge as Record<string, number> });
    expect(make({ cpu: 1 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(make([1])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(make('rows')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    for (const bad of [-1, 1.5, Number.NaN, '1', 2 ** 53]) {
      expect(make({ rows: bad })).toThrow(expect.objectContaining({ code: 'INVALID_AMOUNT' }));
    }
    expect(make({ rows: 0 })).not.toThrow();
  });

  it('reserves, settles, counts and reads in one script call each', async () => {
    const calls: string[] = [];
    const c = counting(calls);
    const both = new RedisAllOf([guard(10, { redis: c }), tokens(10, { redis: c })]);
    await both.snapshot(); // loads the script
    calls.length = 0;
    const permit = (await both.tryAcquire(4))!;
    await permit.commit(1);
    expect(await both.tryReserve(2)).toBe(true);
    await both.release(2);
    const s = await both.snapshot();
    expect(calls).toEqual(['acq', 'set', 'res', 'rel', 'get']);
    expect([s[0]!.available, s[1]!.available, s[0]!.held, s[1]!.held]).toEqual([9, 9, 0, 0]);
  });

  it('names the first member without room, and when it refills', async () => {
    const rows = guard(10);
    const tpm = tokens(5, { refillEveryMs: 60_000 });
    const gate = new RedisAllOf({ rows, tpm });
    expect(await tpm.tryReserve(3)).toBe(true);
    const d = await gate.tryAcquireDetailed(4);
    expect(d.ok).toBe(false);
    if (d.ok) return;
    expect(d.deniedBy).toBe('tpm');
    expect(d.retryAfterMs).toBeGreaterThan(55_000);
    expect(d.retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(d).not.toHaveProperty('exceedsCapacity');
    // Above a member's capacity no refill can help: the denial says so, with no hint.
    expect(await gate.tryAcquireDetailed(6)).toEqual({
      ok: false,
      deniedBy: 'tpm',
      exceedsCapacity: true,
    });
    expect(await gate.tryAcquireDetailed(11)).toEqual({
      ok: false,
      deniedBy: 'rows',
      exceedsCapacity: true,
    });
    // Nothing was taken by any denial.
    expect(await rows.available()).toBe(10);
    expect(await tpm.available()).toBe(2);
  });

  it('is taken by compose as it is, beside an in-process member', async () => {
    const both = new RedisAllOf({ rows: guard(10), tokens: tokens(10) });
    const local = new AtomicBudget(5);
    const outer = allOf({ both, local });
    expect(outer.capabilities.partialCommit).toBe(true);
    const permit = (await outer.tryAcquire(4)) as AllOfPermit<'both' | 'local'>;
    await permit.commit(1);
    const s = await both.snapshot();
    expect([s.rows.available, s.tokens.available, local.available()]).toEqual([9, 9, 4]);
    expect((await outer.tryAcquireDetailed(6)).ok ? 'ok' : 'denied').toBe('denied');
  });

  it('records a token member’s overage as debt through commitEach', async () => {
    const rows = guard(10);
    const tpm = tokens(10, { maxDebt: 4 });
    const gate = new RedisAllOf({ rows, tpm });
    const permit = (await gate.tryAcquire(6))!;
    expect(await permit.commitEach({ rows: 2, tpm: 16 })).toBe(true);
    const s = await tpm.snapshot();
    expect([s.debt, s.forgivenDebt, s.consumed, await rows.available()]).toEqual([4, 2, 16, 8]);
    expect(await codeOf(gate.tryAcquire(1).then((p) => p?.release()))).toBe('resolved');
    expect(await gate.tryAcquireDetailed(1)).toEqual({ ok: false, deniedBy: 'tpm' });
  });
});

describe.skipIf(!redisReady)('RedisAllOf, leases and time', () => {
  it('gives an expired lease back to every member once', async () => {
    const rows = guard(10);
    const tpm = tokens(10);
    const gate = new RedisAllOf({ rows, tpm }, { leaseMs: 40 });
    const permit = (await gate.tryAcquire(7))!;
    expect(permit.expiresAt).toBeGreaterThan(0);
    await sleep(90);
    const first = await gate.reclaimExpired();
    expect(first).toEqual({ leases: 2, units: 14, refunded: 14 });
    expect(await gate.reclaimExpired()).toEqual({ leases: 0, units: 0, refunded: 0 });
    expect(await permit.release()).toBe(false);
    expect(permit.expired).toBe(true);
    const s = await gate.snapshot();
    expect([s.rows.available, s.tpm.available, s.rows.expiredLeases, s.tpm.expiredLeases]).toEqual([
      10, 10, 1, 1,
    ]);
  });

  it('refuses a late commit on its guards and charges its token members in full', async () => {
    const rows = guard(10);
    const tpm = tokens(10);
    const gate = new RedisAllOf({ rows, tpm }, { leaseMs: 30 });
    const permit = (await gate.tryAcquire(5))!;
    await sleep(70);
    expect(await codeOf(permit.commit(3))).toBe('LEASE_EXPIRED');
    expect(permit.expired).toBe(true);
    expect(await rows.available()).toBe(10);
    expect((await tpm.snapshot()).consumed).toBe(3);
    expect(await tpm.available()).toBe(7);
    expect(await permit.commit(3)).toBe(false); // settled: nothing more, once
    expect(await tpm.available()).toBe(7);
  });

  it('renews every member’s lease', async () => {
    const gate = new RedisAllOf([guard(10), tokens(10)], { leaseMs: 60 });
    const permit = (await gate.tryAcquire(5))!;
    const before = permit.expiresAt!;
    await sleep(30);
    for (const bad of [null, 0, 1.5]) {
      expect(await codeOf(permit.renew(bad as number))).toBe('INVALID_ARGUMENT');
      expect(await codeOf(gate.tryAcquire(1, { leaseMs: bad as number }))).toBe('INVALID_ARGUMENT');
    }
    expect(await permit.renew(400)).toBe(true);
    expect(permit.expiresAt!).toBeGreaterThan(before + 300);
    await sleep(80);
    expect((await gate.reclaimExpired()).leases).toBe(0);
    expect(await permit.release()).toBe(true);
    expect(await gate.available()).toBe(10);
  });

  it('lets a member refill on its period inside the all-of, fenced per member', async () => {
    const rows = guard(10);
    const rpm = guard(3, { refillEveryMs: 150 });
    const gate = new RedisAllOf({ rows, rpm });
    const start = await rpm.snapshot();
    const old = (await gate.tryAcquire(3))!;
    const d = await gate.tryAcquireDetailed(1);
    expect(d.ok ? 'ok' : d.deniedBy).toBe('rpm');
    await sleep(Math.max(0, start.nextRefillAt! - start.serverTime) + 20);
    const fresh = (await gate.tryAcquire(2))!;
    expect(fresh.epochs).toEqual([0, 1]);
    expect(await old.release()).toBe(true); // rows gets 3 back; rpm's epoch moved on: nothing
    const s = await gate.snapshot();
    expect([s.rows.available, s.rpm.available, s.rpm.epoch]).toEqual([8, 1, 1]);
  });
});

describe.skipIf(!redisReady)('RedisAllOf, lost replies and retries', () => {
  it('undoes a reservation whose reply was lost, on every member', async () => {
    const { LossyClient } = await import('./helpers/lossy-client.js');
    const lossy = new LossyClient(redis!);
    const rows = guard(10, { redis: lossy });
    const tpm = tokens(10, { redis: lossy });
    const gate = new RedisAllOf({ rows, tpm });
    lossy.loseReply.set('acq', 1);
    const error = await gate.tryAcquire(4).catch((e: unknown) => e);
    expect(BudgetError.isInstance(error) && error.code).toBe('BACKEND');
    expect((error as BudgetError).details?.['undone']).toBe(true);
    const s = await gate.snapshot();
    expect([s.rows.available, s.tpm.available, s.rows.leases, s.tpm.leases]).toEqual([
      10, 10, 0, 0,
    ]);
  });

  it('applies a settle retried after a lost reply once, and a command sent twice once', async () => {
    const { LossyClient } = await import('./helpers/lossy-client.js');
    const lossy = new LossyClient(redis!);
    const rows = guard(10, { redis: lossy });
    const tpm = tokens(10, { redis: lossy });
    const gate = new RedisAllOf({ rows, tpm });
    lossy.duplicate.set('acq', 1);
    const permit = (await gate.tryAcquire(4))!;
    expect([await rows.available(), await tpm.available()]).toEqual([6, 6]);
    lossy.loseReply.set('set', 1);
    expect(await codeOf(permit.commit(1))).toBe('BACKEND');
    expect(permit.state).toBe('held');
    expect(await permit.commit(1)).toBe(false); // the first attempt did it
    expect(permit.state).toBe('committed');
    expect([await rows.available(), await tpm.available()]).toEqual([9, 9]);
    lossy.duplicate.set('res', 1);
    lossy.duplicate.set('rel', 1);
    expect(await gate.tryReserve(3)).toBe(true);
    expect([await rows.held(), (await tpm.snapshot()).held]).toEqual([3, 3]);
    await gate.release(2);
    expect([await rows.held(), (await tpm.snapshot()).held]).toEqual([1, 1]);
  });

  it('keeps a count reservation that arrived after its caller gave up, on every member', async () => {
    const { LossyClient } = await import('./helpers/lossy-client.js');
    const lossy = new LossyClient(redis!);
    const gate = new RedisAllOf([guard(10, { redis: lossy }), tokens(10, { redis: lossy })], {
      timeoutMs: 100,
    });
    lossy.hangAfter.set('res', 1);
    const error = await gate.tryReserve(4).catch((e: unknown) => e);
    expect((error as BudgetError).code).toBe('TIMEOUT');
    expect((error as BudgetError).details?.['undone']).toBe(false);
    const s = await gate.snapshot();
    expect([s[0]!.countHeld, s[1]!.countHeld]).toEqual([4, 4]);
  });
});

describe.skipIf(!redisReady)('RedisAllOf, bad input', () => {
  const code = (f: () => unknown): string => {
    try {
      f();
    } catch (error) {
      if (BudgetError.isInstance(error)) return `${error.code}: ${error.message}`;
      throw error;
    }
    return 'built';
  };

  it('refuses bad member lists at construction, naming the member', async () => {
    const rows = guard(10);
    const keyPrefix = uniquePrefix('same');
    const other = client(await sharedPort());
    try {
      expect(code(() => new RedisAllOf([]))).toMatch(/^INVALID_ARGUMENT: .*at least one/);
      expect(code(() => new RedisAllOf({ a: rows, b: rows }))).toMatch(
        /^INVALID_ARGUMENT: .*member "b" .*already given as member "a"/,
      );
      expect(
        code(
          () => new RedisAllOf([guard(3, { keyPrefix }), tokens(3, { keyPrefix, name: 'rows' })]),
        ),
      ).toMatch(/^INVALID_ARGUMENT: .*member 1 /);
      expect(code(() => new RedisAllOf({ rows, x: new AtomicBudget(3) as never }))).toMatch(
        /^INVALID_ARGUMENT: .*member "x" is not/,
      );
      expect(code(() => new RedisAllOf({ rows, far: guard(3, { redis: other }) }))).toMatch(
        /^INVALID_ARGUMENT: .*member "far" uses another Redis client/,
      );
      expect(code(() => new RedisAllOf(null as never))).toMatch(/^INVALID_ARGUMENT/);
      expect(code(() => new RedisAllOf([rows], { leaseMs: 0 }))).toMatch(/^INVALID_ARGUMENT/);
      for (const bad of [{ leaseMs: null }, { timeoutMs: null }]) {
        expect(code(() => new RedisAllOf([rows], bad as never))).toMatch(/^INVALID_ARGUMENT/);
      }
      // On a Cluster client, members must share a slot: 'rows' and 'tokens' do not.
      const cluster = { isCluster: true, evalsha: redis!.evalsha, eval: redis!.eval };
      const a = guard(3, { redis: cluster as never, name: 'rows' });
      const b = guard(3, { redis: cluster as never, name: 'tokens' });
      expect(code(() => new RedisAllOf({ a, b }))).toMatch(
        /^INVALID_ARGUMENT: .*member "b" \(budget "tokens"\) is in Cluster slot/,
      );
    } finally {
      other.disconnect();
    }
  });

  it('refuses bad costs and amounts before anything is sent', async () => {
    const calls: string[] = [];
    const c = counting(calls);
    const gate = new RedisAllOf({ rows: guard(10, { redis: c }), tpm: tokens(10, { redis: c }) });
    const permit = (await gate.tryAcquire(4))!;
    calls.length = 0;
    for (const bad of [-1, 1.5, Number.NaN, '3', 2 ** 53]) {
      expect(await codeOf(gate.tryAcquire(bad as number))).toBe('INVALID_AMOUNT');
      expect(await codeOf(gate.tryReserve(bad as number))).toBe('INVALID_AMOUNT');
      expect(await codeOf(gate.release(bad as number))).toBe('INVALID_AMOUNT');
    }
    expect(await codeOf(permit.commit(5))).toBe('INVALID_AMOUNT');
    expect(await codeOf(permit.commitEach({ rows: 5 }))).toBe('INVALID_AMOUNT');
    expect(await codeOf(permit.commitEach({ nope: 1 } as never))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(permit.commitEach([1]))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(permit.commitEach({ tpm: -1 }))).toBe('INVALID_AMOUNT');
    expect(await codeOf(permit.commitEach(null as never))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(gate.tryAcquire(1, { leaseMs: -5 }))).toBe('INVALID_ARGUMENT');
    expect(calls).toEqual([]);
    expect(permit.state).toBe('held');
    expect(await gate.available()).toBe(6);
  });

  it('refuses a member whose stored configuration differs, naming it, writing nothing', async () => {
    const keyPrefix = uniquePrefix('config');
    const fresh = guard(10, { keyPrefix, name: 'fresh' });
    await guard(10, { keyPrefix, name: 'tpm' }).available(); // stored with capacity 10
    const gate = new RedisAllOf({ fresh, tpm: guard(12, { keyPrefix, name: 'tpm' }) });
    const error = await gate.tryAcquire(1).catch((e: unknown) => e);
    expect(BudgetError.isInstance(error) && error.code).toBe('INVALID_ARGUMENT');
    expect((error as BudgetError).message).toMatch(/member "tpm": budget "tpm" exists/);
    expect(await keysUnder(redis!, `${keyPrefix}:{fresh}`)).toEqual([]);
  });

  it('refuses a release past what a strict member holds, releasing nothing anywhere', async () => {
    const rows = guard(10);
    const strict = guard(10, { strict: true, name: 'strict' });
    const gate = new RedisAllOf({ rows, strict });
    expect(await gate.tryReserve(3)).toBe(true);
    expect(await strict.tryReserve(0)).toBe(true);
    await strict.release(2); // strict now holds 1 through the count API
    const error = await gate.release(2).catch((e: unknown) => e);
    expect(BudgetError.isInstance(error) && error.code).toBe('OVER_RELEASE');
    expect((error as BudgetError).details?.['member']).toBe('strict');
    expect([await rows.held(), await strict.held()]).toEqual([3, 1]);
  });
});
