import { capabilitiesOf, type PermitBudgetGuard, type SyncBudgetGuard } from '@budgetry/core';
import { tokenGuard } from '../token-guard/index.js';
import { describe, invalid, type MemberKey } from './member-list.js';
import { isTokenBudget } from './token-kind.js';

/** @internal Validates a member and puts a token budget behind a guard view. */
export function acceptMember(value: unknown, key: MemberKey): PermitBudgetGuard {
  if (typeof (value as PermitBudgetGuard | null)?.tryAcquire === 'function') {
    return value as PermitBudgetGuard;
  }
  if (isTokenBudget(value)) return tokenGuard(value);
  throw invalid(`member ${String(key)} is not a budget guard or token budget: ${describe(value)}`, {
    member: key,
  });
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
