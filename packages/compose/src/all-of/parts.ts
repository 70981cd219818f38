import {
  type BudgetCapabilities,
  type BudgetPermit,
  PermitCode,
  type SyncBudgetGuard,
  type SyncBudgetPermit,
} from '@budgetry/core';
import { type MemberKey, memberFailure, settleEach } from '../internal/member-list.js';
import { waitOf } from '../internal/member-wait.js';

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
 * @returns whether any part's permit answered `true` (this call settled it).
 * @throws BudgetError for the first member that failed, after every part was tried.
 */
export async function settleParts(
  parts: readonly BudgetPermit[],
  to: number,
  used: number | undefined,
  keys: readonly MemberKey[],
): Promise<boolean> {
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
  return results.some((r) => r.status === 'fulfilled' && r.value === true);
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

/**
 * @internal What member `i` is charged for a reservation of `cost`: its fixed charge, or the
 * cost itself when it has none (`fixed[i]` below 0) or the cost is 0 (which charges nobody).
 */
export function chargeOf(fixed: readonly number[], i: number, cost: number): number {
  const f = fixed[i]!;
  return f < 0 || cost === 0 ? cost : f;
}

/**
 * @internal The smallest capacity among the members charged the reserved cost (`fixed[i]`
 * below 0; a fixed charge bounds nothing about the cost).
 */
export function smallestCapacity(
  members: readonly SyncBudgetGuard[],
  fixed: readonly number[],
): number {
  let c = Number.MAX_SAFE_INTEGER;
  for (let i = 0; i < members.length; i++) {
    if (fixed[i]! < 0) c = Math.min(c, members[i]!.capacity);
  }
  return c;
}

/** @internal The largest cost every member could take right now (0 when a fixed charge cannot). */
export function commonAvailable(
  members: readonly SyncBudgetGuard[],
  fixed: readonly number[],
): number {
  let a = Number.MAX_SAFE_INTEGER;
  for (let i = 0; i < members.length; i++) {
    const m = members[i]!;
    const f = fixed[i]!;
    if (f < 0) a = Math.min(a, m.available());
    else if (m.available() < f) return 0;
  }
  return a;
}

/**
 * @internal How long until `cost` fits every member: 0 when it fits now, the longest member
 * wait, or `undefined` when a member that cannot take its charge now cannot say when (see
 * `waitOf`: a waiting line with anyone in line cannot, though it has room).
 */
export function longestWait(
  members: readonly SyncBudgetGuard[],
  fixed: readonly number[],
  cost: number,
): number | undefined {
  let wait = 0;
  for (let i = 0; i < members.length; i++) {
    const ms = waitOf(members[i]!, chargeOf(fixed, i, cost));
    if (ms === undefined) return undefined;
    wait = Math.max(wait, ms);
  }
  return wait;
}
