import type { SyncBudgetGuard } from '@budgetry/core';
import { registerCombinator } from '../internal/combinators.js';
import {
  acceptMember,
  isSyncGuard,
  memberIdentity,
  sharedBudget,
} from '../internal/member-kind.js';
import {
  type AnyMember,
  describe,
  invalid,
  type KeyOf,
  type MemberKey,
  type Members,
  type SyncMember,
  toMemberList,
} from '../internal/member-list.js';
import { AllOf } from './async-all-of.js';
import { syncAllOf } from './core-all-of.js';
import { chargesOf } from './costs.js';
import { SyncAllOf } from './sync-all-of.js';

/**
 * Options for {@link allOf}.
 *
 * @example
 * ```ts
 * import { AtomicBudget, AtomicTokenBudget } from '@budgetry/core';
 * import { type AllOfOptions, allOf } from '@budgetry/compose';
 *
 * // One row per request, whatever its token estimate.
 * const options: AllOfOptions<'rows' | 'tokens'> = { charge: { rows: 1 } };
 * const gate = allOf({ rows: new AtomicBudget(100), tokens: new AtomicTokenBudget(50_000) }, options);
 * gate.tryAcquireSync(1_200)?.releaseSync(); // took 1 row and 1 200 tokens, then gave them back
 * ```
 */
export interface AllOfOptions<K extends MemberKey> {
  /**
   * A fixed charge for some members, whatever the reserved cost: `{ rows: 1 }` makes
   * `tryAcquire(1_200)` take one row and 1 200 from every other member. A reservation of
   * cost 0 charges nobody. Members not listed are charged the cost itself. With fixed
   * charges, a count-API `release(cost)` must match one earlier `tryReserve(cost)`; other
   * releases are counted in `overReleased()` and change nothing.
   */
  charge?: Partial<Record<K, number>>;
}

/**
 * One reservation across several budgets, all or nothing: a row guard *and* a token budget,
 * requests-per-minute *and* a concurrency limit. Members are charged in order; if one denies
 * or throws, every member already charged is rolled back exactly once, and a detailed
 * reservation says which member denied and, where its refill schedule knows, when to retry.
 *
 * When to use: a dispatch must fit several limits at once and the cost is one number (or a
 * number plus fixed charges, via `charge`). Members may be guards or token budgets (a token
 * budget is charged an estimate; reconcile it through `permit.part(key)`), named by record
 * key or array index. Over synchronous members the result is a {@link SyncAllOf} with an
 * allocation-free count API; otherwise an {@link AllOf}. For per-dimension costs and
 * reconciliation with measured usage, use the {@link coordinator}.
 *
 * @param members - an array or record of guards and token budgets, none given twice (also not
 * raw and behind a token guard view, a refill schedule or a waiting line, nor inside two
 * members through an all-of or any-of: every reservation would charge it twice).
 * @param options - fixed charges for some members.
 * @returns the combined guard.
 * @throws BudgetError `INVALID_ARGUMENT` for no members, a member given twice, a value that
 * is not a budget, or a bad `charge`.
 *
 * @example
 * ```ts
 * import { AtomicBudget, AtomicTokenBudget } from '@budgetry/core';
 * import { allOf } from '@budgetry/compose';
 *
 * const rows = new AtomicBudget(10_000);
 * const tokens = new AtomicTokenBudget(100_000);
 * const both = allOf({ rows, tokens }, { charge: { rows: 1 } });
 * const decision = both.tryAcquireDetailedSync(1_200); // 1 row and 1 200 tokens
 * if (decision.ok) {
 *   decision.permit.releaseSync();
 * } else {
 *   console.log(decision.deniedBy, decision.retryAfterMs);
 * }
 * ```
 */
export function allOf<const T extends Members<SyncMember>>(
  members: T,
  options?: AllOfOptions<KeyOf<T>>,
): SyncAllOf<KeyOf<T>>;
export function allOf<const T extends Members<AnyMember>>(
  members: T,
  options?: AllOfOptions<KeyOf<T>>,
): AllOf<KeyOf<T>> | SyncAllOf<KeyOf<T>>;
export function allOf(
  members: Members<AnyMember>,
  options: AllOfOptions<MemberKey> = {},
): AllOf | SyncAllOf {
  if (typeof options !== 'object' || options === null) {
    throw invalid(`allOf options must be an object, got ${describe(options)}`, {});
  }
  const list = toMemberList(members, 'allOf', acceptMember, memberIdentity);
  // One budget inside two members (an all-of or any-of among them) is charged twice too.
  const shared = sharedBudget(list.keys.map((key, i) => [key, list.budgets[i]] as const));
  if (shared !== undefined) {
    throw invalid(
      `allOf: member ${String(shared.name)} charges a budget that member ${String(shared.first)} charges too`,
      { member: shared.name, duplicateOf: shared.first },
    );
  }
  const fixed = chargesOf(list.keys, options.charge);
  if (list.budgets.every(isSyncGuard)) {
    return syncAllOf(list.keys, list.budgets as SyncBudgetGuard[], fixed);
  }
  return new AllOf(list.keys, list.budgets, fixed);
}

registerCombinator(SyncAllOf);
registerCombinator(AllOf);
