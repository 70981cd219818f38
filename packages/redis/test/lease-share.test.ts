// How a lease pool divides its capacity: the TypeScript specification, checked by properties,
// and the pool's Lua script checked against it on random inputs (the script decides grants).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LEASE_SCRIPT, leaseConfig, leasePoolKeys } from '../src/lease-script.js';
import { type LeaseShareAlgorithm, type LeaseWant, leaseShares } from '../src/lease-share.js';
import { ScriptRunner } from '../src/script-runner.js';
import { fileRedis } from './helpers/budgets.js';
import { redisReady, uniquePrefix } from './helpers/redis.js';

const redis = await fileRedis();

const algorithms: LeaseShareAlgorithm[] = ['equal', 'proportional'];
const wantsArb = (max: number) =>
  fc
    .uniqueArray(fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/), { minLength: 1, maxLength: 12 })
    .chain((ids) =>
      fc.tuple(...ids.map((id) => fc.nat({ max }).map((want): LeaseWant => ({ id, want })))),
    );
const input = fc.record({
  capacity: fc.nat({ max: 1_000 }),
  wants: wantsArb(1_500),
  algorithm: fc.constantFrom(...algorithms),
});
const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

describe('leaseShares', () => {
  it('never gives out more than the capacity, nor anyone more than it wants', () => {
    fc.assert(
      fc.property(input, ({ capacity, wants, algorithm }) => {
        const shares = leaseShares(capacity, wants, algorithm);
        const total = sum(wants.map((w) => w.want));
        // Nothing is left unused that someone wants: the shares add up to min(capacity, wants).
        expect(sum(shares)).toBe(Math.min(capacity, total));
        shares.forEach((s, i) => {
          expect(Number.isSafeInteger(s) && s >= 0).toBe(true);
          expect(s).toBeLessThanOrEqual(wants[i]!.want);
        });
      }),
    );
  });

  it('splits evenly (within one unit) when every process wants the same', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 1_000 }),
        fc.integer({ min: 1, max: 20 }),
        fc.nat({ max: 1_000 }),
        (capacity, n, want) => {
          const wants = Array.from({ length: n }, (_, i) => ({ id: `p${i}`, want }));
          for (const algorithm of algorithms) {
            const shares = leaseShares(capacity, wants, algorithm);
            expect(Math.max(...shares) - Math.min(...shares)).toBeLessThanOrEqual(1);
            expect(Math.min(...shares)).toBe(Math.min(want, Math.floor(capacity / n)));
          }
        },
      ),
    );
  });

  it('equal: a process that gets less than it wants gets at least anyone else’s share − 1', () => {
    fc.assert(
      fc.property(input, ({ capacity, wants }) => {
        const shares = leaseShares(capacity, wants, 'equal');
        const top = Math.max(...shares);
        shares.forEach((s, i) => {
          if (s < wants[i]!.want) expect(s).toBeGreaterThanOrEqual(top - 1);
        });
      }),
    );
  });

  it('proportional: over-subscribed, each share is within one unit of capacity × want / Σ wants', () => {
    fc.assert(
      fc.property(input, ({ capacity, wants }) => {
        const total = sum(wants.map((w) => w.want));
        fc.pre(total > capacity);
        const shares = leaseShares(capacity, wants, 'proportional');
        shares.forEach((s, i) => {
          expect(Math.abs(s - (wants[i]!.want * capacity) / total)).toBeLessThan(1);
        });
      }),
    );
  });

  it('divides examples as documented', () => {
    const wants = [
      { id: 'a', want: 10 },
      { id: 'b', want: 30 },
      { id: 'c', want: 60 },
    ];
    expect(leaseShares(50, wants, 'equal')).toEqual([10, 20, 20]);
    expect(leaseShares(50, wants, 'proportional')).toEqual([5, 15, 30]);
    expect(leaseShares(100, wants, 'equal')).toEqual([10, 30, 60]);
    expect(leaseShares(10, wants.slice(1), 'equal')).toEqual([5, 5]);
  });
});

describe.skipIf(!redisReady)('the pool script', () => {
  it('divides exactly as leaseShares, on random inputs', async () => {
    const keys = leasePoolKeys(uniquePrefix('share'), 'share');
    await fc.assert(
      fc.asyncProperty(
        input,
        fc.constantFrom(1, 2 ** 40, Number.MAX_SAFE_INTEGER),
        async ({ capacity, wants, algorithm }, scale) => {
          // Besides small numbers, huge ones, where the arithmetic is floating point.
          const cap = scale === 1 ? capacity : Math.min(capacity * scale, Number.MAX_SAFE_INTEGER);
          const scaled = wants.map((w) => ({
            id: w.id,
            want: Math.min(w.want * scale, Number.MAX_SAFE_INTEGER),
          }));
          const runner = new ScriptRunner(
            redis!,
            LEASE_SCRIPT,
            keys,
            leaseConfig(cap, algorithm),
            5_000,
            'share',
          );
          const args = scaled.flatMap((w) => [w.id, String(w.want)]);
          const fromLua = (await runner.run('sim', args)).map(Number);
          expect(fromLua).toEqual(leaseShares(cap, scaled, algorithm));
          expect(sum(fromLua)).toBeLessThanOrEqual(cap);
        },
      ),
      { numRuns: 150 },
    );
  });
});
