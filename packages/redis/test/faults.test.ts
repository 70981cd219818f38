// Faults on a private redis-server: scripts flushed mid-run, the server killed with -9 and
// restarted under load, the client's connection dropped, commands timing out, a holder process
// killed with leases out. After each: no overspend, errors typed with their cause, leases
// back, the budget usable again.
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BudgetError } from '@budgetry/core';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisBudget, type RedisBudgetOptions, type RedisPermit } from '../src/index.js';
import { firstLine, killChildren, spawnTs } from './helpers/child.js';
import { client, PrivateRedis, privateReady, uniquePrefix } from './helpers/redis.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  await killChildren();
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function server(persist = false): Promise<PrivateRedis> {
  const dir = persist ? mkdtempSync(join(tmpdir(), 'budgetry-redis-')) : undefined;
  const s = await PrivateRedis.start(dir);
  cleanup.push(() => s.kill());
  if (dir !== undefined) cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return s;
}

function connect(port: number, options = {}): Redis {
  const redis = client(port, options);
  cleanup.push(() => redis.disconnect());
  return redis;
}

function ready(redis: Redis): Promise<unknown> {
  return redis.status === 'ready' ? Promise.resolve() : once(redis, 'ready');
}

function budget(redis: Redis, capacity: number, extra: Partial<RedisBudgetOptions> = {}) {
  return new RedisBudget(capacity, {
    redis,
    name: 'fleet',
    keyPrefix: uniquePrefix('faults'),
    ...extra,
  });
}

/** Settles `permit` whatever it takes: a settle is idempotent, so retrying is always safe. */
async function settle(permit: RedisPermit, used: number, errors: unknown[]): Promise<void> {
  for (;;) {
    try {
      await permit.commit(used);
      return;
    } catch (error) {
      errors.push(error);
      await sleep(20);
    }
  }
}

function expectInfraError(error: unknown): void {
  expect(BudgetError.isInstance(error)).toBe(true);
  const e = error as BudgetError;
  expect(['BACKEND', 'TIMEOUT']).toContain(e.code);
  if (e.code === 'BACKEND') {
    expect(e.cause).toBeDefined();
    expect(typeof e.details?.['backendCode']).toBe('string');
  }
}

describe.skipIf(!privateReady)('faults on a private redis-server', () => {
  it('reloads its script after SCRIPT FLUSH mid-run, losing and doubling nothing', async () => {
    const s = await server();
    const redis = connect(s.port);
    const admin = connect(s.port);
    const b = budget(redis, 1_000);
    let used = 0;
    let flushes = 0;
    const worker = async (w: number) => {
      for (let i = 0; i < 60; i++) {
        const p = (await b.tryAcquire(5))!;
        expect(p).not.toBeNull();
        const u = (w + i) % 6;
        expect(await p.commit(u)).toBe(true);
        used += u;
        if (i % 15 === 7) {
          await admin.script('FLUSH');
          flushes++;
        }
      }
    };
    await Promise.all([0, 1, 2, 3].map(worker));
    const snap = await b.snapshot();
    expect(flushes).toBe(16);
    expect(snap.scriptReloads).toBeGreaterThanOrEqual(1);
    expect(snap).toMatchObject({ available: 1_000 - used, held: 0, leases: 0 });
  });

  it('never admits past capacity across kill -9 and a restart under load', async () => {
    const s = await server(true);
    const redis = connect(s.port);
    const b = budget(redis, 120, { timeoutMs: 300, leaseMs: 1_500 });
    const errors: unknown[] = [];
    let granted = 0;
    let stop = false;
    const worker = async () => {
      while (!stop) {
        try {
          const p = await b.tryAcquire(1);
          if (p === null) {
            await sleep(5);
            continue;
          }
          granted++;
          await settle(p, 1, errors);
        } catch (error) {
          errors.push(error);
          await sleep(10);
        }
      }
    };
    const workers = [worker(), worker(), worker()];
    await sleep(100);
    await s.kill();
    await sleep(400);
    await s.restart();
    await sleep(1_000);
    stop = true;
    await Promise.all(workers);
    expect(errors.length).toBeGreaterThan(0);
    for (const error of errors) expectInfraError(error);
    await sleep(1_600); // a lease granted but never answered, if any, expires
    await b.reclaimExpired();
    const snap = await b.snapshot();
    expect(granted).toBeLessThanOrEqual(120);
    // Every unit is either committed by an acknowledged grant or available again.
    expect(120 - snap.available).toBeGreaterThanOrEqual(granted);
    expect(snap).toMatchObject({ held: 0, leases: 0 });
    // Usable again.
    await b.refill();
    expect(await b.tryReserve(120)).toBe(true);
  }, 20_000);

  it('comes back from a dropped connection with every unit accounted for', async () => {
    const s = await server();
    const redis = connect(s.port);
    const admin = connect(s.port);
    const b = budget(redis, 5_000);
    let used = 0;
    const errors: unknown[] = [];
    const worker = async (w: number) => {
      for (let i = 0; i < 400; i++) {
        let p: RedisPermit | null = null;
        try {
          p = await b.tryAcquire(3);
        } catch (error) {
          errors.push(error);
          continue;
        }
        expect(p).not.toBeNull();
        const u = (w * 7 + i) % 4;
        await settle(p!, u, errors);
        used += u;
      }
    };
    let finished = false;
    const done = Promise.all([0, 1, 2, 3].map(worker)).finally(() => {
      finished = true;
    });
    let killed = 0;
    while (!finished && killed < 3) {
      await sleep(25);
      killed += Number(await admin.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes'));
    }
    await done;
    expect(killed).toBeGreaterThanOrEqual(3);
    for (const error of errors) expectInfraError(error);
    await sleep(50); // abandons of failed acquires are on their way
    expect(await b.snapshot()).toMatchObject({ available: 5_000 - used, held: 0, leases: 0 });
  }, 20_000);

  it('times a command out with TIMEOUT, then settles the lease it took', async () => {
    const s = await server();
    const redis = connect(s.port);
    const admin = connect(s.port);
    const b = budget(redis, 10, { timeoutMs: 80 });
    expect(await b.available()).toBe(10);
    await admin.client('PAUSE', 300, 'ALL');
    const acquire = await b.tryAcquire(4).catch((e: unknown) => e);
    const reserve = await b.tryReserve(3).catch((e: unknown) => e);
    for (const error of [acquire, reserve]) {
      expect(BudgetError.isInstance(error) && error.code).toBe('TIMEOUT');
      expect((error as BudgetError).details?.['timeoutMs']).toBe(80);
    }
    await sleep(350);
    // Both ran once the pause ended. The lease was released right behind its request; the
    // count reservation stays in the pool, for a count release to return.
    expect(await b.snapshot()).toMatchObject({ available: 7, countHeld: 3, leases: 0 });
    await b.release(3);
    expect(await b.available()).toBe(10);
  });

  it('fails open on request: grants locally, reports the failure, settles locally', async () => {
    const s = await server();
    const redis = connect(s.port, { maxRetriesPerRequest: 0, enableOfflineQueue: false });
    await ready(redis);
    const failures: BudgetError[] = [];
    const open = budget(redis, 10, { failure: 'open', onFailOpen: (e) => failures.push(e) });
    const closed = budget(redis, 10);
    expect(await open.tryReserve(6)).toBe(true);
    await s.kill();
    expect(await open.tryReserve(8)).toBe(true); // unbacked
    const p = (await open.tryAcquire(9))!;
    expect(p.backed).toBe(false);
    expectInfraError(await closed.tryReserve(1).catch((e: unknown) => e));
    expect(failures).toHaveLength(2);
    for (const f of failures) expectInfraError(f);
    expect(await p.release()).toBe(true);
    await open.release(8); // the unbacked units, returned locally
    await s.restart();
    await ready(redis);
    // The server came back empty (no persistence): the budget starts full and works.
    expect(await open.tryReserve(10)).toBe(true);
    expect(await open.available()).toBe(0);
  });

  it('gets back the leases of a process killed while holding them, once', async () => {
    const s = await server();
    const redis = connect(s.port);
    const keyPrefix = uniquePrefix('holder');
    const b = new RedisBudget(20, { redis, keyPrefix, name: 'shared', leaseMs: 400 });
    const child = spawnTs('packages/redis/test/fixtures/holder.ts', [
      String(s.port),
      keyPrefix,
      'shared',
      '20',
      '400',
      '12',
    ]);
    cleanup.push(() => child.kill('SIGKILL'));
    expect(await firstLine(child)).toBe('held 12');
    child.kill('SIGKILL');
    expect(await b.available()).toBe(8);
    expect(await b.tryReserve(9)).toBe(false); // nothing over-admitted while they are out
    await sleep(500);
    expect(await b.reclaimExpired()).toMatchObject({ leases: 12, units: 12, refunded: 12 });
    expect(await b.reclaimExpired()).toMatchObject({ leases: 0 });
    expect(await b.snapshot()).toMatchObject({ available: 20, expiredLeases: 12, leases: 0 });
  }, 20_000);
});
