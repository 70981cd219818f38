import { describe, expect, it } from 'vitest';
import type { SelfTimed, ThroughputRow } from '../row.js';
import { sharedMemoryRows, sharedWorkersRunning, stripedOpenOptions } from './shared-memory.js';
import { median, nowNs, spinNs } from './shared-memory-control.js';

describe('shared-memory control helpers', () => {
  it('takes the median of an odd or even count, numerically', () => {
    expect(median(new Float64Array([30, 4, 200]))).toBe(30);
    expect(median(new Float64Array([10, 2, 4, 100]))).toBe(7);
    expect(() => median(new Float64Array(0))).toThrow(RangeError);
  });

  it('reads a nanosecond clock that moves forward, and spins for at least the time asked', () => {
    const start = nowNs();
    spinNs(200_000);
    expect(nowNs() - start).toBeGreaterThanOrEqual(200_000);
  });
});

describe('sharedMemoryRows', () => {
  const byId = (id: string): ThroughputRow => {
    const row = sharedMemoryRows.find((r) => r.id === id);
    if (row === undefined) throw new Error(`no row ${id}`);
    return row;
  };

  it('measures striped handles with the slice it names', () => {
    const row = byId('shared-striped-2w');
    expect(row.name).toContain(`slice ${stripedOpenOptions.slice}`);
    expect(row.target).toEqual({ label: '≥ 40 M/s', atLeast: 40e6 });
  });

  it('checks the budget against the BigInt64 CAS word and shows its ratio to the Int32 one', () => {
    const budget = byId('shared-budget-2w');
    expect(budget.reference).toBe('shared-cas-int32-2w');
    expect(budget.target).toEqual({
      label: '≥ 0.8× shared-cas-bigint64-2w',
      against: 'shared-cas-bigint64-2w',
      atLeast: 0.8,
    });
    expect(byId('shared-wake').reference).toBe('message-port-rtt');
    expect(byId('shared-wake').target).toBeUndefined();
  });

  it('runs every row in two workers, exactly, and terminates the workers after the last', async () => {
    const rows = [...sharedMemoryRows];
    try {
      for (const row of rows) await row.setup?.call(row);
      expect(sharedWorkersRunning()).toBe(true);
      for (const row of rows) {
        const result = await row.run(2_001);
        if (typeof result === 'number') {
          // Pairs rows return how many reserves were granted: all of them.
          expect(result, row.id).toBe(2_001);
        } else {
          const timed = result as SelfTimed;
          expect(timed.value, row.id).toBe(2_001);
          expect(timed.ms, row.id).toBeGreaterThan(0);
        }
      }
    } finally {
      for (const row of rows) await row.teardown?.call(row);
    }
    expect(sharedWorkersRunning()).toBe(false);
  }, 60_000);
});
