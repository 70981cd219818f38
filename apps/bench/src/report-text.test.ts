import { describe, expect, it } from 'vitest';
import { formatTable } from './format-table.js';
import { buildJsonReport, type JsonReport } from './json-report.js';
import { describeRun, describeVerdicts, formatReport } from './report-text.js';
import type { RowResult } from './row-result.js';
import { defaultSettings, quickSettings } from './run-settings.js';
import { referenceResult, testMachine } from './test-fixtures.js';

const machine = testMachine;

const reference = referenceResult;

const short: RowResult = {
  ...reference,
  id: 'mine',
  name: 'my pair',
  group: 'budgetry',
  process: 'budgetry',
  reference: 'plain-sync',
  ratio: 0.4,
  targets: [{ label: '≥ 0.5×', against: 'plain-sync', atLeast: 0.5, value: 0.4, met: false }],
  status: 'short',
};

const met: RowResult = { ...short, id: 'met', name: 'met pair', ratio: 0.6, status: 'met' };
const failed: RowResult = { ...reference, id: 'bad', name: 'bad', summary: null, error: 'boom' };

function report(overrides: Partial<JsonReport> = {}): JsonReport {
  return {
    ...buildJsonReport({
      machine,
      settings: quickSettings,
      durationMs: 61_234,
      isolation: 'per-process',
      processes: [
        { name: 'references', owned: [], measured: [], nodeFlags: [], durationMs: 1, error: null },
        { name: 'budgetry', owned: [], measured: [], nodeFlags: [], durationMs: 1, error: null },
      ],
      sink: 12_345,
      results: [reference, short, met],
    }),
    ...overrides,
  };
}

describe('formatReport', () => {
  it('prints machine, run line, the table and the verdicts, in that order', () => {
    const text = formatReport(report());
    const parts = text.split('\n\n');
    expect(parts).toHaveLength(4);
    expect(parts[0]).toBe(
      'Node v20.0.0 (V8 11), Test CPU, 2 cores, 24 GiB, linux/x64, 2026-01-01T00:00:00.000Z',
    );
    expect(parts[1]).toMatch(/^quick run: 7 rounds per throughput row/);
    expect(parts[2]).toBe(formatTable([reference, short, met]));
    expect(parts[3]).toMatch(/^1 targets met, 1 short\. /);
  });
});

describe('describeRun', () => {
  it('says how many processes ran and how long the run took', () => {
    expect(describeRun(report())).toBe(
      'quick run: 7 rounds per throughput row (median, min, max of ops/s), memory rows after ' +
        'them (rounds as listed; 1 M: a single round), one process per row group ' +
        '(2 processes, in table order), took 61.2 s',
    );
  });

  it('says when every row ran in one process, and the default mode’s memory rounds', () => {
    const line = describeRun(report({ isolation: 'one-process', settings: defaultSettings }));
    expect(line).toMatch(/^default run: 21 rounds/);
    expect(line).toContain('1 M: 3 rounds');
    expect(line).toContain('all rows in one process (--one-process)');
  });
});

describe('describeVerdicts', () => {
  it('counts met and short rows, failed rows, and prints the sink modulo 1000', () => {
    expect(describeVerdicts([reference, short, met, failed], 12_345)).toBe(
      '1 targets met, 1 short, 1 rows failed. Ratios are per-round medians against rows ' +
        'measured in the same process and rounds. (sink 345)',
    );
  });

  it('leaves failures out when nothing failed', () => {
    expect(describeVerdicts([met], 0)).toMatch(/^1 targets met, 0 short\. /);
  });
});
