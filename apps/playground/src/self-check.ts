import { hierarchy } from '@budgetry/compose';
import { AtomicBudget, AtomicTokenBudget } from '@budgetry/core';
import { ConformanceError, checkGuard, checkTokenBudget } from '@budgetry/testing';

/** Options for the self-check. */
export interface SelfCheckOptions {
  /** Where progress lines go. */
  log: (line: string) => void;
  /** Property runs per subject (default 100: a smoke pass; CI runs the full kit). */
  numRuns?: number;
}

/**
 * Runs the conformance kit of `@budgetry/testing` over the kinds of budget the scenarios
 * used: the same check a team would run against its own backend.
 *
 * @param options - logger and run count.
 * @returns the failures, as readable lines.
 */
export async function runSelfCheck(options: SelfCheckOptions): Promise<{ violations: string[] }> {
  const numRuns = options.numRuns ?? 100;
  const violations: string[] = [];
  const subjects: [string, () => Promise<unknown>][] = [
    [
      'AtomicBudget',
      () =>
        checkGuard(({ capacity }) => new AtomicBudget(capacity), {
          numRuns,
          capabilities: { available: true, permits: true, refill: { policy: 'reset' } },
        }),
    ],
    [
      'AtomicTokenBudget',
      () =>
        checkTokenBudget(({ capacity }) => new AtomicTokenBudget(capacity), {
          numRuns,
          capabilities: { available: true, debt: true, refill: { policy: 'reset' } },
        }),
    ],
    [
      'hierarchy tenant',
      () =>
        // A tenant node, declared without refill: only the root of a hierarchy refills.
        checkGuard(
          ({ capacity }) => hierarchy({ capacity, children: { capacity } }).child('tenant'),
          {
            numRuns,
            capabilities: { available: true, permits: true },
          },
        ),
    ],
  ];
  options.log('');
  options.log(`conformance self-check (@budgetry/testing, ${numRuns} runs each):`);
  for (const [name, check] of subjects) {
    try {
      await check();
      options.log(`  ${name.padEnd(18)} ok`);
    } catch (error) {
      const line = ConformanceError.isInstance(error)
        ? `${name}: ${error.invariant} — replay with ${error.replayLine}`
        : `${name}: ${error instanceof Error ? error.message : String(error)}`;
      options.log(`  ${line}`);
      violations.push(line);
    }
  }
  return { violations };
}
