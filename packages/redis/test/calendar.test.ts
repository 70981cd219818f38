// Calendar epochs on the server's clock: a budget given refillCalendar begins its epochs at
// the calendar's boundaries as Redis's TIME reaches them. The client sends the boundaries
// around the current epoch with each call; the script begins the epochs passed by the
// calendar index, and refuses boundaries that do not bracket its own time, telling the
// client the server's time so it computes them again (a client clock hours off still lands
// in the server's epoch).
import { calendarSchedule } from '@budgetry/compose';
import { BudgetError } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { ALL_OF_SCRIPT } from '../src/all-of-script.js';
import { CalendarMarks } from '../src/calendar-marks.js';
import { HIERARCHY_SCRIPT } from '../src/hierarchy-script.js';
import {
  budgetKeys,
  hierarchyKeys,
  RedisAllOf,
  RedisBudget,
  RedisHierarchy,
  RedisTokenBudget,
} from '../src/index.js';
import { BUDGET_SCRIPT } from '../src/script.js';
import { ScriptRunner } from '../src/script-runner.js';
import { codeOf, fileRedis, guards } from './helpers/budgets.js';
import { packedState } from './helpers/keyspace.js';
import { redisReady, uniquePrefix } from './helpers/redis.js';

const redis = await fileRedis();
const budget = guards(redis, 'calendar');
const newYork = { unit: 'day', timeZone: 'America/New_York' } as const;

async function serverNow(): Promise<number> {
  const [s, us] = await redis!.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

/** A runner for the budget script over fresh keys, its period argument set by hand. */
function handRun(capacity: number) {
  const k = budgetKeys(uniquePrefix('hand'), 'b');
  const keys = [k.state, k.leases, k.deadlines, k.graveyard];
  const call = (marks: string, op: string, ...args: string[]) =>
    redis!.evalsha(
      BUDGET_SCRIPT.sha,
      4,
      ...keys,
      op,
      'guard',
      String(capacity),
      'reset',
      `cal:day:UTC:1@${marks}`,
      '-1',
      '600000',
      ...args,
    ) as Promise<number[]>;
  return { call, state: k.state };
}

describe.skipIf(!redisReady)('calendar epochs on the server clock', () => {
  it('begins as many epochs as the calendar index moved, and none while it stays', async () => {
    await redis!.script('LOAD', BUDGET_SCRIPT.text);
    const b = handRun(10);
    const now = await serverNow();
    const marks = (idx: number) => `${now - 60_000},${idx},${now + 3_600_000}`;
    expect((await b.call(marks(100), 'res', 'r1', '10'))[5]).toBe(1);
    expect((await b.call(marks(100), 'res', 'r2', '1'))[5]).toBe(0); // same epoch: empty
    expect((await packedState(redis!, b.state))?.ep).toBe(0);
    expect((await b.call(marks(103), 'res', 'r3', '4'))[5]).toBe(1); // three boundaries passed
    expect(await packedState(redis!, b.state)).toMatchObject({ ep: 3, pidx: 103, net: 6 });
    expect((await b.call(marks(102), 'res', 'r4', '6'))[5]).toBe(1); // an older index: nothing
    expect(await packedState(redis!, b.state)).toMatchObject({ ep: 3, net: 0 });
  });

  it('refuses boundaries that do not bracket the server time, reading and writing nothing', async () => {
    const b = handRun(10);
    const now = await serverNow();
    for (const marks of [
      `${now + 60_000},5,${now + 120_000}`,
      `${now - 120_000},5,${now - 60_000}`,
    ]) {
      const error = await b.call(marks, 'res', 'r', '1').catch((e: unknown) => e);
      const told = /^BUDGETRY_CALENDAR (\d+)/.exec((error as Error).message);
      expect(told).not.toBeNull();
      expect(Math.abs(Number(told![1]) - now)).toBeLessThan(5_000);
    }
    expect(await redis!.exists(b.state)).toBe(0);
  });

  it('a client whose clock is hours off is told the server time once, then lands in its epoch', async () => {
    const schedule = calendarSchedule({ unit: 'hour', timeZone: 'Asia/Kolkata' });
    const k = budgetKeys(uniquePrefix('skew'), 'b');
    const marks = new CalendarMarks(
      schedule,
      'cal:hour:Asia/Kolkata:1',
      'hour',
      () => Date.now() + 5 * 3_600_000,
    );
    const config = ['guard', '10', 'reset', 'cal:hour:Asia/Kolkata:1', '-1', '600000'];
    const keys = [k.state, k.leases, k.deadlines, k.graveyard];
    const runner = new ScriptRunner(redis!, BUDGET_SCRIPT, keys, config, 2_000, 'skew', [
      { at: 3, marks },
    ]);
    const sent: string[] = [];
    const evalsha = redis!.evalsha.bind(redis!) as (...x: unknown[]) => Promise<unknown>;
    const spy = {
      eval: redis!.eval.bind(redis!),
      evalsha: (...a: unknown[]) => {
        sent.push(String(a[7]));
        return evalsha(...a);
      },
    };
    const watched = new ScriptRunner(spy as never, BUDGET_SCRIPT, keys, config, 2_000, 'skew', [
      { at: 3, marks },
    ]);
    expect((await watched.run('res', ['r1', '4']))[5]).toBe(1);
    expect(sent).toHaveLength(2); // refused once, then sent again around the server's time
    const now = await serverNow();
    expect((await packedState(redis!, k.state))?.pidx).toBe(schedule.index(now));
    expect((await runner.run('res', ['r2', '4']))[5]).toBe(1); // learned: one call
  });

  it('a RedisBudget on New York days reports the next local midnight as its next refill', async () => {
    const b = budget(100, { refillCalendar: newYork });
    expect(await b.tryReserve(30)).toBe(true);
    const s = await b.snapshot();
    const days = calendarSchedule(newYork);
    expect(s.nextRefillAt).toBe(days.next(s.serverTime));
    expect(s.available).toBe(70);
    const t = new RedisTokenBudget(50, {
      redis: redis!,
      name: 'tpd',
      keyPrefix: uniquePrefix('tpd'),
      refillCalendar: { unit: 'month', timeZone: 'Europe/Paris' },
    });
    const r = (await t.tryReserveTokens(20))!;
    await t.recordUsage(r, 15, 10);
    expect(await t.snapshot()).toMatchObject({ available: 25, debt: 0 });
    expect((await t.snapshot()).nextRefillAt).toBe(
      calendarSchedule({ unit: 'month', timeZone: 'Europe/Paris' }).next(
        (await t.snapshot()).serverTime,
      ),
    );
  });

  it('is stored as configuration: another calendar under the same name is refused', async () => {
    const keyPrefix = uniquePrefix('cfg');
    const a = budget(10, { keyPrefix, refillCalendar: newYork });
    expect(await a.tryReserve(1)).toBe(true);
    const b = budget(10, { keyPrefix, refillCalendar: { ...newYork, timeZone: 'UTC' } });
    expect(await codeOf(b.tryReserve(1))).toBe('INVALID_ARGUMENT');
    const c = budget(10, { keyPrefix, refillEveryMs: 86_400_000 });
    expect(await codeOf(c.tryReserve(1))).toBe('INVALID_ARGUMENT');
    expect(await a.available()).toBe(9);
  });

  it('refuses bad calendars, one with refillEveryMs, and where it is not followed', () => {
    const fail = () => Promise.reject(new Error('sent a command'));
    const unused = { evalsha: fail, eval: fail };
    const refused = (make: () => unknown) => {
      try {
        make();
      } catch (error) {
        return BudgetError.isInstance(error) ? error.code : 'untyped';
      }
      return 'built';
    };
    for (const refillCalendar of [
      { unit: 'fortnight' },
      { unit: 'day', timeZone: 'Mars/Olympus' },
      { unit: 'week', weekStartsOn: 7 },
      'day',
    ]) {
      const make = () =>
        new RedisBudget(1, { redis: unused, name: 'x', refillCalendar: refillCalendar as never });
      expect(refused(make)).toBe('INVALID_ARGUMENT');
    }
    const both = () =>
      new RedisBudget(1, {
        redis: unused,
        name: 'x',
        refillCalendar: newYork,
        refillEveryMs: 1_000,
      });
    expect(refused(both)).toBe('INVALID_ARGUMENT');
    const tree = () =>
      new RedisHierarchy(
        { capacity: 1 },
        { redis: unused, name: 't', refillCalendar: newYork, refillEveryMs: 1_000 },
      );
    expect(refused(tree)).toBe('INVALID_ARGUMENT');
  });
});

describe.skipIf(!redisReady)('calendar epochs of a tree', () => {
  /** The hierarchy script over fresh keys, root 10 and tenants 6, marks set by hand. */
  function handTree() {
    const k = hierarchyKeys(uniquePrefix('cal-tree'), 't');
    const keys = [k.state, k.nodes, k.leases, k.deadlines, k.graveyard];
    const call = (marks: string, op: string, ...args: string[]) =>
      redis!.evalsha(
        HIERARCHY_SCRIPT.sha,
        5,
        ...keys,
        op,
        '10,6',
        `cal:day:UTC:1@${marks}`,
        '600000',
        ...args,
      ) as Promise<number[]>;
    return { call, k };
  }

  it('begins epochs for the whole tree by the calendar index, none while it stays', async () => {
    await redis!.script('LOAD', HIERARCHY_SCRIPT.text);
    const t = handTree();
    const now = await serverNow();
    const marks = (idx: number) => `${now - 60_000},${idx},${now + 3_600_000}`;
    expect((await t.call(marks(30), 'res', 'r1', '5', 'n:a'))[5]).toBe(1);
    expect((await t.call(marks(30), 'res', 'r2', '2', 'n:a'))[5]).toBe(0); // the tenant's 6
    expect((await t.call(marks(31), 'res', 'r3', '6', 'n:a'))[5]).toBe(1); // a new day
    const got = await t.call(marks(31), 'get', 'n:a');
    expect(got.slice(5, 7)).toEqual([1, 0]); // epoch 1, nothing over-released
    expect(got[11]).toBe(now + 3_600_000); // the next boundary, as sent
    // The tenant, then the root: only the new day's 6 held (the 5 of the day before fenced).
    expect(got.slice(12, 20)).toEqual([-1, 6, 6, 6, -1, 6, 0, 0]);
  });

  it('refuses boundaries off the server clock, reading and writing nothing', async () => {
    await redis!.script('LOAD', HIERARCHY_SCRIPT.text);
    const t = handTree();
    const now = await serverNow();
    await expect(
      t.call(`${now + 7_200_000},3,${now + 9_000_000}`, 'res', 'r1', '1', 'n:a'),
    ).rejects.toThrow(/^BUDGETRY_CALENDAR \d+/);
    expect(await redis!.exists(t.k.state, t.k.nodes, t.k.leases, t.k.graveyard)).toBe(0);
  });

  it('a RedisHierarchy on New York days reserves per tenant and reports the next midnight', async () => {
    const tree = new RedisHierarchy(
      { capacity: 100, children: { capacity: 40 } },
      { redis: redis!, name: 'daily', keyPrefix: uniquePrefix('daily'), refillCalendar: newYork },
    );
    const acme = tree.child('acme');
    expect(await acme.tryReserve(30)).toBe(true);
    expect(await acme.tryReserve(20)).toBe(false);
    const s = await acme.snapshot();
    expect(s.nextRefillAt).toBe(calendarSchedule(newYork).next(s.serverTime));
    expect(await tree.available()).toBe(70);
  });
});

describe.skipIf(!redisReady)('calendar members of an all-of', () => {
  /** An all-of's script call over a calendar guard and a plain one, marks set by hand. */
  function handAllOf() {
    const cal = budgetKeys(uniquePrefix('cal-member'), 'c');
    const plain = budgetKeys(uniquePrefix('plain-member'), 'p');
    const keys = [cal, plain].flatMap((k) => [k.state, k.leases, k.deadlines, k.graveyard]);
    const call = (marks: string, op: string, ...args: string[]) =>
      redis!.evalsha(
        ALL_OF_SCRIPT.sha,
        8,
        ...keys,
        op,
        '2',
        ...['guard', '10', 'reset', `cal:day:UTC:1@${marks}`, '-1', '600000'],
        ...['guard', '10', 'reset', '0', '-1', '600000'],
        ...args,
      ) as Promise<number[]>;
    return { call, cal, plain };
  }

  it("begins the calendar member's epochs by its calendar index, and only its own", async () => {
    await redis!.script('LOAD', ALL_OF_SCRIPT.text);
    const a = handAllOf();
    const now = await serverNow();
    const marks = (idx: number) => `${now - 60_000},${idx},${now + 3_600_000}`;
    expect((await a.call(marks(50), 'res', 'r1', '6', '0'))[10]).toBe(1);
    expect(await packedState(redis!, a.cal.state)).toMatchObject({ ep: 0, pidx: 50, net: 4 });
    expect((await a.call(marks(52), 'res', 'r2', '3', '0'))[10]).toBe(1); // two days on
    expect(await packedState(redis!, a.cal.state)).toMatchObject({ ep: 2, pidx: 52, net: 7 });
    expect(await packedState(redis!, a.plain.state)).toMatchObject({ ep: 0, net: 1 });
  });

  it('refuses boundaries off the server clock before opening any member, sweep included', async () => {
    await redis!.script('LOAD', ALL_OF_SCRIPT.text);
    const a = handAllOf();
    const now = await serverNow();
    const good = `${now - 60_000},7,${now + 3_600_000}`;
    // A lease on both members that runs out in 30 ms.
    expect((await a.call(good, 'acq', 'p1', '4', '30'))[10]).toBe(1);
    await new Promise((r) => setTimeout(r, 60));
    const before = await redis!.hgetall(a.plain.leases);
    const far = `${now + 7_200_000},9,${now + 9_000_000}`;
    await expect(a.call(far, 'res', 'r1', '1', '0')).rejects.toThrow(/^BUDGETRY_CALENDAR \d+/);
    // Nothing was read or written: the plain member's expired lease is still unswept.
    expect(await redis!.hgetall(a.plain.leases)).toEqual(before);
    expect(await redis!.zcard(a.plain.deadlines)).toBe(1);
    expect((await a.call(good, 'swp', '16'))[10]).toBeDefined();
    expect(await redis!.zcard(a.plain.deadlines)).toBe(0);
  });

  it('an all-of over a calendar token budget and a plain guard reserves and settles', async () => {
    const tpd = new RedisTokenBudget(100, {
      redis: redis!,
      name: 'tpd',
      keyPrefix: uniquePrefix('tpd-all-of'),
      refillCalendar: { unit: 'day', timeZone: 'America/New_York' },
      leakBackstop: false,
    });
    const rows = budget(10);
    const both = new RedisAllOf({ tpd, rows });
    const p = (await both.tryAcquire(6))!;
    expect(p).not.toBeNull();
    await p.commitEach({ tpd: 4, rows: 6 });
    expect(await tpd.snapshot()).toMatchObject({ available: 96, consumed: 4 });
    expect(await rows.available()).toBe(4);
    const s = await tpd.snapshot();
    expect(s.nextRefillAt).toBe(calendarSchedule(newYork).next(s.serverTime));
  });
});
