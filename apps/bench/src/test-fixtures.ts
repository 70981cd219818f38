import type { MachineInfo } from './machine-info.js';
import type { RowResult } from './row-result.js';

/** A machine description for tests that build reports. */
export const testMachine: MachineInfo = {
  node: 'v20.0.0',
  v8: '11',
  platform: 'linux',
  arch: 'x64',
  cpu: 'Test CPU',
  cores: 2,
  memoryGiB: 24,
  date: '2026-01-01T00:00:00.000Z',
};

/** The result of a reference row (`plain-sync`), for tests to spread and adjust. */
export const referenceResult: RowResult = {
  id: 'plain-sync',
  name: 'plain pair',
  group: 'references',
  process: 'references',
  unit: 'ops/s',
  summary: { median: 2e8, min: 1e8, max: 3e8 },
  rounds: 3,
  reference: null,
  ratio: null,
  targets: [],
  status: null,
  error: null,
};
