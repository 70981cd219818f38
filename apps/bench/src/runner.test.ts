import { describe, expect, it } from 'vitest';
import type { MemoryRow, ThroughputRow } from './row.js';
import type { RunSettings } from './run-settings.js';
import { runRows } from './runner.js';

const tiny: RunSettings = {
  mode: 'default',
  rounds: 3,
  warmupRounds: 1,
  primeMs: 5,
  sliceMs: 1,
  memoryRounds: 2,
};

function countingRow(
  id: string,
  order: string[],
): ThroughputRow & { calls: Record<string, number> } {
  const calls = { setup: 0, run: 0, teardown: 0 };
  return {
    kind: 'throughput',
    id,
    name: id,
    group: 'g',
    calls,
    setup() {
      calls.setup++;
    },
    run(iterations) {
      calls.run++;
      order.push(id);
      let sum = 0;
      for (let i = 0; i < iterations; i++) sum += i;
      return sum;
    },
    teardown() {
      calls.teardown++;
    },
  };
}

describe('runRows', () => {
  it('takes one sample per round per row, with setup and teardown once each', async () => {
    const order: string[] = [];
    const a = countingRow('a', order);
    const b = countingRow('b', order);
    const [ma, mb] = await runRows([a, b], tiny);
    expect(ma!.samples).toHaveLength(3);
    expect(mb!.samples).toHaveLength(3);
    expect(ma!.samples.every((s) => Number.isFinite(s) && s > 0)).toBe(true);
    expect(ma!.iterations).toBeGreaterThanOrEqual(1);
    expect([a.calls.setup, a.calls.teardown, b.calls.setup, b.calls.teardown]).toEqual([
      1, 1, 1, 1,
    ]);
  });

  it('calls each row in small batches before its first long call', async () => {
    const sizes: number[] = [];
    const row: ThroughputRow = {
      kind: 'throughput',
      id: 'sizes',
      name: 'sizes',
      group: 'g',
      run(iterations) {
        sizes.push(iterations);
        return iterations;
      },
    };
    await runRows([row], { ...tiny, primeMs: 1_000 });
    // A call of 64 ops is near-instant: priming stops at its call limit, not its time limit.
    expect(sizes.slice(0, 2_000)).toEqual(Array.from({ length: 2_000 }, () => 64));
    expect(sizes[2_000]).toBe(1); // calibration starts from one op
  });

  it('interleaves rows within each round, starting each round at a different row', async () => {
    const order: string[] = [];
    await runRows([countingRow('a', order), countingRow('b', order)], tiny);
    // The last six runs are the three timed rounds: a b, then b a, then a b.
    expect(order.slice(-6)).toEqual(['a', 'b', 'b', 'a', 'a', 'b']);
  });

  it('awaits async rows', async () => {
    let finished = 0;
    const row: ThroughputRow = {
      kind: 'throughput',
      id: 'async',
      name: 'async',
      group: 'g',
      async run(iterations) {
        await Promise.resolve();
        finished += iterations;
        return iterations;
      },
    };
    const [m] = await runRows([row], tiny);
    expect(m!.samples).toHaveLength(3);
    expect(finished).toBeGreaterThan(0);
  });

  it('takes a self-timed row’s own time instead of the wall time of its run', async () => {
    const row: ThroughputRow = {
      kind: 'throughput',
      id: 'self-timed',
      name: 'self-timed',
      group: 'g',
      // Each op "took" 0.5 ms by the row's clock, however long the call really was.
      run: (iterations) => ({ value: iterations, ms: iterations * 0.5 }),
    };
    const [m] = await runRows([row], tiny);
    expect(m!.error).toBeUndefined();
    expect(m!.samples).toEqual([2000, 2000, 2000]);
    // Calibrated on the row's time too: about one 1 ms slice, i.e. 2 ops.
    expect(m!.iterations).toBe(2);
  });

  it('fails a self-timed row that reports no positive time', async () => {
    const async: ThroughputRow = {
      kind: 'throughput',
      id: 'zero',
      name: 'zero',
      group: 'g',
      run: async (iterations) => ({ value: iterations, ms: 0 }),
    };
    const [m] = await runRows([async], tiny);
    expect(m!.error).toBe('row zero timed its run as 0 ms; a positive time is needed');
    expect(m!.samples).toEqual([]);
  });

  it('records a failing row’s error and keeps measuring the others', async () => {
    const failing: ThroughputRow = {
      kind: 'throughput',
      id: 'bad',
      name: 'bad',
      group: 'g',
      run() {
        throw new Error('boom');
      },
    };
    const [bad, good] = await runRows([failing, countingRow('good', [])], tiny);
    expect(bad!.error).toBe('boom');
    expect(bad!.samples).toEqual([]);
    expect(good!.samples).toHaveLength(3);
  });

  it('runs memory rows for their own round count after one discarded warm-up', async () => {
    const seen: number[] = [];
    const memory: MemoryRow = {
      kind: 'memory',
      id: 'mem',
      name: 'mem',
      group: 'g',
      count: 1,
      quickRounds: 1,
      measure: () => {
        seen.push(seen.length);
        return 100 + seen.length;
      },
    };
    const [full] = await runRows([memory], tiny);
    expect(full!.samples).toEqual([102, 103]);
    seen.length = 0;
    const [quick] = await runRows([memory], { ...tiny, mode: 'quick' });
    expect(quick!.samples).toEqual([102]);
  });
});
