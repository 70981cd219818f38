/**
 * Every invariant the kit checks, by stable id. The ids are part of the public contract:
 * they name tests, appear in {@link ConformanceError} messages and select invariants in
 * `options.invariants`, so they never change meaning.
 *
 * @example
 * ```ts
 * import type { InvariantId } from '@budgetry/testing';
 * const ids: InvariantId[] = ['G3', 'R4'];
 * ```
 */
export type InvariantId =
  | 'G1'
  | 'G2'
  | 'G3'
  | 'G4'
  | 'G5'
  | 'G6'
  | 'P1'
  | 'T1'
  | 'T2'
  | 'T3'
  | 'T4'
  | 'T5'
  | 'AO1'
  | 'AO2'
  | 'AO3'
  | 'AN1'
  | 'AN2'
  | 'AN3'
  | 'HI1'
  | 'HI2'
  | 'HI3'
  | 'R1'
  | 'R2'
  | 'R3'
  | 'R4'
  | 'R5'
  | 'RM1'
  | 'RM2';

/**
 * One line per invariant id, as shown in test names and reports.
 *
 * @example
 * ```ts
 * import { invariantSummaries } from '@budgetry/testing';
 * console.log(invariantSummaries.G3);
 * ```
 */
export const invariantSummaries: Readonly<Record<InvariantId, string>> = Object.freeze({
  G1: '0 ≤ available ≤ capacity at every observation',
  G2: 'never over-admit: units held by the harness never exceed capacity',
  G3: 'C − H − F ≤ available ≤ C − H at every observation, available = C − H at quiescence',
  G4: 'black-box: at quiescence tryReserve(C − H) succeeds and then tryReserve(1) fails',
  G5: 'cost 0 granted, cost above capacity denied, invalid amounts rejected without effect',
  G6: 'no false denials: a denial is explained by some point of the call’s window',
  P1: 'a permit settles exactly once: one settle returns true, the rest false and refund nothing',
  T1: 'tokensConsumed = sum of recorded usage, each handle counted once, never decreasing',
  T2: 'a reservation is recorded at most once and only by the budget that issued it',
  T3: 'available − debt = C − E − consumed in the epoch (exact debt) at quiescence',
  T4: 'a reservation succeeds only if its estimate ≤ available, and no false denials',
  T5: 'a disposed or disarmed-then-refunded reservation refunds exactly once',
  AO1: 'all-of: a success charges every member its cost',
  AO2: 'all-of: after a denial or a member exception every member is back where it was',
  AO3: 'all-of: releasing the handle frees each member exactly once',
  AN1: 'any-of: a success charges exactly one member, the one the handle names',
  AN2: 'any-of: a denial charges no member, and only when no member could serve',
  AN3: 'any-of: releasing the handle refunds its member exactly once',
  HI1: 'hierarchy: a child reservation is also a reservation on the parent',
  HI2: 'hierarchy: a denial on either side rolls back both',
  HI3: 'hierarchy: Σ children held + parent own held = parent held ≤ parent capacity',
  R1: 'refill: 0 ≤ available ≤ capacity right after every refill',
  R2: 'refill: exactly one refill per epoch boundary crossed, none between boundaries',
  R3: 'refill: a stale refill (a late timer, a repeated tick) is ignored',
  R4: 'refill: the policy holds exactly (reset: full, older holds fenced; carry: C − held)',
  R5: 'refill: debt is paid first (available − debt = C − held − debt before the refill)',
  RM1: 'remote: with timed-out calls indeterminate, available stays within the bounds',
  RM2: 'remote: a timed-out recordUsage counts at most once in tokensConsumed',
});
