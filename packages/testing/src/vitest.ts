import { describe, it } from 'vitest';
import type { CheckReport } from './check-guard.js';
import type { CheckOptions } from './check-options.js';
import { type InvariantId, invariantSummaries } from './invariant-catalog.js';

/** A check function of the kit, e.g. `checkGuard` bound to a factory. */
export type BoundCheck = (options: CheckOptions) => Promise<CheckReport>;

/**
 * Declares a vitest `describe` block with one `it` per invariant, each running `check` for
 * that invariant alone. Invariants that do not apply to the subject are reported as skipped.
 *
 * @param name - the describe block's title, e.g. the backend's name.
 * @param ids - the invariants to declare, e.g. `guardInvariants('white-box')`.
 * @param check - the kit check bound to your factory.
 * @param options - options passed to every invariant's check.
 * @param timeoutMs - per-test timeout (default 60 000 ms).
 * @returns nothing; declares tests.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import { checkGuard, guardInvariants } from '@budgetry/testing';
 * import { describeConformance } from '@budgetry/testing/vitest';
 *
 * describeConformance('AtomicBudget', guardInvariants(), (o) =>
 *   checkGuard(({ capacity }) => new AtomicBudget(capacity), o),
 * );
 * ```
 */
export function describeConformance(
  name: string,
  ids: readonly InvariantId[],
  check: BoundCheck,
  options: CheckOptions = {},
  timeoutMs = 60_000,
): void {
  describe(name, () => {
    for (const id of ids) {
      it(
        `${id}: ${invariantSummaries[id]}`,
        async (context) => {
          const report = await check({ ...options, invariants: [id] });
          if (report.skipped.includes(id)) context.skip();
        },
        timeoutMs,
      );
    }
  });
}
