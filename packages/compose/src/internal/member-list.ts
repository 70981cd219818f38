import {
  BudgetError,
  type PermitBudgetGuard,
  type SyncBudgetGuard,
  type SyncTokenBudget,
  type TokenBudget,
} from '@budgetry/core';

/**
 * How a combinator names its members: the array index, or the key of a record.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import { allOf, type MemberKey } from '@budgetry/compose';
 *
 * function label(member: MemberKey): string {
 *   return typeof member === 'number' ? `member #${member}` : `member ${member}`;
 * }
 * const d = allOf([new AtomicBudget(1), new AtomicBudget(5)]).tryAcquireDetailedSync(3);
 * if (!d.ok) console.log(label(d.deniedBy)); // 'member #0'
 * ```
 */
export type MemberKey = string | number;

/**
 * Members as given to a combinator: an array (named by index) or a record (named by key).
 *
 * @example
 * ```ts
 * import { AtomicBudget, type SyncBudgetGuard } from '@budgetry/core';
 * import { allOf, type Members } from '@budgetry/compose';
 *
 * const regions: Members<SyncBudgetGuard> = { eu: new AtomicBudget(10), us: new AtomicBudget(10) };
 * const everywhere = allOf(regions);
 * everywhere.tryReserveSync(2); // 2 from eu and 2 from us
 * ```
 */
export type Members<M> = readonly M[] | Readonly<Record<string, M>>;

/**
 * The key type a {@link Members} value names its members with.
 *
 * @example
 * ```ts
 * import type { KeyOf } from '@budgetry/compose';
 *
 * type Named = KeyOf<{ rows: unknown; tokens: unknown }>; // 'rows' | 'tokens'
 * type Indexed = KeyOf<readonly unknown[]>; // number
 * const member: Named = 'rows';
 * const index: Indexed = 0;
 * console.log(member, index);
 * ```
 */
export type KeyOf<T> = T extends readonly unknown[] ? number : Extract<keyof T, string>;

/** @internal Members flattened into parallel arrays, validated once at construction. */
export interface MemberList<M> {
  readonly keys: MemberKey[];
  readonly budgets: M[];
}

/**
 * @internal Flattens and validates members: at least one, each accepted by `accept`, none given
 * twice (the same budget twice would charge it twice for one reservation). Throws
 * `INVALID_ARGUMENT` before anything is built.
 */
export function toMemberList<M>(
  members: unknown,
  what: string,
  accept: (value: unknown, key: MemberKey) => M,
  identity: (value: unknown) => unknown = (value) => value,
): MemberList<M> {
  if (typeof members !== 'object' || members === null) {
    throw invalid(`${what} expects an array or a record of budgets, got ${describe(members)}`, {
      members,
    });
  }
  const entries: [MemberKey, unknown][] = Array.isArray(members)
    ? members.map((m, i) => [i, m])
    : Object.entries(members);
  if (entries.length === 0) throw invalid(`${what} needs at least one member`, {});
  const keys: MemberKey[] = [];
  const budgets: M[] = [];
  const seen = new Map<unknown, MemberKey>();
  for (const [key, value] of entries) {
    const first = seen.get(identity(value));
    if (first !== undefined) {
      throw invalid(
        `${what}: member ${String(key)} is the same budget as member ${String(first)}`,
        {
          member: key,
          duplicateOf: first,
        },
      );
    }
    seen.set(identity(value), key);
    keys.push(key);
    budgets.push(accept(value, key));
  }
  return { keys, budgets };
}

/**
 * @internal A record's own value for `key`, never one inherited from `Object.prototype`: a
 * member or dimension may be called `constructor`, `toString` or `__proto__`.
 */
export function ownValue(table: object, key: string): unknown {
  return Object.hasOwn(table, key) ? (table as Record<string, unknown>)[key] : undefined;
}

/** @internal Sets an own property, even for a key such as `__proto__`. */
export function setOwn(table: object, key: string, value: unknown): void {
  Object.defineProperty(table, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/** @internal */
export function invalid(message: string, details: Record<string, unknown>): BudgetError {
  return new BudgetError({ code: 'INVALID_ARGUMENT', message, details });
}

/** @internal A short description of a bad value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'bigint')
    return `${String(value)} (${typeof value})`;
  return typeof value;
}

/**
 * @internal Wraps whatever a member threw as a `BudgetError` (`BACKEND`, with the original as
 * `cause`) naming the member, so callers can handle one error type.
 */
export function memberFailure(error: unknown, member: MemberKey): BudgetError {
  if (BudgetError.isInstance(error)) return error;
  return new BudgetError({
    code: 'BACKEND',
    message: `member ${String(member)} failed: ${error instanceof Error ? error.message : String(error)}`,
    cause: error,
    details: { member },
  });
}

/**
 * @internal Runs `fn` on every item and waits for all of them, whatever happens. A remote
 * member's `release()` may throw synchronously instead of returning a rejected Promise; that
 * throw is turned into a rejection here, so one bad member cannot stop the others from being
 * rolled back or settled.
 */
export function settleEach<T>(
  items: readonly T[],
  fn: (item: T, index: number) => unknown,
): Promise<PromiseSettledResult<unknown>[]> {
  return Promise.allSettled(items.map(async (item, i) => fn(item, i)));
}

/**
 * A member of a synchronous all-of: an in-process guard or token budget.
 *
 * @example
 * ```ts
 * import { AtomicBudget, AtomicTokenBudget } from '@budgetry/core';
 * import { allOf, type SyncMember } from '@budgetry/compose';
 *
 * const members: Record<string, SyncMember> = {
 *   rows: new AtomicBudget(100),
 *   tokens: new AtomicTokenBudget(10_000),
 * };
 * const gate = allOf(members); // a SyncAllOf: every member is in-process
 * gate.tryReserveSync(10);
 * ```
 */
export type SyncMember = SyncBudgetGuard | SyncTokenBudget;

/**
 * A member of an all-of or any-of: any guard that hands out permits, or any token budget.
 *
 * @example
 * ```ts
 * import { AtomicBudget, AtomicTokenBudget, type PermitBudgetGuard } from '@budgetry/core';
 * import { type AnyMember, anyOf } from '@budgetry/compose';
 *
 * const remote: PermitBudgetGuard = new AtomicBudget(10); // stands for a remote guard
 * const members: AnyMember[] = [remote, new AtomicTokenBudget(1_000)];
 * const permit = await anyOf(members).tryAcquire(5);
 * console.log(permit?.member); // 0
 * ```
 */
export type AnyMember = PermitBudgetGuard | TokenBudget;
