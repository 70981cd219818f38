import { describe, expect, it } from 'vitest';
import type { BenchRow, MemoryRow, ThroughputRow } from './row.js';
import { toRowResults } from './row-result.js';
import type { Measurement } from './runner.js';

function throughput(id: string, extra: Partial<ThroughputRow> = {}): ThroughputRow {
  return { kind: 'throughput', id, name: id, group: 'g', run: () => 0, ...extra };
}

function measured(row: BenchRow, samples: number[], error?: string): Measurement {
  return error === undefined ? { row, samples } : { row, samples, error };
}

describe('toRowResults', () => {
  it('takes the ratio to the reference and checks targets against the named row', () => {
    const reference = throughput('ref');
    const peer = throughput('peer');
    const row = throughput('row', {
      reference: 'ref',
      target: [
        { label: 'half', against: 'ref', atLeast: 0.5 },
        { label: '3× peer', against: 'peer', atLeast: 3 },
      ],
    });
    const [, , result] = toRowResults(
      [
        measured(reference, [100, 200, 300]),
        measured(peer, [50, 50, 50]),
        measured(row, [60, 120, 150]),
      ],
      'p',
    );
    expect(result!.ratio).toBe(0.6);
    expect(result!.summary).toEqual({ median: 120, min: 60, max: 150 });
    expect(result!.targets.map((t) => [t.value, t.met])).toEqual([
      [0.6, true],
      [2.4, false],
    ]);
    expect(result!.status).toBe('short');
  });

  it('records the process every result was measured in', () => {
    const results = toRowResults(
      [measured(throughput('a'), [1]), measured(throughput('b'), [2])],
      'peers',
    );
    expect(results.map((r) => r.process)).toEqual(['peers', 'peers']);
  });

  it('reports n/a, not a guess, when the row a target needs was not measured', () => {
    const row = throughput('row', { target: { label: 'x', against: 'absent', atLeast: 1 } });
    const [result] = toRowResults([measured(row, [1, 2, 3])], 'p');
    expect(result!.targets[0]!.met).toBeNull();
    expect(result!.status).toBe('n/a');
  });

  it('checks an absolute target against the row’s own median, in its unit', () => {
    const row: MemoryRow = {
      kind: 'memory',
      id: 'mem',
      name: 'mem',
      group: 'g',
      count: 10,
      target: { label: '≤ 200 B', atMost: 200 },
      measure: () => 0,
    };
    const [result] = toRowResults([measured(row, [150, 120, 300])], 'p');
    expect(result!.unit).toBe('bytes');
    expect(result!.targets[0]).toMatchObject({ value: 150, met: true });
  });

  it('keeps a failed row with its error and no summary', () => {
    const [result] = toRowResults([measured(throughput('bad'), [], 'boom')], 'p');
    expect(result).toMatchObject({ summary: null, error: 'boom', rounds: 0, ratio: null });
  });
});
