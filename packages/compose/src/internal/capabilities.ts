import { type BudgetCapabilities, capabilitiesOf } from '@budgetry/core';

/** @internal What a wrapper declares: what it wraps, never schedulable, with `changes`. */
export function forwarded(
  inner: unknown,
  changes: Partial<BudgetCapabilities>,
): BudgetCapabilities {
  return Object.freeze({ ...capabilitiesOf(inner), schedulable: false, ...changes });
}

/** @internal What a combinator declares from its members' declarations. */
export function combined(
  members: readonly unknown[],
  own: { readonly sync: boolean; readonly uniform: boolean },
): BudgetCapabilities {
  const caps = members.map(capabilitiesOf);
  // Count release and partial commit pass through only when every member has them and
  // every member is charged the same cost (fixed charges keep their own amounts).
  const every = (flag: 'countRelease' | 'partialCommit') =>
    own.uniform && caps.every((c) => c[flag]);
  return Object.freeze({
    sync: own.sync,
    countRelease: every('countRelease'),
    partialCommit: every('partialCommit'),
    retryHint: true,
    refill: undefined,
    schedulable: false,
  });
}
