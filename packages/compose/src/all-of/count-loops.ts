import { AtomicBudget, AtomicTokenBudget, BudgetError, type SyncBudgetGuard } from '@budgetry/core';
import { chargedBy } from '../internal/count-ledger.js';
import { failsClean } from '../internal/member-kind.js';
import { type MemberKey, memberFailure } from '../internal/member-list.js';
import { type CountApi, countApiOf, unreserve } from './rollback.js';

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
  /** The members when all are core budgets charged the cost (see {@link coreCounters}). */
  readonly core: readonly CoreCounter[] | undefined;
}

/**
 * @internal How an all-of's count loops see `members`: a member that does not fail clean is
 * probed and called as it is; one that does is called through `countApiOf`.
 */
export function countMembersOf(
  keys: readonly MemberKey[],
  members: readonly SyncBudgetGuard[],
  fixed: readonly number[],
): CountMembers {
  const probes = members.map((m) => !failsClean(m));
  const calls = members.map((m, i) => (probes[i] ? m : countApiOf(m)));
  return { keys, members, calls, fixed, probes, core: coreCounters(calls, fixed, probes) };
}

/**
 * @internal Core's budgets whose counts a combinator may change in place, with a `cost` it
 * checked, after asking (`countFits` / `countHolds`) whether their own method would do just
 * that with nobody to tell.
 */
export type CoreCounter = AtomicBudget | AtomicTokenBudget;

/**
 * `calls` when each is an `AtomicBudget` or `AtomicTokenBudget` (not a subclass, not a Proxy)
 * that fails clean and is charged the cost, else `undefined`. Members are distinct (allOf
 * refuses one given twice), so no two positions share counts.
 */
function coreCounters(
  calls: readonly CountApi[],
  fixed: readonly number[],
  probes: readonly boolean[],
): CoreCounter[] | undefined {
  for (let i = 0; i < calls.length; i++) {
    const c = calls[i]!;
    const proto: unknown = Object.getPrototypeOf(c);
    // `isOwn` turns away a Proxy of a budget, which could be a second position of one budget.
    const core =
      (proto === AtomicBudget.prototype && AtomicBudget.isOwn(c)) ||
      (proto === AtomicTokenBudget.prototype && AtomicTokenBudget.isOwn(c));
    if (!core || fixed[i]! >= 0 || probes[i]) return undefined;
  }
  return calls as CoreCounter[];
}

/**
 * The capacity of the budget that fills an empty core position: the largest a small integer
 * holds on every platform V8 runs on. A capacity past it would turn the fields of every
 * `AtomicBudget` in the process into boxed doubles (V8 keeps one field layout per class), and
 * a cost past it only sends that call the general way.
 */
const FILLER_CAPACITY = 2 ** 30 - 1;

/** @internal Core position `i`, or a budget of its own that nobody observes when there is none. */
export function corePosition(core: readonly CoreCounter[], i: number): CoreCounter {
  return core[i] ?? new AtomicBudget(FILLER_CAPACITY, { leakBackstop: false });
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
    // Unrolled up to eight members: each position is a call site of its own, which learns only
    // the member classes found at that position, so V8 inlines them; the loop's one call site
    // learns every class of every position and inlines none once it has seen too many.
    if (n <= 8) {
      if (each[0]!.tryReserveSync(cost)) i = 1;
      if (i === 1 && n > 1 && each[1]!.tryReserveSync(cost)) i = 2;
      if (i === 2 && n > 2 && each[2]!.tryReserveSync(cost)) i = 3;
      if (i === 3 && n > 3 && each[3]!.tryReserveSync(cost)) i = 4;
      if (i === 4 && n > 4 && each[4]!.tryReserveSync(cost)) i = 5;
      if (i === 5 && n > 5 && each[5]!.tryReserveSync(cost)) i = 6;
      if (i === 6 && n > 6 && each[6]!.tryReserveSync(cost)) i = 7;
      if (i === 7 && n > 7 && each[7]!.tryReserveSync(cost)) i = 8;
    } else {
      while (i < n && each[i]!.tryReserveSync(cost)) i++;
    }
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

/** Makes the error a failed release of member `member` throws, from what that member threw. */
type ReleaseFailure = (error: unknown, member: MemberKey) => BudgetError;

/**
 * @internal Releases every member's share of `cost`. A member that throws does not keep the
 * others from being released.
 *
 * @param failure - the error to throw for the first member that threw (default: its own
 * `BudgetError`, or `BACKEND` naming it).
 * @throws BudgetError for the first member that threw, after the rest were released.
 */
export function releaseEvery(
  all: CountMembers,
  cost: number,
  failure: ReleaseFailure = memberFailure,
): void {
  const { calls, fixed } = all;
  const n = calls.length;
  let i = 0;
  try {
    for (; i < n; i++) {
      const f = fixed[i]!;
      calls[i]!.releaseSync(f < 0 ? cost : f);
    }
  } catch (error) {
    throw releaseRest(all, i, cost, failure(error, all.keys[i]!));
  }
}

/**
 * @internal {@link releaseEvery} for uniform charges over members that fail clean, unrolled
 * like {@link reserveEach}.
 */
export function releaseEach(all: CountMembers, cost: number): void {
  const each = all.calls;
  const n = each.length;
  if (n > 8) {
    releaseEvery(all, cost);
    return;
  }
  let i = 0;
  try {
    each[0]!.releaseSync(cost);
    if (n > 1) each[(i = 1)]!.releaseSync(cost);
    if (n > 2) each[(i = 2)]!.releaseSync(cost);
    if (n > 3) each[(i = 3)]!.releaseSync(cost);
    if (n > 4) each[(i = 4)]!.releaseSync(cost);
    if (n > 5) each[(i = 5)]!.releaseSync(cost);
    if (n > 6) each[(i = 6)]!.releaseSync(cost);
    if (n > 7) each[(i = 7)]!.releaseSync(cost);
  } catch (error) {
    throw releaseRest(all, i, cost, memberFailure(error, all.keys[i]!));
  }
}

/** Releases the members after `failed`, then returns `error`, the failure of member `failed`. */
function releaseRest(
  all: CountMembers,
  failed: number,
  cost: number,
  error: BudgetError,
): BudgetError {
  const { calls, fixed } = all;
  for (let j = failed + 1; j < calls.length; j++) {
    const f = fixed[j]!;
    try {
      calls[j]!.releaseSync(f < 0 ? cost : f);
    } catch {
      // The first failure is the one reported.
    }
  }
  return error;
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

/**
 * @internal An all-of could not write down what it holds (its state was made read-only): the
 * `reserved` units it had just charged every member, if any, go back, and the error says so.
 * Only uniform charges are recorded this way, so every member gives back `reserved`.
 */
export function unrecorded(
  all: CountMembers,
  reserved: number | null,
  error: unknown,
): BudgetError {
  const cannot = 'allOf cannot write down what it holds (was it frozen?)';
  if (reserved !== null) {
    try {
      // Every other member is given its share back; the one that failed keeps what it left.
      // It is named by its key here, whatever its own error says (a nested all-of names its
      // own member, a member's BudgetError none).
      releaseEvery(
        all,
        reserved,
        (failed, member) =>
          new BudgetError({
            code: 'BACKEND',
            message: `${cannot}, and giving back what it had charged failed at member ${String(member)}: its share is as that member left it`,
            cause: failed,
            details: { member },
          }),
      );
    } catch (failed) {
      return failed as BudgetError;
    }
  }
  return new BudgetError({
    code: 'BACKEND',
    message: `${cannot}: ${reserved === null ? 'nothing was released' : 'nothing was charged'}`,
    cause: error,
  });
}
