// Several processes leasing slices of one pool. An auditor merges every process's log of
// admissions (each interval widened to cover the real one, on one shared clock) and checks
// that the units admitted at any instant, across all processes, never exceed the capacity;
// meanwhile the leases in Redis are sampled and their sum checked too. And a process killed
// with -9 while holding its whole slice: the slice comes back when the lease runs out, once.
import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { type LeaseShareAlgorithm, RedisLeasedBudget } from '../src/index.js';
import { leasePoolKeys } from '../src/lease-script.js';
import { fileRedis } from './helpers/budgets.js';
import { firstLine, killChildren, output, spawnTs } from './helpers/child.js';
import { redisReady, sharedPort, uniquePrefix } from './helpers/redis.js';

const redis = await fileRedis();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface WorkerResult {
  log: [number, number, number][];
  snapshot: { denials: number; lapses: number; renewals: number };
}

/** The most units admitted at once across all logs: reservations count first at a tie. */
function peakAdmitted(logs: readonly (readonly [number, number, number])[]): number {
  const events: [number, number][] = [];
  for (const [from, to, units] of logs) events.push([from, units], [to, -units]);
  events.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  let now = 0;
  let peak = 0;
  for (const [, delta] of events) {
    now += delta;
    peak = Math.max(peak, now);
  }
  return peak;
}

async function leasedInRedis(keyPrefix: string, name: string): Promise<number> {
  const records = await redis!.hvals(leasePoolKeys(keyPrefix, name)[1]!);
  return records.reduce((s, r) => s + Number(r.split('|')[0]), 0);
}

describe.skipIf(!redisReady)('a fleet of processes on one lease pool', () => {
  // A test that failed early leaves children waiting for their start key: kill them.
  afterEach(killChildren);
  it('checks the auditor: it finds overlapping admissions beyond capacity', () => {
    expect(
      peakAdmitted([
        [0, 10, 3],
        [5, 6, 4],
        [10, 11, 2],
      ]),
    ).toBe(7);
    expect(
      peakAdmitted([
        [0, 10, 3],
        [10, 11, 2],
      ]),
    ).toBe(5); // a tie counts as overlap
  });

  it.each<LeaseShareAlgorithm>(['equal', 'proportional'])(
    'never admits past capacity at any instant (%s shares), audited across processes',
    async (algorithm) => {
      const port = await sharedPort();
      const keyPrefix = uniquePrefix('leased-fleet');
      const capacity = 30;
      const children = Array.from({ length: 3 }, (_, i) =>
        spawnTs('packages/redis/test/fixtures/leased-worker.ts', [
          String(port),
          keyPrefix,
          'fleet',
          String(capacity),
          algorithm,
          '400',
          '1500',
          String(7 + i),
        ]),
      );
      const outputs = children.map((child) => output(child));
      expect(await Promise.all(children.map(firstLine))).toEqual(children.map(() => 'ready'));
      await redis!.set(`${keyPrefix}:go`, '1');
      let sampling = true;
      let samples = 0;
      const sampler = (async () => {
        while (sampling) {
          expect(await leasedInRedis(keyPrefix, 'fleet')).toBeLessThanOrEqual(capacity);
          samples++;
          await sleep(10);
        }
      })();
      const results = (await Promise.all(outputs)).map(
        (out) => JSON.parse(out.trim().split('\n').at(-1)!) as WorkerResult,
      );
      sampling = false;
      await sampler;
      expect(samples).toBeGreaterThan(20);
      const peak = peakAdmitted(results.flatMap((r) => r.log));
      expect(peak).toBeLessThanOrEqual(capacity);
      // The pool was contended: near full at some point, processes refused, all served.
      expect(peak).toBeGreaterThanOrEqual(capacity * 0.6);
      expect(results.reduce((s, r) => s + r.snapshot.denials, 0)).toBeGreaterThan(0);
      for (const r of results) {
        expect(r.log.length).toBeGreaterThan(50);
        expect(r.snapshot.lapses).toBe(0);
        expect(r.snapshot.renewals).toBeGreaterThan(5);
      }
      // Every process closed with nothing held: nothing is leased any more.
      expect(await leasedInRedis(keyPrefix, 'fleet')).toBe(0);
    },
    30_000,
  );

  it('gets back the slice of a process killed with -9 when its lease runs out, once', async () => {
    const port = await sharedPort();
    const keyPrefix = uniquePrefix('leased-kill');
    const leaseMs = 1_000;
    const holder: ChildProcess = spawnTs('packages/redis/test/fixtures/leased-holder.ts', [
      String(port),
      keyPrefix,
      'kill',
      '20',
      String(leaseMs),
    ]);
    expect(await firstLine(holder)).toBe('held 20');
    const survivor = await RedisLeasedBudget.open(20, {
      redis: redis!,
      keyPrefix,
      name: 'kill',
      leaseMs,
      wants: () => 20,
    });
    expect(survivor.leased()).toBe(0);
    await sleep(600); // the holder renews (every 500 ms) and still holds its 20
    const exited = new Promise((r) => holder.once('exit', r));
    holder.kill('SIGKILL');
    await exited;
    const killedAt = performance.now();
    // Until its lease runs out, the dead holder's slice stays leased: nobody gets it.
    await survivor.renewNow();
    expect(survivor.leased()).toBe(0);
    expect(await survivor.pool()).toMatchObject({ leased: 20, clients: 2, expiredLeases: 0 });
    while ((await survivor.pool()).expiredLeases === 0) await sleep(20);
    const strandedMs = performance.now() - killedAt;
    expect(strandedMs).toBeLessThanOrEqual(leaseMs + 200);
    await survivor.renewNow();
    expect(survivor.leased()).toBe(20);
    expect(survivor.tryReserveSync(20)).toBe(true);
    for (let i = 0; i < 3; i++) {
      expect(await survivor.pool()).toMatchObject({
        leased: 20,
        clients: 1,
        expiredLeases: 1,
        expiredUnits: 20,
      });
    }
    survivor.releaseSync(20);
    await survivor.close();
  }, 20_000);
});
