import type { SyncBudgetGuard } from '@budgetry/core';
import { chargedBy } from '../internal/count-ledger.js';
import { isOwnView } from '../internal/member-kind.js';
import { type MemberKey, memberFailure } from '../internal/member-list.js';
import { SyncTokenGuard } from '../token-guard/index.js';

/** @internal The count API a member's count reservations go through. */
export interface CountApi {
  tryReserveSync(cost: number): boolean;
  releaseSync(cost: number): void;
}

/**
 * @internal For a member that `failsClean`: the object whose count API its own count API
 * calls. A token guard view allOf made over core's `AtomicTokenBudget` forwards both calls to
 * the budget unchanged, so calling the budget directly does the same thing with one call fewer;
 * a view the caller made and holds is called as it is.
 */
export function countApiOf(member: SyncBudgetGuard): CountApi {
  if (Object.getPrototypeOf(member) !== SyncTokenGuard.prototype || !isOwnView(member)) {
    return member;
  }
  // A view the combinator made itself (nobody else holds it) whose count calls go to the
  // budget: `failsClean` checked that the budget is one of core's plain token budgets.
  const view = member as SyncTokenGuard;
  const counter = view.counter;
  return counter !== undefined && (counter as object) === view.tokens ? counter : member;
}

/**
 * @internal Releases the charges of members `0 … upTo − 1` of an all-of, after a denial or a
 * member's failure (`fixed[i] < 0`: member `i` was charged `cost`).
 */
export function unreserve(
  members: readonly SyncBudgetGuard[],
  fixed: readonly number[],
  upTo: number,
  cost: number,
): void {
  for (let j = 0; j < upTo; j++) {
    const f = fixed[j]!;
    try {
      members[j]!.releaseSync(f < 0 ? cost : f);
    } catch {
      // The original denial or failure is what the caller needs; a member that also fails
      // to roll back is already broken and will fail its next call too.
    }
  }
}

/**
 * @internal Reserves `cost` on both members of an all-of pair of which one may throw after
 * charging: each member's availability is read just before it is charged, so a member that
 * throws is rolled back too when it fell by exactly `cost` (see `chargedBy`).
 *
 * @returns whether both reserved (on a denial nothing is held).
 * @throws BudgetError naming the member that threw, after rolling back what was charged.
 */
export function reserveProbedPair(
  members: readonly SyncBudgetGuard[],
  keys: readonly MemberKey[],
  cost: number,
): boolean {
  const a = members[0]!;
  const b = members[1]!;
  // step: 0 reading a, 1 charging a, 2 reading b, 3 charging b, 4 rolling a back.
  let step = 0;
  let before = 0;
  try {
    before = a.available();
    step = 1;
    if (!a.tryReserveSync(cost)) return false;
    step = 2;
    before = b.available();
    step = 3;
    if (!b.tryReserveSync(cost)) {
      step = 4;
      a.releaseSync(cost);
      return false;
    }
    return true;
  } catch (error) {
    if (step === 4) throw memberFailure(error, keys[0]!);
    const at = step < 2 ? 0 : 1;
    const charged = (step === 1 || step === 3) && chargedBy(members[at]!, cost, before);
    unreserve(members, [-1, -1], charged ? at + 1 : at, cost);
    throw memberFailure(error, keys[at]!);
  }
}
