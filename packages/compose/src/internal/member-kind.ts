import {
  AtomicBudget,
  AtomicTokenBudget,
  capabilitiesOf,
  type PermitBudgetGuard,
  SharedBudget,
  SharedHierarchy,
  SharedHierarchyNode,
  SharedTokenBudget,
  StripedSharedBudget,
  type SyncBudgetGuard,
  TokenBucket,
} from '@budgetry/core';
import { AsyncTokenGuard, SyncTokenGuard, tokenGuard } from '../token-guard/index.js';
import { wrappedBy } from './clean-wrappers.js';
import { membersOf } from './combinators.js';
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
 * The property by which a budget says which budget it is, when two of its objects can charge
 * one budget (two handles on the same state in a remote store, a tree node asked for twice):
 * a string, the same for every object that charges the same state and only for those.
 * `@budgetry/redis`'s budgets and tree nodes declare it.
 */
const IDENTITY = Symbol.for('budgetry.identity');

/**
 * @internal What a member stands for when members are checked for duplicates: the budget
 * behind token guard views and the wrappers registered as clean (a refill schedule, a waiting
 * line), so that a budget given raw and behind a view or wrapper is caught: both would charge
 * it. A budget that declares its identity (see `IDENTITY`) stands for it, so two handles on
 * one remote budget are caught too.
 */
export function memberIdentity(value: unknown): unknown {
  let v = value;
  for (let depth = 0; depth < 8; depth++) {
    if (v instanceof SyncTokenGuard || v instanceof AsyncTokenGuard) {
      v = v.tokens;
      continue;
    }
    const wrapper = typeof v === 'object' && v !== null ? wrappedBy(v) : undefined;
    if (wrapper === undefined) break;
    v = wrapper.inner;
  }
  return declaredIdentity(v);
}

/** `budget`'s declared identity, kept apart from any string given as a member; else itself. */
function declaredIdentity(budget: unknown): unknown {
  if (typeof budget !== 'object' || budget === null) return budget;
  const id = (budget as { readonly [IDENTITY]?: unknown })[IDENTITY];
  return typeof id === 'string' ? `${String(IDENTITY)} ${id}` : budget;
}

/**
 * @internal The budgets a reservation on `value` may charge, each as {@link memberIdentity}
 * names it: its own, or, for an all-of or any-of, its members', however deep (an any-of
 * charges one member per reservation, and which one is not known in advance).
 */
function chargedBudgets(value: unknown, into: Set<unknown>, depth: number): Set<unknown> {
  const identity = memberIdentity(value);
  const members = depth < 8 ? membersOf(identity) : undefined;
  if (members === undefined) into.add(identity);
  else for (const m of members) chargedBudgets(m, into, depth + 1);
  return into;
}

/**
 * @internal The first of `entries` that may charge a budget an earlier one charges too, seen
 * through wrappers and through the members of all-ofs and any-ofs (`coordinator({ a: b, z:
 * allOf({ b, x }) })`: every dispatch would charge `b` twice), with the earlier one's name;
 * `undefined` when they charge disjoint budgets. Members are fixed at construction, so this
 * is checked once, before anything is built.
 */
export function sharedBudget<N>(
  entries: readonly (readonly [N, unknown])[],
): { name: N; first: N } | undefined {
  const owner = new Map<unknown, N>();
  for (const [name, value] of entries) {
    const charged = chargedBudgets(value, new Set(), 0);
    for (const budget of charged) {
      if (owner.has(budget)) return { name, first: owner.get(budget)! };
    }
    for (const budget of charged) owner.set(budget, name);
  }
  return undefined;
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

/** Core's guards that check everything before they change anything, in-process or shared. */
const cleanGuards: ReadonlySet<object> = new Set([
  AtomicBudget.prototype,
  TokenBucket.prototype,
  SharedBudget.prototype,
  StripedSharedBudget.prototype,
  SharedHierarchy.prototype,
  SharedHierarchyNode.prototype,
]);

/** Core's token budgets of the same kind, behind a token guard view. */
const cleanTokenBudgets: ReadonlySet<object> = new Set([
  AtomicTokenBudget.prototype,
  SharedTokenBudget.prototype,
]);

/**
 * @internal Whether a member is one of budgetry's own budgets that throw only before they
 * change anything (they check their arguments and their handle first and keep an observer's
 * error from their caller), so that whether a call that threw had charged or released needs
 * no reading of its availability. That matters for shared budgets most: other threads move
 * their availability between two reads, so a reading would mistake their reservations for
 * this call's. A refill scheduler or a waiting line over such a budget fails clean too. One
 * whose `tryReserveSync` was replaced on the instance is not taken at its word.
 */
export function failsClean(member: unknown, depth = 0): boolean {
  if (!plain(member) || depth > 8) return false;
  const proto = Object.getPrototypeOf(member);
  if (cleanGuards.has(proto)) return true;
  const wrapper = wrappedBy(member);
  if (wrapper !== undefined) return failsClean(wrapper.inner, depth + 1);
  if (proto !== SyncTokenGuard.prototype) return false;
  return cleanTokens((member as SyncTokenGuard).tokens, depth + 1);
}

/** A core token budget of the clean kinds, or a registered wrapper of one. */
function cleanTokens(tokens: unknown, depth: number): boolean {
  if (!plain(tokens) || depth > 8) return false;
  if (cleanTokenBudgets.has(Object.getPrototypeOf(tokens))) return true;
  const wrapper = wrappedBy(tokens);
  return wrapper !== undefined && cleanTokens(wrapper.inner, depth + 1);
}

function plain(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Object.hasOwn(value, 'tryReserveSync');
}
