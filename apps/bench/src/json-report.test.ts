import { describe, expect, it } from 'vitest';
import { buildJsonReport, jsonSchemaVersion } from './json-report.js';
import type { MachineInfo } from './machine-info.js';
import type { RowResult } from './row-result.js';
import { quickSettings } from './run-settings.js';

const machine: MachineInfo = {
  node: 'v20.0.0',
  v8: '11',
  platform: 'linux',
  arch: 'x64',
  cpu: 'Test CPU',
  cores: 2,
  memoryGiB: 24,
  date: '2026-01-01T00:00:00.000Z',
};

const throughputResult: RowResult = {
  id: 'budgetry-sync',
  name: 'AtomicBudget sync pair',
  group: 'budgetry',
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

  it('gives each throughput row its ops/s, ratio and targets with met/short', () => {
    expect(report.rows[0]).toEqual({
      id: 'budgetry-sync',
      name: 'AtomicBudget sync pair',
      group: 'budgetry',
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
