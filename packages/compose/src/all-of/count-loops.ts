import type { BudgetError, SyncBudgetGuard } from '@budgetry/core';
import { chargedBy } from '../internal/count-ledger.js';
import { type MemberKey, memberFailure } from '../internal/member-list.js';
import { type CountApi, unreserve } from './rollback.js';

/**
 * @internal An all-of's members as its count loops see them. `calls[i]` is what member
 * `i`'s count calls go to (the member, or what its own count API forwards to); `fixed[i]` is
 * its fixed charge, or −1 when it is charged the cost; `probes[i]` says whether its
 * availability is read before charging it, to tell whether a member that threw had charged.
 */
export interface CountMembers {
  readonly keys: readonly MemberKey[];
  readonly members: readonly SyncBudgetGuard[];
  readonly calls: readonly CountApi[];
  readonly fixed: readonly number[];
  readonly probes: readonly boolean[];
}

/**
 * @internal Charges `cost` on every member (uniform charges, members that fail clean) in
 * one tight loop, or on none.
 *
 * @returns whether every member reserved; on a denial the earlier members are released.
 * @throws BudgetError naming the member that threw, after releasing the earlier ones.
 */
export function reserveEach(all: CountMembers, cost: number): boolean {
  const each = all.calls;
  const n = each.length;
  let i = 0;
  try {
    while (i < n && each[i]!.tryReserveSync(cost)) i++;
  } catch (error) {
    unreserve(all.members, all.fixed, i, cost);
    throw memberFailure(error, all.keys[i]!);
  }
  if (i === n) return true;
  unreserve(all.members, all.fixed, i, cost);
  return false;
}

/**
 * @internal Charges every member its share (`cost`, or its fixed charge), or none; a member
 * with a probe has its availability read first, so that if it throws, whether it charged
 * is known (see `chargedBy`) and it is rolled back only if it did.
 */
export function reserveProbed(all: CountMembers, cost: number): boolean {
  const { members, calls, fixed, probes } = all;
  const n = members.length;
  let i = 0;
  let before = Number.NaN;
  try {
    for (; i < n; i++) {
      const f = fixed[i]!;
      before = Number.NaN;
      if (probes[i]) before = members[i]!.available();
      if (!calls[i]!.tryReserveSync(f < 0 ? cost : f)) break;
    }
  } catch (error) {
    // NaN (not read: a member that fails clean, or the read threw) counts as uncharged.
    const f = fixed[i]!;
    const charged = chargedBy(members[i]!, f < 0 ? cost : f, before);
    unreserve(members, fixed, charged ? i + 1 : i, cost);
    throw memberFailure(error, all.keys[i]!);
  }
  if (i === n) return true;
  unreserve(members, fixed, i, cost);
  return false;
}

/**
 * @internal Releases every member's share of `cost`. A member that throws does not keep the
 * others from being released.
 *
 * @throws BudgetError naming the first member that threw, after the rest were released.
 */
export function releaseEvery(all: CountMembers, cost: number): void {
  const { calls, fixed } = all;
  const n = calls.length;
  let i = 0;
  try {
    for (; i < n; i++) {
      const f = fixed[i]!;
      calls[i]!.releaseSync(f < 0 ? cost : f);
    }
  } catch (error) {
    for (let j = i + 1; j < n; j++) {
      const f = fixed[j]!;
      try {
        calls[j]!.releaseSync(f < 0 ? cost : f);
      } catch {
        // The first failure is the one reported.
      }
    }
    throw memberFailure(error, all.keys[i]!);
  }
}

/**
 * @internal The error of a two-member reservation whose member at `step` threw (2: the
 * first member's rollback after the second denied). Members fail clean, so the one that
 * threw charged nothing; after the second threw, the first is released.
 */
export function pairFailure(
  all: CountMembers,
  error: unknown,
  step: number,
  cost: number,
): BudgetError {
  if (step === 1) unreserve(all.members, all.fixed, 1, cost);
  return memberFailure(error, all.keys[step === 1 ? 1 : 0]!);
}

/** @internal A two-member release that failed at member `step`: the second is still released. */
export function pairReleaseFailure(
  all: CountMembers,
  error: unknown,
  step: number,
  cost: number,
): BudgetError {
  if (step === 0) {
    try {
      all.calls[1]!.releaseSync(cost);
    } catch {
      // The first failure is the one reported.
    }
  }
  return memberFailure(error, all.keys[step]!);
}
