import { describe, expect, it } from 'vitest';
import {
  formatCheckedRatio,
  formatRatio,
  formatTable,
  formatTimePerOp,
  formatValue,
} from './format-table.js';
import type { RowResult } from './row-result.js';
import { referenceResult } from './test-fixtures.js';

describe('formatValue', () => {
  it('scales ops/s to k and M', () => {
    expect(formatValue(193_200_000, 'ops/s')).toBe('193.2 M/s');
    expect(formatValue(812_040, 'ops/s')).toBe('812.0 k/s');
    expect(formatValue(950.4, 'ops/s')).toBe('950/s');
  });

  it('prints bytes as B', () => {
    expect(formatValue(120.4, 'bytes')).toBe('120 B');
    expect(formatValue(4.25, 'bytes')).toBe('4.3 B');
  });
});

describe('formatTimePerOp', () => {
  it('prints 1 ÷ ops/s in ns, µs or ms', () => {
    expect(formatTimePerOp(2e6)).toBe('500 ns');
    expect(formatTimePerOp(81_300)).toBe('12.3 µs');
    expect(formatTimePerOp(4_000)).toBe('250 µs');
    expect(formatTimePerOp(800)).toBe('1.25 ms');
  });
});

describe('formatCheckedRatio', () => {
  it('adds a digit only when two would print the bound a figure missed or just met', () => {
    expect(formatCheckedRatio(0.7482, 0.75)).toBe('0.748×');
    expect(formatCheckedRatio(0.7501, 0.75)).toBe('0.750×');
    expect(formatCheckedRatio(0.0799, 0.08)).toBe('0.0799×');
    expect(formatCheckedRatio(0.75, 0.75)).toBe('0.75×');
    expect(formatCheckedRatio(0.31, 0.3)).toBe('0.31×');
    expect(formatCheckedRatio(0.7482, undefined)).toBe('0.75×');
  });
});

describe('formatRatio', () => {
  it('keeps two decimals, or two significant digits below 0.1', () => {
    expect(formatRatio(0.0031234)).toBe('0.0031×');
    expect(formatRatio(0.8)).toBe('0.80×');
    expect(formatRatio(0.9996)).toBe('1.00×');
    expect(formatRatio(14.714)).toBe('14.71×');
  });
});

describe('formatTable', () => {
  const base = referenceResult;
  const row: RowResult = {
    ...base,
    id: 'budgetry-sync',
    name: 'budgetry pair',
    group: 'budgetry',
    reference: 'plain-sync',
    ratio: 0.4,
    targets: [
      { label: '≥ 0.5× plain-sync', against: 'plain-sync', atLeast: 0.5, value: 0.4, met: false },
    ],
    status: 'short',
  };
  const failed: RowResult = {
    ...base,
    id: 'bad',
    name: 'bad row',
    group: 'budgetry',
    summary: null,
    error: 'boom',
  };
  const lines = formatTable([base, row, failed]).split('\n');

  it('prints a header, a rule, and a heading line per group', () => {
    expect(lines[0]).toMatch(/^\| row +\| median +\| min +\| max +\| ratio to reference/);
    expect(lines[1]).toMatch(/^\| -+ \| -+ \|/);
    expect(lines.filter((line) => line.includes('**references**'))).toHaveLength(1);
    expect(lines.filter((line) => line.includes('**budgetry**'))).toHaveLength(1);
  });

  it('shows the ratio with its reference, the target with its figure, and the verdict', () => {
    const line = lines.find((l) => l.startsWith('| budgetry pair'))!;
    expect(line).toContain('0.40× plain-sync');
    expect(line).toContain('≥ 0.5× plain-sync (0.40×)');
    expect(line).toMatch(/\| short +\|$/);
  });

  it('marks references and shows a failed row’s error', () => {
    expect(lines.find((l) => l.startsWith('| plain pair'))).toContain('| reference ');
    expect(lines.find((l) => l.startsWith('| bad row'))).toContain('error: boom');
  });

  it('pads every line to the same width', () => {
    expect(new Set(lines.map((line) => line.length)).size).toBe(1);
  });
});
