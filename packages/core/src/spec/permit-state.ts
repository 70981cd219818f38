import type { PermitState } from './budget-guard.js';

/**
 * The permit state table every permit in budgetry uses: a permit keeps a small integer
 * (cheap to compare and store in a hot path) and names it through {@link permitStateOf}.
 * A permit leaves `held` once, for `released` or `committed`.
 *
 * @example
 * ```ts
 * import { PermitCode, permitStateOf } from '@budgetry/core';
 *
 * let code: number = PermitCode.held;
 * if (code === PermitCode.held) code = PermitCode.committed;
 * console.log(permitStateOf(code)); // 'committed'
 * ```
 */
export const PermitCode = Object.freeze({ held: 0, released: 1, committed: 2 } as const);

const names: readonly PermitState[] = ['held', 'released', 'committed'];

/**
 * The name of a {@link PermitCode}.
 *
 * @param code - 0, 1 or 2.
 * @returns `held`, `released` or `committed`.
 *
 * @example
 * ```ts
 * import { PermitCode, permitStateOf } from '@budgetry/core';
 * console.log(permitStateOf(PermitCode.released)); // 'released'
 * ```
 */
export function permitStateOf(code: number): PermitState {
  return names[code]!;
}
