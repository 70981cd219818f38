import {
  type BudgetCapabilities,
  type BudgetPermit,
  PermitCode,
  type SyncBudgetPermit,
} from '@budgetry/core';
import { type MemberKey, memberFailure, settleEach } from '../internal/member-list.js';

/** @internal Permit state codes. */
export const { held: HELD, released: RELEASED, committed: COMMITTED } = PermitCode;

/** @internal The parts of a zero-cost permit: none. */
export const noParts: never[] = [];

/** @internal Whether a permit over `parts` can commit part of `cost` on every member. */
export function partialOk(
  caps: BudgetCapabilities,
  parts: readonly { readonly cost: number }[],
  cost: number,
): boolean {
  return caps.partialCommit && parts.every((p) => p.cost === cost);
}

/** @internal Throws the first of `errors` (from the members at `at`), wrapped, if any. */
export function settleError(errors: unknown[], keys: readonly MemberKey[], at: number[]): void {
  if (errors.length > 0) throw memberFailure(errors[0], keys[at[0]!]!);
}

/**
 * @internal Settles every part of an asynchronous all-of reservation, whatever happens: a
 * failing member must not strand the others. A part that fails stays as its member left it
 * (still held unless the member settled it before failing); settling the same parts again
 * settles only what is still held, since a member's permit answers `false` once settled.
 *
 * @throws BudgetError for the first member that failed, after every part was tried.
 */
export async function settleParts(
  parts: readonly BudgetPermit[],
  to: number,
  used: number | undefined,
  keys: readonly MemberKey[],
): Promise<void> {
  const results = await settleEach(parts, (p) => (to === RELEASED ? p.release() : p.commit(used)));
  const errors: unknown[] = [];
  const at: number[] = [];
  results.forEach((r, i) => {
    if (r.status === 'rejected') {
      errors.push(r.reason);
      at.push(i);
    }
  });
  settleError(errors, keys, at);
}

/**
 * @internal Rolls back the parts a failed or denied reservation took. The original denial or
 * failure is what the caller needs; a member that also fails to roll back is already broken
 * and will fail its next call too.
 */
export function releaseAll(parts: readonly SyncBudgetPermit[]): void {
  for (const p of parts) {
    try {
      p.releaseSync();
    } catch {
      // The first failure is the one reported.
    }
  }
}
