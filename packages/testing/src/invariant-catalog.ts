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
  | 'E1'
  | 'L1';

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
  G1: '0 ≤ available ≤ capacity at every read',
  G2: 'never over-admit: a reservation is granted only if it fits at some instant of its call',
  G3: 'available() equals the ledger (capacity − held − committed) at some instant of the read, in flight and at rest',
  G4: 'black-box: at rest, reserving exactly the free units succeeds and one more unit is denied',
  G5: 'cost 0 granted, cost above capacity denied, invalid amounts rejected without effect',
  G6: 'no false denials: a denial is explained by the units free at some instant of its call',
  P1: 'a permit settles exactly once: one settle returns true, the rest false and refund nothing; it says the cost granted, and its state (held, then released or committed)',
  T1: 'tokensConsumed() = the sum of recorded usage, each reservation counted once',
  T2: 'a reservation carries its estimate and is recorded at most once, only by the budget that issued it; its state says armed, then settled',
  T3: 'available() and debt() match the ledger: overage owed in full, paid first by refunds and refills',
  T4: 'a reservation succeeds only if its estimate fits, and is not denied when it fits',
  T5: 'a reservation refunds exactly once, on dispose or through the refund disarm() hands back',
  AO1: 'all-of: a success charges every member its cost',
  AO2: 'all-of: a denial only when some member lacks, and after a denial or a member exception every member is back where it was',
  AO3: 'all-of: releasing the handle frees each member exactly once',
  AN1: 'any-of: a success charges exactly one member, the one the handle names',
  AN2: 'any-of: a denial charges no member, and only when no member could serve',
  AN3: 'any-of: releasing the handle refunds its member exactly once',
  HI1: 'hierarchy: a child reservation is also a reservation on the parent, and no node holds more than its capacity',
  HI2: 'hierarchy: a denial only when the child or the parent lacks, and it rolls back both',
  HI3: 'hierarchy: releasing the handle frees the child and the parent exactly once',
  R1: 'refill: 0 ≤ available ≤ capacity after every refill',
  R2: 'refill: one epoch per boundary crossed, none between boundaries',
  R3: 'refill: a stale refill (a late timer) changes nothing',
  R4: 'refill: the policy holds exactly (reset: full, older holds fenced; carry: held reservations move into the new epoch)',
  R5: 'refill: debt is paid first, and a held reservation carried into a new epoch is charged once, never also as old debt',
  E1: 'a valid call resolves: it rejects only with a declared TIMEOUT, or as the contract allows (OVER_RELEASE when strict, ALREADY_SETTLED for a second settle)',
  L1: 'every call settles: none is still out after timeoutMs',
});
