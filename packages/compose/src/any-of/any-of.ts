import type { SyncBudgetGuard } from '@budgetry/core';
import { registerCombinator } from '../internal/combinators.js';
import { acceptMember, isSyncGuard, memberIdentity } from '../internal/member-kind.js';
import {
  type AnyMember,
  describe,
  invalid,
  type KeyOf,
  type Members,
  type SyncMember,
  toMemberList,
} from '../internal/member-list.js';
import { AnyOf } from './async-any-of.js';
import { SyncAnyOf } from './sync-any-of.js';

/**
 * Which member an any-of tries first: `priority` is the order given; `least-utilized` is the
 * member with the largest share of its capacity available (synchronous members only).
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import { type AnyOfStrategy, anyOf } from '@budgetry/compose';
 *
 * const strategy: AnyOfStrategy = process.env.SPREAD_LOAD ? 'least-utilized' : 'priority';
 * const pool = anyOf([new AtomicBudget(10), new AtomicBudget(10)], { strategy });
 * pool.tryAcquireSync(3)?.releaseSync();
 * ```
 */
export type AnyOfStrategy = 'priority' | 'least-utilized';

/**
 * Options for {@link anyOf}.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import { type AnyOfOptions, anyOf } from '@budgetry/compose';
 *
 * const options: AnyOfOptions = { strategy: 'least-utilized' };
 * const workers = anyOf([new AtomicBudget(4), new AtomicBudget(4)], options);
 * const permit = workers.tryAcquireSync(1); // the worker with the largest free share
 * console.log(permit?.member);
 * ```
 */
export interface AnyOfOptions {
  /** Which member is tried first (default `'priority'`). */
  strategy?: AnyOfStrategy;
}

/**
 * The first of several budgets that admits a reservation, and only that one: a primary API
 * key with fallbacks, a pool of workers, regional quotas. The permit says which member it
 * charged; a denial charges none and gives the soonest `retryAfterMs` any member knows.
 *
 * When to use: any one of several budgets may pay for the work. Members are tried in the
 * order given, or with `strategy: 'least-utilized'` (synchronous members) the one with the
 * largest free share first, which spreads load. Over synchronous members the result is a
 * {@link SyncAnyOf}; otherwise an {@link AnyOf}.
 *
 * @param members - an array or record of guards and token budgets, none given twice (also not
 * raw and behind a token guard view, a refill schedule or a waiting line).
 * @param options - the strategy.
 * @returns the combined guard.
 * @throws BudgetError `INVALID_ARGUMENT` for no members, a member given twice, a value that
 * is not a budget, an unknown strategy, or `least-utilized` over asynchronous members.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import { anyOf } from '@budgetry/compose';
 *
 * const keys = anyOf({ primary: new AtomicBudget(100), fallback: new AtomicBudget(50) });
 * const permit = keys.tryAcquireSync(80);
 * console.log(permit?.member); // 'primary'
 * permit?.releaseSync();
 * ```
 */
export function anyOf<const T extends Members<SyncMember>>(
  members: T,
  options?: AnyOfOptions,
): SyncAnyOf<KeyOf<T>>;
export function anyOf<const T extends Members<AnyMember>>(
  members: T,
  options?: AnyOfOptions,
): AnyOf<KeyOf<T>> | SyncAnyOf<KeyOf<T>>;
export function anyOf(members: Members<AnyMember>, options: AnyOfOptions = {}): AnyOf | SyncAnyOf {
  if (typeof options !== 'object' || options === null) {
    throw invalid(`anyOf options must be an object, got ${describe(options)}`, {});
  }
  const strategy = options.strategy ?? 'priority';
  if (strategy !== 'priority' && strategy !== 'least-utilized') {
    throw invalid(
      `option strategy must be 'priority' or 'least-utilized', got ${String(strategy)}`,
      {
        strategy,
      },
    );
  }
  const list = toMemberList(members, 'anyOf', acceptMember, memberIdentity);
  if (list.budgets.every(isSyncGuard)) {
    return new SyncAnyOf(list.keys, list.budgets as SyncBudgetGuard[], strategy);
  }
  if (strategy !== 'priority') {
    throw invalid("strategy 'least-utilized' needs synchronous members", { strategy });
  }
  return new AnyOf(list.keys, list.budgets);
}

registerCombinator(SyncAnyOf);
registerCombinator(AnyOf);
