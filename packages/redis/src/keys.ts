import { BudgetError } from '@budgetry/core';

/**
 * The Redis keys of one budget. They share one hash tag, `{<escaped name>}`, so they live in
 * one hash slot (what a Lua script touching all of them needs on Redis Cluster).
 *
 * @example
 * ```ts
 * import { budgetKeys, type BudgetKeys } from '@budgetry/redis';
 *
 * const keys: BudgetKeys = budgetKeys('budgetry', 'tenant:{acme}');
 * console.log(keys.state); // 'budgetry:{tenant%3A%7Bacme%7D}:state'
 * ```
 */
export interface BudgetKeys {
  /** A hash of counters: capacity and policy as configured, available, held, epoch, … */
  readonly state: string;
  /** A hash of lease records, live and recently settled, by lease id. */
  readonly leases: string;
  /** A sorted set of live lease ids, scored by the server time at which each expires. */
  readonly deadlines: string;
  /**
   * A sorted set of settled records' ids, scored by when they are forgotten; the records one
   * script call settles for good share one member (their ids separated by spaces, scored
   * 2^52 plus that time).
   */
  readonly graveyard: string;
}

/**
 * Escapes a budget name (a tenant id, a user id: data, never key syntax) for use inside a
 * hash tag. Every character outside `A–Z a–z 0–9 - . _ ! ~ * ' ( )` is percent-encoded as
 * UTF-8, so the result never holds `{`, `}`, `:`, `%`-sequences of its own, spaces or
 * newlines, and two different names never escape to the same text.
 *
 * @param name - any well-formed string.
 * @returns the escaped text.
 * @throws BudgetError `INVALID_ARGUMENT` for a string with a lone surrogate.
 *
 * @example
 * ```ts
 * import { escapeName } from '@budgetry/redis';
 * console.log(escapeName('a}:{b c')); // 'a%7D%3A%7Bb%20c'
 * ```
 */
export function escapeName(name: string): string {
  // encodeURIComponent is injective on well-formed strings and leaves only the characters
  // above; a string with a lone surrogate has no UTF-8 form and is refused.
  try {
    return encodeURIComponent(name);
  } catch (error) {
    throw new BudgetError({
      code: 'INVALID_ARGUMENT',
      message: 'a budget name must be well-formed Unicode (it has a lone surrogate)',
      details: { name: 'name', value: name },
      cause: error,
    });
  }
}

/**
 * The keys of the budget named `name` under `prefix`.
 *
 * @param prefix - the key prefix; it may not contain `{` or `}` (which would move the hash tag).
 * @param name - the budget's name; any non-empty string, escaped as data.
 * @param slot - a hash tag shared with other budgets (the `slot` option), escaped as data;
 * without it the tag is the name.
 * @returns the four keys, sharing the hash tag `{escapeName(name)}`, or `{escapeName(slot)}`
 * followed by the escaped name.
 * @throws BudgetError `INVALID_ARGUMENT` for a prefix with braces or an empty name.
 *
 * @example
 * ```ts
 * import { budgetKeys } from '@budgetry/redis';
 * const { state, leases } = budgetKeys('app', 'org/42');
 * console.log(state, leases); // 'app:{org%2F42}:state' 'app:{org%2F42}:leases'
 * console.log(budgetKeys('app', 'tpm', 'acme').state); // 'app:{acme}:tpm:state'
 * ```
 */
export function budgetKeys(prefix: string, name: string, slot?: string): BudgetKeys {
  if (typeof prefix !== 'string' || /[{}]/.test(prefix)) {
    throw new BudgetError({
      code: 'INVALID_ARGUMENT',
      message: `keyPrefix must be a string without '{' or '}', got ${JSON.stringify(prefix)}`,
      details: { name: 'keyPrefix', value: prefix },
    });
  }
  if (typeof name !== 'string' || name.length === 0) {
    throw new BudgetError({
      code: 'INVALID_ARGUMENT',
      message: 'a Redis budget needs a non-empty string name: it names its keys',
      details: { name: 'name', value: name },
    });
  }
  // An escaped name never holds ':', so `{slot}:name:` can never read as another budget's
  // `{name}:` — the two forms cannot collide.
  const tag =
    slot === undefined
      ? `${prefix}:{${escapeName(name)}}`
      : `${prefix}:{${escapeName(slot)}}:${escapeName(name)}`;
  return {
    state: `${tag}:state`,
    leases: `${tag}:leases`,
    deadlines: `${tag}:deadlines`,
    graveyard: `${tag}:graveyard`,
  };
}

/**
 * The keys of the hierarchy named `name` under `prefix`: a budget's four, plus `nodes`, all
 * under one hash tag — so a whole tree, however many tenants it has, is one Cluster slot and
 * one script can charge any path of it. A budget and a hierarchy of the same name share the
 * `state` key, so the one opened second is refused (`INVALID_ARGUMENT`), never mixed in.
 *
 * @param prefix - the key prefix; it may not contain `{` or `}`.
 * @param name - the tree's name; any non-empty string, escaped as data.
 * @param slot - a hash tag shared with other budgets (the `slot` option), as for a budget.
 * @returns the five keys, sharing the hash tag `{escapeName(name)}` (or the slot's).
 * @throws BudgetError `INVALID_ARGUMENT` for a prefix with braces or an empty name.
 *
 * @example
 * ```ts
 * import { hierarchyKeys } from '@budgetry/redis';
 * console.log(hierarchyKeys('app', 'tenants').nodes); // 'app:{tenants}:nodes'
 * ```
 */
export function hierarchyKeys(prefix: string, name: string, slot?: string): RedisHierarchyKeys {
  const keys = budgetKeys(prefix, name, slot);
  return { ...keys, nodes: keys.state.replace(/:state$/, ':nodes') };
}

/**
 * The Redis keys of one {@link RedisHierarchy}: those of a budget, and a hash of its nodes.
 *
 * @example
 * ```ts
 * import { hierarchyKeys, type RedisHierarchyKeys } from '@budgetry/redis';
 * const { state, nodes }: RedisHierarchyKeys = hierarchyKeys('app', 'tenants');
 * ```
 */
export interface RedisHierarchyKeys extends BudgetKeys {
  /** A hash of node records by path: what each node holds, in which epoch, its capacity. */
  readonly nodes: string;
}
