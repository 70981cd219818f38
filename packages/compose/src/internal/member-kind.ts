import { capabilitiesOf, type PermitBudgetGuard, type SyncBudgetGuard } from '@budgetry/core';
import { AsyncTokenGuard, SyncTokenGuard, tokenGuard } from '../token-guard/index.js';
import { describe, invalid, type MemberKey } from './member-list.js';
import { isTokenBudget } from './token-kind.js';

/** @internal Validates a member and puts a token budget behind a guard view. */
export function acceptMember(value: unknown, key: MemberKey): PermitBudgetGuard {
  if (typeof (value as PermitBudgetGuard | null)?.tryAcquire === 'function') {
    return value as PermitBudgetGuard;
  }
  if (isTokenBudget(value)) {
    const view = tokenGuard(value);
    ownViews.add(view);
    return view;
  }
  throw invalid(`member ${String(key)} is not a budget guard or token budget: ${describe(value)}`, {
    member: key,
  });
}

/** Guard views a combinator made for the token budgets it was given: nobody else holds them. */
const ownViews = new WeakSet<object>();

/** @internal Whether `member` is a guard view a combinator made itself for a token budget. */
export function isOwnView(member: object): boolean {
  return ownViews.has(member);
}

/**
 * @internal What a member stands for when members are checked for duplicates: the token budget
 * behind a token guard view, so that a budget given raw and behind a view is caught.
 */
export function memberIdentity(value: unknown): unknown {
  return value instanceof SyncTokenGuard || value instanceof AsyncTokenGuard ? value.tokens : value;
}

/**
 * @internal Whether a member offers the synchronous guard API: the `SyncBudgetGuard`
 * methods, and, when it declares capabilities, a declaration that says `sync`.
 */
export function isSyncGuard(value: PermitBudgetGuard): value is SyncBudgetGuard {
  const v = value as Partial<SyncBudgetGuard> & { capabilities?: unknown };
  if (v.capabilities !== undefined && !capabilitiesOf(v).sync) return false;
  return (
    typeof v.tryAcquireSync === 'function' &&
    typeof v.tryReserveSync === 'function' &&
    typeof v.releaseSync === 'function' &&
    typeof v.available === 'function'
  );
}
