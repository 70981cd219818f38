import { randomBytes } from 'node:crypto';
import { RedisBudget, RedisHierarchy } from '@budgetry/redis';
import type { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { dependenciesOf } from '../select-rows.js';
import { makeRedisRows, redisRowIds, redisRows } from './redis.js';
import {
  benchRedisUrl,
  connectRow,
  decideRedisRows,
  defaultRedisUrl,
  deleteKeysUnder,
  probeRedis,
  redisSkippedVariable,
  redisUrlVariable,
  scriptStats,
  serverMicrosPerScript,
  skipMessage,
} from './redis-connection.js';
import {
  type OpenSubject,
  openBare,
  openBudgetCount,
  openBudgetPermit,
  openHierarchy,
  openRateLimiterFlexible,
  threeLevels,
} from './redis-subjects.js';
import { benchRedisForBlock } from './redis-test-setup.js';

const url = benchRedisUrl();
const problem = await probeRedis(url);
if (problem !== undefined) {
  const message = `the Redis rows' tests need a Redis at ${url} (${problem}): apt-get install redis-server, or start one with redis-server --daemonize yes`;
  if (process.env['CI'] === 'true') throw new Error(`${message} — CI never skips them`);
  console.warn(`skipped: ${message}`);
}

/** Keys of this file's tests, all under one root, deleted at the end. */
const root = `budgetry-bench-test:${process.pid}-${randomBytes(4).toString('hex')}`;

describe('where the Redis rows look for Redis', () => {
  it('uses $BUDGETRY_BENCH_REDIS_URL, else the local server', () => {
    expect(benchRedisUrl({})).toBe(defaultRedisUrl);
    expect(benchRedisUrl({ [redisUrlVariable]: '' })).toBe(defaultRedisUrl);
    expect(benchRedisUrl({ [redisUrlVariable]: 'redis://10.0.0.9:7000' })).toBe(
      'redis://10.0.0.9:7000',
    );
  });

  it('registers the rows on CI without asking, so a missing Redis fails them there', async () => {
    const probe = vi.fn(async () => 'connect ECONNREFUSED');
    expect(await decideRedisRows({ CI: 'true' }, probe)).toEqual({ register: true });
    expect(probe).not.toHaveBeenCalled();
  });

  it('elsewhere skips them when nothing answers, and says so once per run', async () => {
    const reason = 'connect ECONNREFUSED 127.0.0.1:6379';
    expect(await decideRedisRows({}, async () => reason)).toEqual({
      register: false,
      reason,
      announce: true,
    });
    expect(await decideRedisRows({}, async () => undefined)).toEqual({ register: true });
    // A child process inherits the parent's finding: no second probe, no second message.
    const probe = vi.fn(async () => undefined);
    expect(await decideRedisRows({ [redisSkippedVariable]: reason }, probe)).toEqual({
      register: false,
      reason,
      announce: false,
    });
    expect(probe).not.toHaveBeenCalled();
    const line = skipMessage('redis://127.0.0.1:6379', reason);
    expect(line).toContain('redis://127.0.0.1:6379');
    expect(line).toContain(reason);
    expect(line).toContain('redis-server --daemonize yes');
  });

  it('finds no Redis where none listens', async () => {
    expect(await probeRedis('redis://127.0.0.1:1', 500)).toMatch(/ECONNREFUSED/);
    await expect(connectRow('redis://127.0.0.1:1')).rejects.toThrow(
      /cannot reach Redis at redis:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/,
    );
  });

  it('adds up the script commands of INFO commandstats, and nothing else', () => {
    const info = [
      '# Commandstats',
      'cmdstat_evalsha:calls=40,usec=1000,usec_per_call=25.00,rejected_calls=0,failed_calls=0',
      'cmdstat_eval:calls=2,usec=300,usec_per_call=150.00,rejected_calls=0,failed_calls=0',
      'cmdstat_evalsha_ro:calls=7,usec=70,usec_per_call=10.00,rejected_calls=0,failed_calls=0',
      'cmdstat_get:calls=9,usec=9,usec_per_call=1.00,rejected_calls=0,failed_calls=0',
    ].join('\r\n');
    expect(scriptStats(info)).toEqual({ calls: 42, usec: 1300 });
  });
});

describe('the registered Redis rows', () => {
  it('compare budgetry with the bare script, the tree with the flat permits, all in one process', () => {
    const rows = makeRedisRows({ url, prefixRoot: root });
    const byId = new Map(rows.map((row) => [row.id, row]));
    const target = { label: '≥ 0.9× redis-bare', against: 'redis-bare', atLeast: 0.9 };
    expect(byId.get(redisRowIds.count)?.target).toEqual(target);
    expect(byId.get(redisRowIds.permit)?.target).toEqual(target);
    expect(byId.get(redisRowIds.unbatched)?.reference).toBe(redisRowIds.bare);
    expect(byId.get(redisRowIds.hierarchy)?.reference).toBe(redisRowIds.permit);
    expect(byId.get(redisRowIds.rlf)?.reference).toBe(redisRowIds.bare);
    expect(byId.get(redisRowIds.bare)?.reference).toBe(redisRowIds.ceiling);
    for (const row of rows) {
      for (const id of dependenciesOf(row)) expect(byId.has(id)).toBe(true);
    }
    expect(new Set(rows.map((row) => row.group)).size).toBe(1);
  });
});

describe.skipIf(problem !== undefined)('against Redis', () => {
  const connection = benchRedisForBlock(url, root);
  let redis: Redis;
  beforeAll(() => {
    redis = connection();
  });

  it('registers every row when Redis answers', () => {
    expect(redisRows.map((row) => row.id)).toEqual(Object.values(redisRowIds));
  });

  it('runs each row, exact, and leaves no key behind', async () => {
    const lines: string[] = [];
    const prefixRoot = `${root}:rows`;
    const rows = makeRedisRows({ url, prefixRoot, serverTimedOps: 64, log: (l) => lines.push(l) });
    for (const row of rows) {
      await row.setup?.();
      expect(await row.run(1)).toBe(1);
      expect(await row.run(150)).toBe(150);
      if (row.id !== redisRowIds.ceiling && row.id !== redisRowIds.autoPipelined) {
        const keys = await redis.keys(`${prefixRoot}:${row.id}:*`);
        expect(keys.length).toBeGreaterThan(0);
      }
      await row.teardown?.();
      expect(await redis.keys(`${prefixRoot}:*`)).toEqual([]);
    }
    expect(lines).toHaveLength(rows.length);
    for (const [i, line] of lines.entries()) {
      expect(line).toMatch(
        new RegExp(
          `^bench: ${rows[i]!.id}: exact after 2 runs .*server time \\d+\\.\\d µs per script call, \\d+\\.\\d µs per op`,
        ),
      );
    }
  }, 30_000);

  it('fails a run whose reserves are refused, cleaning up at once (no teardown follows)', async () => {
    const prefixRoot = `${root}:empty`;
    const [row] = makeRedisRows({ url, prefixRoot, capacity: 0, serverTimedOps: 0 }).filter(
      (r) => r.id === redisRowIds.bare,
    );
    await row!.setup?.();
    expect(await redis.keys(`${prefixRoot}:*`)).toEqual([
      `${prefixRoot}:${redisRowIds.bare}:units`,
    ]);
    await expect(row!.run(5)).rejects.toThrow('5 of 5 reserves refused');
    expect(await redis.keys(`${prefixRoot}:*`)).toEqual([]);
  });

  it('fails at teardown when Redis does not hold what the ops left, and still cleans up', async () => {
    const prefixRoot = `${root}:tampered`;
    const rows = makeRedisRows({ url, prefixRoot, capacity: 1_000, serverTimedOps: 0 });
    const row = rows.find((r) => r.id === redisRowIds.count)!;
    await row.setup?.();
    await row.run(10);
    const intruder = new RedisBudget(1_000, {
      redis,
      name: 'count',
      keyPrefix: `${prefixRoot}:${row.id}`,
    });
    expect(await intruder.tryReserve(3)).toBe(true);
    await expect(row.teardown?.()).rejects.toThrow(
      'not exact after 1 runs: available 997 of 1000, held 3',
    );
    expect(await redis.keys(`${prefixRoot}:*`)).toEqual([]);
  });

  it('refuses, in the bare script, a reserve larger than what is left, changing nothing', async () => {
    const prefix = `${root}:bare-empty`;
    const bare = await openBare(redis, prefix, 0);
    expect(await bare.op()).toBe(false);
    expect(await redis.get(`${prefix}:units`)).toBe('0');
    await bare.close();
  });

  // Each subject's check, given a state its ops cannot have left: one unit held elsewhere.
  const tampering: [string, OpenSubject, (prefix: string) => Promise<unknown>][] = [
    ['bare', openBare, (prefix) => redis.decrby(`${prefix}:units`, 1)],
    [
      'count',
      openBudgetCount,
      (prefix) => new RedisBudget(100, { redis, name: 'count', keyPrefix: prefix }).tryReserve(1),
    ],
    [
      'permit',
      openBudgetPermit(),
      (prefix) => new RedisBudget(100, { redis, name: 'permits', keyPrefix: prefix }).tryAcquire(1),
    ],
    [
      'hierarchy',
      openHierarchy,
      (prefix) =>
        new RedisHierarchy(threeLevels(100), { redis, name: 'tree', keyPrefix: prefix })
          .at('acme', 'bob')
          .tryAcquire(1),
    ],
    [
      'rate-limiter-flexible',
      openRateLimiterFlexible,
      (prefix) =>
        new RateLimiterRedis({
          storeClient: redis,
          keyPrefix: `${prefix}:rlf`,
          points: 100,
          duration: 3_600,
        }).consume('tenant', 1),
    ],
  ];
  it.each(tampering)('checks %s exactly', async (label, open, tamper) => {
    const prefix = `${root}:check-${label}`;
    const subject = await open(redis, prefix, 100);
    for (let i = 0; i < 5; i++) expect(await subject.op()).toBe(true);
    expect(await subject.verify(5)).toBeUndefined();
    await tamper(prefix);
    expect(await subject.verify(5)).toMatch(/\d/);
    await subject.close();
  });

  it('deletes only the keys under the prefix, reading it literally', async () => {
    const inside = `${root}:glob*:1`;
    const beside = `${root}:globby:1`;
    await redis.set(inside, '1');
    await redis.set(beside, '1');
    expect(await deleteKeysUnder(redis, `${root}:glob*`)).toBe(1);
    expect(await redis.exists(inside, beside)).toBe(1);
    await expect(deleteKeysUnder(redis, '')).rejects.toThrow('the prefix is empty');
  });

  it("reads the server's time per script call", async () => {
    const measured = await serverMicrosPerScript(redis, async () => {
      for (let i = 0; i < 20; i++) await redis.eval('return 1', 0);
    });
    expect(measured?.calls).toBeGreaterThanOrEqual(20);
    expect(measured?.perCall).toBeGreaterThan(0);
    expect(Number.isFinite(measured?.perCall)).toBe(true);
  });
});
