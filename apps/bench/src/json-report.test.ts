import { describe, expect, it } from 'vitest';
import {
  buildJsonReport,
  jsonSchemaVersion,
  parseJsonReport,
  rowResultsFromJson,
} from './json-report.js';
import type { RowResult } from './row-result.js';
import { quickSettings } from './run-settings.js';
import { testMachine } from './test-fixtures.js';

const machine = testMachine;

const throughputResult: RowResult = {
  id: 'budgetry-sync',
  name: 'AtomicBudget sync pair',
  group: 'budgetry',
  process: 'budgetry',
  unit: 'ops/s',
  summary: { median: 100, min: 90, max: 110 },
  rounds: 3,
  reference: 'plain-sync',
  ratio: 0.8,
  targets: [{ label: '≥ 0.5×', against: 'plain-sync', atLeast: 0.5, value: 0.8, met: true }],
  status: 'met',
  error: null,
};

const memoryResult: RowResult = {
  ...throughputResult,
  id: 'memory-budget-1 M',
  unit: 'bytes',
  summary: { median: 120, min: 120, max: 121 },
  reference: null,
  ratio: null,
  targets: [{ label: '≤ 200 B', atMost: 200, value: null, met: null }],
  status: 'n/a',
};

describe('buildJsonReport', () => {
  const report = buildJsonReport({
    machine,
    settings: quickSettings,
    durationMs: 1234.6,
    isolation: 'per-process',
    processes: [
      {
        name: 'budgetry',
        owned: ['budgetry-sync', 'memory-budget-1 M'],
        measured: ['plain-sync', 'budgetry-sync', 'memory-budget-1 M'],
        nodeFlags: [],
        durationMs: 1000.4,
        error: null,
      },
    ],
    sink: 42,
    results: [throughputResult, memoryResult],
  });

  it('records machine, settings, schema version and a whole-millisecond duration', () => {
    expect(report).toMatchObject({
      schemaVersion: jsonSchemaVersion,
      machine,
      settings: { mode: 'quick' },
      durationMs: 1235,
    });
  });

  it('records how rows were spread over processes, with each process’s rows and time', () => {
    expect(jsonSchemaVersion).toBe(2);
    expect(report.isolation).toBe('per-process');
    expect(report.processes).toEqual([
      {
        name: 'budgetry',
        owned: ['budgetry-sync', 'memory-budget-1 M'],
        measured: ['plain-sync', 'budgetry-sync', 'memory-budget-1 M'],
        nodeFlags: [],
        durationMs: 1000,
        error: null,
      },
    ]);
  });

  it('gives each throughput row its ops/s, ratio and targets with met/short', () => {
    expect(report.rows[0]).toEqual({
      id: 'budgetry-sync',
      name: 'AtomicBudget sync pair',
      group: 'budgetry',
      process: 'budgetry',
      unit: 'ops/s',
      opsPerSec: { median: 100, min: 90, max: 110 },
      bytesPerObject: null,
      rounds: 3,
      reference: 'plain-sync',
      ratio: 0.8,
      targets: [
        {
          label: '≥ 0.5×',
          against: 'plain-sync',
          atLeast: 0.5,
          atMost: null,
          value: 0.8,
          status: 'met',
        },
      ],
      status: 'met',
      error: null,
    });
  });

  it('puts memory figures under bytesPerObject and an unchecked target as n/a', () => {
    const row = report.rows[1]!;
    expect(row.opsPerSec).toBeNull();
    expect(row.bytesPerObject).toEqual({ median: 120, min: 120, max: 121 });
    expect(row.targets[0]).toMatchObject({ against: null, atLeast: null, status: 'n/a' });
  });

  it('survives a JSON round trip unchanged', () => {
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });
});

describe('parseJsonReport and rowResultsFromJson', () => {
  const results = [throughputResult, memoryResult, failedResult()];
  const report = buildJsonReport({
    machine,
    settings: quickSettings,
    durationMs: 1,
    isolation: 'one-process',
    processes: [],
    sink: 0,
    results,
  });

  it('gives back the results the report was built from', () => {
    const parsed = parseJsonReport(JSON.stringify(report));
    expect(rowResultsFromJson(parsed)).toEqual(results);
  });

  it('refuses a report of another schema version', () => {
    expect(() => parseJsonReport(JSON.stringify({ ...report, schemaVersion: 1 }))).toThrow(
      /schema version 2 \(found 1\)/,
    );
    expect(() => parseJsonReport('null')).toThrow(/schema version/);
  });
});

function failedResult(): RowResult {
  return {
    ...throughputResult,
    id: 'bad',
    summary: null,
    rounds: 0,
    ratio: null,
    targets: [{ label: '≥ 0.5×', against: 'plain-sync', atLeast: 0.5, value: null, met: null }],
    status: 'n/a',
    error: 'process "budgetry": exited with code 1',
  };
}
