// A hostile review of RedisAllOf's fixed charges, calendar epochs of trees and all-of members,
// and the per-client call queue: what the other tests do not try. Each test names what a user
// relies on; the failing ones are bugs (see the review report).
import { allOf, calendarSchedule, type TokenPermit } from '@budgetry/compose';
import { AtomicBudget, AtomicTokenBudget, BudgetError } from '@budgetry/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ALL_OF_SCRIPT } from '../src/all-of-script.js';
import { CalendarMarks } from '../src/calendar-marks.js';
import {
  RedisAllOf,
  type RedisBudget,
  RedisHierarchy,
  RedisLeasedBudget,
  type RedisScriptClient,
} from '../src/index.js';
import type { ScriptRunner } from '../src/script-runner.js';
import { opsOf } from './helpers/batches.js';
import { codeOf, fileRedis, guards, tokenBudgets } from './helpers/budgets.js';
import { redisReady, uniquePrefix } from './helpers/redis.js';

const redis = await fileRedis();
const guard = guards(redis, 'rv-rows');
const tokens = tokenBudgets(redis, 'rv-tpm');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function serverNow(): Promise<number> {
  const [s, us] = await redis!.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

/** Replaces a runner's calendar marks by marks on a clock `skewMs` off (tests only). */
function skew(runner: ScriptRunner, skewMs: number): CalendarMarks {
  const old = runner.calendars[0]!;
  const inner = old.marks as unknown as { schedule: never; calendar: string; unit: string };
  const marks = new CalendarMarks(
    inner.schedule,
    inner.calendar,
    inner.unit,
    () => Date.now() + skewMs,
  );
  (runner as unknown as { calendars: unknown[] }).calendars = [{ at: old.at, marks }];
  return marks;
}

/** A client that records the operations of every script call in the order they were sent. */
function recording(base: RedisScriptClient = redis!) {
  const sent: string[] = [];
  const c: RedisScriptClient = {
    evalsha: (sha, n, ...args) => {
      sent.push(...opsOf(args.slice(n)));
      return base.evalsha(sha, n, ...args);
    },
    eval: (script, n, ...args) => {
      sent.push(...opsOf(args.slice(n)).map((op) => `eval:${op}`));
      return base.eval(script, n, ...args);
    },
  };
  return { client: c, sent };
}

/** The script runner of a budget or a tree (tests only). */
function runnerOf(b: RedisBudget | RedisHierarchy): ScriptRunner {
  const o = b as unknown as {
    core?: { runner: ScriptRunner };
    tree?: { core: { runner: ScriptRunner } };
  };
  return (o.core ?? o.tree!.core).runner;
}

describe.skipIf(!redisReady)('review: charge option, member keys', () => {
  it("a member keyed '__proto__' is in snapshot() and bounds available()", async () => {
    const rows = guard(1);
    const tpm = tokens(100);
    const members = { ['__proto__']: rows, tpm } as unknown as Record<string, RedisBudget>;
    const gate = new RedisAllOf(members, { charge: { ['__proto__']: 1 } as never });
    expect(gate.keys).toEqual(['__proto__', 'tpm']);
    const p = (await gate.tryAcquire(10))!;
    expect(p).not.toBeNull();
    // The row is taken: no cost above 0 can be granted, as compose says.
    const model = allOf(
      { ['__proto__']: new AtomicBudget(1), tpm: new AtomicTokenBudget(100) } as never,
      { charge: { ['__proto__']: 1 } as never },
    ) as unknown as { tryAcquireSync(c: number): unknown; available(): number };
    model.tryAcquireSync(10);
    expect(model.available()).toBe(0);
    expect(await gate.tryAcquire(1)).toBeNull(); // the script agrees: rows has no room
    // available() reads the snapshot's values in member order: the '__proto__' entry became
    // the snapshot's prototype, so tpm is read as the fixed-charge member.
    expect(await gate.available()).toBe(0);
    const s = await gate.snapshot();
    expect(Object.keys(s)).toEqual(['__proto__', 'tpm']);
  });

  it("members keyed 'constructor' and 'toString', and charges by index on an array all-of", async () => {
    const rows = guard(2);
    const tpm = tokens(50);
    const gate = new RedisAllOf({ constructor: rows, toString: tpm } as never, {
      charge: { constructor: 1 } as never,
    });
    const p = (await gate.tryAcquire(20)) as unknown as {
      commitEach(u: Record<string, number>): Promise<boolean>;
    };
    expect(await p.commitEach({ toString: 30 })).toBe(true); // the row keeps its 1
    expect(await rows.available()).toBe(1);
    expect(await tpm.snapshot()).toMatchObject({ available: 20, consumed: 30 });
    expect(await gate.available()).toBe(20);
    // An array all-of: a charge by numeric index, as a string or a number key.
    const t40 = tokens(40);
    const arr = new RedisAllOf([guard(3), t40], { charge: { 0: 1 } });
    expect(arr.capacity).toBe(40);
    const q = (await arr.tryAcquire(25))!;
    expect(await codeOf(q.commitEach([2, 25]))).toBe('INVALID_AMOUNT'); // 2 > the charge of 1
    expect(q.state).toBe('held');
    expect(await q.commitEach({ 1: 10 })).toBe(true);
    const s = await arr.snapshot();
    expect([s[0]!.available, s[1]!.available, (await t40.snapshot()).consumed]).toEqual([
      2, 30, 10,
    ]);
  });
});

describe.skipIf(!redisReady)('review: charge option against compose', () => {
  it('a partial commit is refused when a member has a fixed charge, even one equal to the cost', async () => {
    // compose: any fixed charge makes partial commit unavailable (capabilities.partialCommit
    // false), so commit(1) of a permit of 2 with { g: 2 } throws INVALID_ARGUMENT.
    const model = allOf(
      { g: new AtomicBudget(5), t: new AtomicTokenBudget(5) },
      { charge: { g: 2 } },
    );
    const m = model.tryAcquireSync(2)!;
    expect(() => m.commitSync(1)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    const g = guard(5);
    const gate = new RedisAllOf({ g, t: tokens(5) }, { charge: { g: 2 } });
    const r = (await gate.tryAcquire(2))!;
    expect(await codeOf(r.commit(1))).toBe('INVALID_ARGUMENT');
    expect(await g.available()).toBe(3); // held, nothing committed
  });

  it('decides as compose on random histories with a fixed charge on the token member', async () => {
    const op = fc.oneof(
      fc.record({ k: fc.constant('acquire' as const), n: fc.nat(12) }),
      fc.record({ k: fc.constant('reserve' as const), n: fc.nat(12) }),
      fc.record({ k: fc.constant('release' as const), i: fc.nat(9) }),
      fc.record({ k: fc.constant('settle' as const), i: fc.nat(7), commit: fc.boolean() }),
      fc.record({ k: fc.constant('each' as const), i: fc.nat(7), a: fc.nat(12), b: fc.nat(9) }),
      fc.record({ k: fc.constant('refill' as const), member: fc.constantFrom('g', 't') }),
    );
    const policy = fc.constantFrom('reset' as const, 'carry' as const);
    await fc.assert(
      fc.asyncProperty(
        fc.tuple(fc.nat(14), fc.nat(10), policy, policy, fc.nat(4)),
        fc.array(op, { maxLength: 25, size: 'max' }),
        async ([cg, ct, pg, pt, fixed], ops) => {
          const charge = { charge: { t: fixed } };
          const rg = guard(cg, { refillPolicy: pg });
          const rt = tokens(ct, { refillPolicy: pt, maxDebt: 6 });
          const lg = new AtomicBudget(cg, { refillPolicy: pg, leakBackstop: false });
          const lt = new AtomicTokenBudget(ct, {
            refillPolicy: pt,
            maxDebt: 6,
            leakBackstop: false,
          });
          const remote = new RedisAllOf({ g: rg, t: rt }, charge);
          const model = allOf({ g: lg, t: lt }, charge);
          expect(remote.capacity).toBe(model.capacity);
          const reserved: number[] = [];
          const held: [
            Awaited<ReturnType<typeof remote.tryAcquire>>,
            ReturnType<typeof model.tryAcquireSync>,
          ][] = [];
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
              const n = reserved.splice(o.i % (reserved.length || 1), 1)[0];
              if (n === undefined) continue;
              await remote.release(n);
              model.releaseSync(n);
            } else if (o.k === 'settle') {
              const [r, m] = held[o.i] ?? [null, null];
              if (r === null || r === undefined) continue;
              if (m === null) {
                expect(await (o.commit ? r.commit() : r.release())).toBe(false);
                continue;
              }
              expect(await (o.commit ? r.commit() : r.release())).toBe(
                o.commit ? m.commitSync() : m.releaseSync(),
              );
            } else if (o.k === 'each') {
              const [r, m] = held[o.i] ?? [null, null];
              if (!r || m === null || r.cost === 0 || r.state !== 'held') continue;
              const a = Math.min(o.a, r.cost);
              expect(await r.commitEach({ g: a, t: o.b })).toBe(true);
              m.part('g')!.commitSync(a);
              lt.recordUsageSync((m.part('t') as unknown as TokenPermit).reservation, o.b, 0);
              held[o.i] = [r, null];
            } else if (o.member === 'g') {
              await rg.refill();
              lg.refill();
            } else {
              await rt.refill();
              lt.refill();
            }
            const s = await remote.snapshot();
            expect([o.k, s.g.available, s.t.available, s.t.held, s.t.debt]).toEqual([
              o.k,
              lg.available(),
              lt.available(),
              lt.reserved(),
              lt.debt(),
            ]);
            expect([o.k, await remote.available()]).toEqual([o.k, model.available()]);
          }
          await rg.destroy();
          await rt.destroy();
        },
      ),
      { numRuns: 40 },
    );
  }, 60_000);
});

describe.skipIf(!redisReady)('review: fixed charges under expiry and lost replies', () => {
  it('an expired permit gives each member back its own charge, once; a late commit charges tokens only', async () => {
    const rows = guard(2);
    const tpm = tokens(100);
    const gate = new RedisAllOf({ rows, tpm }, { charge: { rows: 1 }, leaseMs: 30 });
    const a = (await gate.tryAcquire(70))!;
    const b = (await gate.tryAcquire(20))!;
    expect(await gate.tryAcquireDetailed(5)).toMatchObject({ ok: false, deniedBy: 'rows' });
    expect(await b.renew(5_000)).toBe(true);
    await sleep(80);
    // a's leases: 1 row and 70 tokens; b's renewed leases stay.
    expect(await gate.reclaimExpired()).toEqual({ leases: 2, units: 71, refunded: 71 });
    expect(await gate.available()).toBe(80);
    expect(await codeOf(a.commitEach({ rows: 1, tpm: 90 }))).toBe('LEASE_EXPIRED');
    expect(a.state).toBe('committed');
    // The guard charged nothing now; the token member was charged its 90 in full.
    expect(await rows.available()).toBe(1);
    expect(await tpm.snapshot()).toMatchObject({ consumed: 90, available: 0, debt: 10 });
    expect(await a.commitEach({ tpm: 90 })).toBe(false);
    expect(await tpm.snapshot()).toMatchObject({ consumed: 90, debt: 10 });
    expect(await b.commit()).toBe(true); // whole: the row and 20 tokens kept
    expect(await rows.available()).toBe(1);
    expect(await tpm.snapshot()).toMatchObject({ consumed: 110, held: 0, debt: 10 });
  });

  it('a request whose reply was lost is undone member by member, each by its own charge', async () => {
    const { LossyClient } = await import('./helpers/lossy-client.js');
    const lossy = new LossyClient(redis!);
    const rows = guard(3, { redis: lossy });
    const tpm = tokens(100, { redis: lossy });
    const gate = new RedisAllOf({ rows, tpm }, { charge: { rows: 1 }, timeoutMs: 150 });
    lossy.loseReply.set('acq', 1);
    const error = await gate.tryAcquire(40).catch((e: unknown) => e);
    expect(BudgetError.isInstance(error) && error.details?.['undone']).toBe(true);
    expect([await rows.available(), await tpm.available()]).toEqual([3, 100]);
    // A count reservation that arrives after its caller gave up stays, charged as asked,
    // and a release of the same cost gives back exactly that.
    lossy.hangAfter.set('res', 1);
    const late = await gate.tryReserve(30).catch((e: unknown) => e);
    expect((late as BudgetError).details?.['undone']).toBe(false);
    expect([await rows.held(), (await tpm.snapshot()).countHeld]).toEqual([1, 30]);
    // A copy of a request sent twice charges once; a cost of 0 charges nobody.
    lossy.duplicate.set('res', 1);
    expect(await gate.tryReserve(10)).toBe(true);
    expect(await gate.tryReserve(0)).toBe(true);
    expect([await rows.held(), (await tpm.snapshot()).countHeld]).toEqual([2, 40]);
    await gate.release(30);
    await gate.release(10);
    expect([await rows.held(), (await tpm.snapshot()).countHeld]).toEqual([0, 0]);
    expect([await rows.available(), await tpm.available()]).toEqual([3, 100]);
  });

  it('a strict member refuses a release whose fixed charge is more than it holds, everywhere', async () => {
    const rows = guard(5, { strict: true });
    const tpm = tokens(100);
    const gate = new RedisAllOf({ rows, tpm }, { charge: { rows: 2 } });
    expect(await gate.tryReserve(30)).toBe(true);
    await rows.release(1); // the pool now holds 1 row: less than the charge of 2
    const e = await gate.release(30).catch((x: unknown) => x);
    expect(BudgetError.isInstance(e) && e.code).toBe('OVER_RELEASE');
    expect((e as BudgetError).details).toMatchObject({ member: 'rows', held: 1 });
    expect([await rows.held(), (await tpm.snapshot()).countHeld]).toEqual([1, 30]);
  });
});

describe.skipIf(!redisReady)('review: order of calls on one client', () => {
  it('a call answered NOSCRIPT is applied once, after the calls sent meanwhile (as documented)', async () => {
    // The all-of script missing on the server (a deploy changed its SHA, a replica promoted
    // without it) while the budget script is loaded: the all-of's release is answered
    // NOSCRIPT and sent again with its text only after that answer, behind the member's
    // request made after it in the same turn (README: "A call that has to be sent again").
    let missing = false;
    const c: RedisScriptClient = {
      evalsha: (sha, n, ...args) => {
        if (missing && sha === ALL_OF_SCRIPT.sha) {
          missing = false;
          return redis!.evalsha('0'.repeat(40), n, ...args); // the server answers NOSCRIPT
        }
        return redis!.evalsha(sha, n, ...args);
      },
      eval: (script, n, ...args) => redis!.eval(script, n, ...args),
    };
    const rows = guard(1, { redis: c });
    const gate = new RedisAllOf({ rows });
    const p = (await gate.tryAcquire(1))!;
    expect(p).not.toBeNull();
    missing = true;
    const released = p.release();
    const next = rows.tryAcquire(1); // made after the release, applied before its resending
    expect(await released).toBe(true);
    expect(await next).toBeNull();
    expect(await rows.available()).toBe(1); // the release applied once
    expect(gate.members[0]).toBe(rows);
  });

  it('a calendar call refused for its clock is applied once, after the calls sent meanwhile', async () => {
    // Two objects of one calendar budget: b learned the server's clock, a (new, its clock
    // two hours off) has not. a's release is refused and sent again only after the refusal
    // comes back, behind b's request made after it (README: "A call that has to be sent
    // again").
    const keyPrefix = uniquePrefix('cal-order');
    const hour = { refillCalendar: { unit: 'hour', timeZone: 'UTC' } } as const;
    const b = guard(5, { keyPrefix, ...hour });
    expect(await b.tryReserve(5)).toBe(true);
    const a = guard(5, { keyPrefix, ...hour });
    skew(runnerOf(a), -7_200_000);
    const released = a.release(5);
    const again = b.tryReserve(5); // made after the release, applied before its resending
    await released;
    expect(await again).toBe(false);
    expect(await b.available()).toBe(5); // the release applied once, in the server's epoch
  });

  it('keeps program order across batched budgets, an unbatched all-of, a tree and a leased child', async () => {
    const { client: c, sent } = recording();
    const keyPrefix = uniquePrefix('many');
    const b1 = guard(10, { redis: c, keyPrefix });
    const b2 = tokens(10, { redis: c });
    const tree = new RedisHierarchy(
      { capacity: 10, children: { capacity: 5 } },
      { redis: c, name: 'rv-tree', keyPrefix: uniquePrefix('rv-tree') },
    );
    const all = new RedisAllOf({ b1, b2 }, { maxBatch: 1 });
    const batchedAll = new RedisAllOf([b1]);
    const leased = await RedisLeasedBudget.open(4, {
      redis: c,
      name: 'rv-pool',
      keyPrefix: uniquePrefix('rv-pool'),
      renewEveryMs: 5_000,
    });
    await Promise.all([b1.snapshot(), b2.snapshot(), tree.available(), all.snapshot()]);
    sent.length = 0;
    const order = await new Promise<string[]>((resolve) => {
      const done: string[] = [];
      const note = (name: string) => () => done.push(name);
      const calls = [
        b1.tryReserve(10).then(note('b1.res')),
        tree.child('x').tryReserve(2).then(note('tree.res')),
        all.tryAcquire(1).then(note('all.acq')), // flushes the two above first
        b1.release(10).then(note('b1.rel')),
        batchedAll.tryReserve(10).then(note('batchedAll.res')), // after b1's release
        b2.tryReserve(3).then(note('b2.res')),
        leased.close().then(note('leased.ret')), // flushes the three above first
        b1.available().then(note('b1.get')),
      ];
      void Promise.all(calls).then(() => resolve(done));
    });
    expect(sent).toEqual(['res', 'res', 'acq', 'rel', 'res', 'res', 'ret', 'get']);
    expect(order).toHaveLength(8);
    expect(await b1.held()).toBe(10); // the all-of's reserve came after b1's release
  });
});

describe.skipIf(!redisReady)('review: calendar trees and members on a skewed clock', () => {
  it('a RedisHierarchy whose clock is a day ahead lands in the server epoch after one refusal', async () => {
    const { client: c, sent } = recording();
    const keyPrefix = uniquePrefix('skew-tree');
    const days = { unit: 'day', timeZone: 'Pacific/Auckland' } as const;
    const make = () =>
      new RedisHierarchy(
        { capacity: 10, children: { capacity: 4 } },
        { redis: c, name: 'rv-skew', keyPrefix, refillCalendar: days },
      );
    const tree = make();
    skew(runnerOf(tree), 26 * 3_600_000);
    const acme = tree.child('acme');
    expect(await acme.tryReserve(4)).toBe(true);
    expect(sent).toEqual(['res', 'res']); // refused once, then around the server's clock
    expect(await acme.tryReserve(1)).toBe(false); // the same epoch: the tenant is full
    const s = await acme.snapshot();
    const schedule = calendarSchedule(days);
    expect(s.nextRefillAt).toBe(schedule.next(s.serverTime));
    expect(s.epoch).toBe(0);
    // Another process, clock right, sees the same day and the same 4 held.
    const other = make();
    expect(await other.child('acme').tryReserve(1)).toBe(false);
    expect(await other.available()).toBe(6);
    // And one whose clock is an hour behind (the same day or the day before): never an
    // older epoch, never a refill.
    const behind = make();
    skew(runnerOf(behind), -3_600_000);
    expect(await behind.child('acme').tryReserve(1)).toBe(false);
    expect(await behind.available()).toBe(6);
  });

  it('a calendar member shared by two all-ofs, beside a period member, on a skewed clock', async () => {
    const { client: c, sent } = recording();
    const days = { unit: 'day', timeZone: 'America/New_York' } as const;
    const tpd = tokens(100, { redis: c, refillCalendar: days, maxDebt: 50 });
    const marks = skew(runnerOf(tpd as unknown as RedisBudget), -30 * 3_600_000);
    const rpm = guard(3, { redis: c, refillEveryMs: 60_000 });
    const rows = guard(10, { redis: c });
    const one = new RedisAllOf({ rows, tpd, rpm }, { charge: { rows: 1, rpm: 1 } });
    const two = new RedisAllOf([tpd, rows], { charge: { 1: 1 } });
    expect((one as unknown as { runner: ScriptRunner }).runner.calendars[0]!.marks).toBe(marks);
    const p = (await one.tryAcquire(60))!;
    expect(p).not.toBeNull();
    expect(sent).toEqual(['acq', 'acq']); // refused once for the clock, for both all-ofs
    sent.length = 0;
    const q = (await two.tryAcquire(40))!;
    expect(sent).toEqual(['acq']); // the shared marks learned the server's clock
    expect(await p.commitEach({ tpd: 90 })).toBe(true); // 30 over: debt
    expect(await tpd.snapshot()).toMatchObject({ available: 0, debt: 30, held: 40 });
    const d = await two.tryAcquireDetailed(1);
    expect(d.ok).toBe(false);
    const now = await serverNow();
    const next = calendarSchedule(days).next(now);
    if (!d.ok) {
      expect(d.deniedBy).toBe(0);
      expect(Math.abs(now + d.retryAfterMs! - next)).toBeLessThan(2_000);
    }
    expect(await q.release()).toBe(true); // 40 back, 30 of them pay the debt
    expect(await tpd.snapshot()).toMatchObject({ available: 10, debt: 0, held: 0 });
    // rpm: three a minute, charged one each (the commitEach above kept p's).
    const r2 = (await one.tryAcquire(5))!;
    const r3 = (await one.tryAcquire(1))!;
    const denied = await one.tryAcquireDetailed(1);
    expect(denied).toMatchObject({ ok: false, deniedBy: 'rpm' });
    await r2.release();
    await r3.release();
    const s = await one.snapshot();
    expect([s.rows.available, s.rpm.available, s.rpm.held, s.tpd.available]).toEqual([9, 2, 0, 10]);
  });
});
