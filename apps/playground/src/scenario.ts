import { formatClock } from './format.js';
import { LIMITS, TIME_ZONE } from './gateway.js';
import type { RunResult } from './result.js';
import type { TenantProfile } from './tenants.js';

/** One simulated step. */
export const STEP_MS = 250;
/** 23:55 on 13 March 2026 in New York: the daily dollar cap refills five minutes in. */
export const START_MS = Date.parse('2026-03-14T03:55:00Z');

/**
 * What a run was: the header of the report and the `scenario` of `--json`.
 *
 * @param run - its seed and length, where its budgets lived, its tenants, and how its calls
 * were made when not by the scenario's own code (`--ai-sdk`).
 * @returns the description.
 */
export function describeScenario(run: {
  readonly seed: number;
  readonly minutes: number;
  readonly backend: string;
  readonly profiles: readonly TenantProfile[];
  readonly calls: string | undefined;
}): RunResult['scenario'] {
  return {
    seed: run.seed,
    minutes: run.minutes,
    backend: run.backend,
    timeZone: TIME_ZONE,
    start: new Date(START_MS).toISOString(),
    startLocal: formatClock(START_MS, TIME_ZONE, false),
    stepMs: STEP_MS,
    limits: LIMITS,
    tenants: run.profiles.map(({ name, kind }) => ({ name, kind })),
    ...(run.calls !== undefined && { calls: run.calls }),
  };
}
