/** How long and how often rows are measured. */
export interface RunSettings {
  readonly mode: 'quick' | 'default';
  /** Timed rounds; every round measures every row once, round-robin. */
  readonly rounds: number;
  /** Untimed rounds first, so the JIT has optimized every row before timing starts. */
  readonly warmupRounds: number;
  /** How long each throughput row is called in small batches before calibration (see `prime`). */
  readonly primeMs: number;
  /** Target duration of one sample of one row. */
  readonly sliceMs: number;
  /** Rounds for memory rows unless a row asks for fewer in quick mode. */
  readonly memoryRounds: number;
}

/** Under a minute on a 2-core machine. */
export const quickSettings: RunSettings = {
  mode: 'quick',
  rounds: 7,
  warmupRounds: 1,
  primeMs: 200,
  sliceMs: 25,
  memoryRounds: 3,
};

/** A few minutes at most; enough rounds for a stable median on a shared machine. */
export const defaultSettings: RunSettings = {
  mode: 'default',
  rounds: 21,
  warmupRounds: 2,
  primeMs: 200,
  sliceMs: 120,
  memoryRounds: 5,
};
