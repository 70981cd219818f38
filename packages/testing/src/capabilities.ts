import { type BudgetCapabilities, capabilitiesOf } from '@budgetry/core';
import { AdapterError } from './adapter-error.js';

/**
 * How a subject refills: under which policy, and whether the kit calls `refill()` or moves
 * `context.clock` past the subject's own epoch boundaries (`epoch`, `nextRefillAt()`).
 *
 * @example
 * ```ts
 * import type { RefillCapability } from '@budgetry/testing';
 * const byCall: RefillCapability = { policy: 'reset' };
 * const byClock: RefillCapability = { policy: 'carry', by: 'clock' };
 * ```
 */
export interface RefillCapability {
  /** `reset`: the new epoch starts full, older holds fenced; `carry`: they move into it. */
  readonly policy: 'reset' | 'carry';
  /** `call` (default): the kit calls `refill()`. `clock`: the kit moves `context.clock`. */
  readonly by?: 'call' | 'clock';
  /**
   * Under refill by call: `refill(times)` applies `times` refills in one call, as that many
   * calls would (core's budgets do; `declaredGuardCapabilities` reads it from their
   * `batchRefill`). The kit then also calls `refill(2)` to `refill(4)`, and `refill` with an
   * invalid count (0, negative, fractional, `NaN`, a string), which must be rejected with
   * `INVALID_ARGUMENT` or `INVALID_AMOUNT` and change nothing. Ignored under refill by clock,
   * where the kit moves the clock past several boundaries instead. Default `false`.
   */
  readonly batch?: boolean;
}

/**
 * What a guard's permits offer, beyond `release()` and `commit()`.
 *
 * @example
 * ```ts
 * import type { PermitCapabilities } from '@budgetry/testing';
 * const permits: PermitCapabilities = { dispose: 'both', partialCommit: true };
 * ```
 */
export interface PermitCapabilities {
  /** Which disposal the permit implements (default `async`: `Symbol.asyncDispose`). */
  readonly dispose?: 'async' | 'sync' | 'both' | 'none';
  /** `commit(used)` keeps `used ≤ cost` units spent and returns the rest in one step. */
  readonly partialCommit?: boolean;
}

/**
 * What a guard under test offers beyond the count API (`tryReserve`, `release`), declared by
 * you: the kit never probes the subject's fields to find out. Undeclared members are never
 * called; a declared member that is missing is an {@link AdapterError}.
 *
 * @example
 * ```ts
 * import type { GuardCapabilities } from '@budgetry/testing';
 * const capabilities: GuardCapabilities = {
 *   available: true,
 *   permits: { dispose: 'async' },
 *   refill: { policy: 'reset' },
 * };
 * ```
 */
export interface GuardCapabilities {
  /** `available(): number | Promise<number>`, read and checked exactly at every step. */
  readonly available?: boolean;
  /** `tryAcquire(cost)` resolves a permit with `release()` and `commit()`. */
  readonly permits?: boolean | PermitCapabilities;
  /** How the subject refills (default: it does not). */
  readonly refill?: false | RefillCapability;
  /**
   * Every call takes effect at one instant between its start and its end, so a denial must be
   * explained by the units free at some instant of its call, even while calls overlap
   * (default `true`). Declare `false` for budgets that may deny spuriously under
   * contention (striped, leased); denials are then checked only for calls that ran alone.
   */
  readonly linearizable?: boolean;
  /**
   * Calls may reject with a `BudgetError` of code `TIMEOUT`, having taken effect or not: the
   * kit then accepts either, provided it happened by the time every call has settled.
   */
  readonly timeouts?: boolean;
  /**
   * What a count-API release beyond what the count API holds does: `clamp` (default) accepts
   * only what it holds and ignores the rest; `reject` refuses it with `OVER_RELEASE` and
   * changes nothing (a strict budget).
   */
  readonly overRelease?: 'clamp' | 'reject';
  /**
   * How `release(cost)` finds what to return. `pool` (default, as `@budgetry/core`): up to
   * `cost` of whatever the count API holds in the current epoch. `exact`: one reservation of
   * exactly `cost` (combinators that keep a handle per count reservation). Under `exact` the
   * kit releases only reservations it holds, never across a refill, and sends no
   * over-releases, since which reservation such a release hits is the budget's choice.
   */
  readonly countRelease?: 'pool' | 'exact';
}

/**
 * What a token budget under test offers beyond `tryReserveTokens`, `recordUsage` and
 * `tokensConsumed`, declared by you. Reservations are used only through `estimate`,
 * `disarm()` and `Symbol.dispose` (and `Symbol.asyncDispose` when declared).
 *
 * @example
 * ```ts
 * import type { TokenBudgetCapabilities } from '@budgetry/testing';
 * const capabilities: TokenBudgetCapabilities = {
 *   available: true,
 *   debt: true,
 *   refill: { policy: 'carry' },
 * };
 * ```
 */
export interface TokenBudgetCapabilities {
  /** `available(): number | Promise<number>` (0 while in debt). */
  readonly available?: boolean;
  /** `debt(): number | Promise<number>`: overage not yet paid. */
  readonly debt?: boolean;
  /** How the subject refills (default: it does not). */
  readonly refill?: false | RefillCapability;
  /** The subject's debt cap (default: none, exact debt). */
  readonly maxDebt?: number;
  /** Reservations implement `Symbol.asyncDispose` as well. */
  readonly asyncDispose?: boolean;
  /** Reservations implement `disarm()`, which hands back the refund (default `true`). */
  readonly disarm?: boolean;
  /** The budget also has the count API, `tryReserve(cost)` / `release(cost)`. */
  readonly countApi?: boolean;
  /** As for guards: what a count-API over-release does (default `clamp`). */
  readonly overRelease?: 'clamp' | 'reject';
  /** As for guards: how a count-API release finds what to return (default `pool`). */
  readonly countRelease?: 'pool' | 'exact';
  /** As for guards (default `true`). */
  readonly linearizable?: boolean;
  /** As for guards. */
  readonly timeouts?: boolean;
}

/** @internal Capabilities with defaults applied. */
export interface ResolvedCapabilities {
  readonly available: boolean;
  readonly debt: boolean;
  readonly permits: boolean;
  readonly dispose: 'async' | 'sync' | 'both' | 'none';
  readonly partialCommit: boolean;
  readonly refill: RefillCapability | undefined;
  readonly maxDebt: number;
  readonly asyncDispose: boolean;
  readonly disarm: boolean;
  readonly countApi: boolean;
  readonly linearizable: boolean;
  readonly timeouts: boolean;
  readonly overRelease: 'clamp' | 'reject';
  readonly countRelease: 'pool' | 'exact';
}

const guardKeys = [
  'available',
  'permits',
  'refill',
  'linearizable',
  'timeouts',
  'overRelease',
  'countRelease',
] as const;
const tokenKeys = [
  'available',
  'debt',
  'refill',
  'maxDebt',
  'asyncDispose',
  'disarm',
  'countApi',
  'linearizable',
  'timeouts',
  'overRelease',
  'countRelease',
] as const;

function countReleaseOf(value: unknown): 'pool' | 'exact' {
  if (value === undefined) return 'pool';
  if (value === 'pool' || value === 'exact') return value;
  throw new AdapterError(
    `capability 'countRelease' must be 'pool' or 'exact', got ${String(value)}`,
    {
      member: 'countRelease',
    },
  );
}

function overReleaseOf(value: unknown): 'clamp' | 'reject' {
  if (value === undefined) return 'clamp';
  if (value === 'clamp' || value === 'reject') return value;
  throw new AdapterError(
    `capability 'overRelease' must be 'clamp' or 'reject', got ${String(value)}`,
    {
      member: 'overRelease',
    },
  );
}

function checkKeys(value: object, known: readonly string[], what: string): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const near = known.find((k) => k.toLowerCase().startsWith(key.toLowerCase().slice(0, 3)));
    throw new AdapterError(
      `unknown ${what} capability '${key}'${near === undefined ? '' : ` (did you mean '${near}'?)`}; known: ${known.join(', ')}`,
      { member: key },
    );
  }
}

function flag(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    throw new AdapterError(`capability '${name}' must be a boolean, got ${String(value)}`, {
      member: name,
    });
  }
  return value;
}

function refillOf(value: unknown): RefillCapability | undefined {
  if (value === undefined || value === false) return undefined;
  if (typeof value !== 'object' || value === null) {
    throw new AdapterError(
      `capability 'refill' must be false or { policy: 'reset' | 'carry', by?: 'call' | 'clock', batch?: boolean }, got ${String(value)}`,
      { member: 'refill' },
    );
  }
  const { policy, by, batch } = value as { policy?: unknown; by?: unknown; batch?: unknown };
  if (policy !== 'reset' && policy !== 'carry') {
    throw new AdapterError(`refill.policy must be 'reset' or 'carry', got ${String(policy)}`, {
      member: 'refill',
    });
  }
  if (by !== undefined && by !== 'call' && by !== 'clock') {
    throw new AdapterError(`refill.by must be 'call' or 'clock', got ${String(by)}`, {
      member: 'refill',
    });
  }
  if (batch !== undefined && typeof batch !== 'boolean') {
    throw new AdapterError(`refill.batch must be a boolean, got ${String(batch)}`, {
      member: 'refill',
    });
  }
  // Under refill by clock the kit calls no refill(): batch is ignored there, so that a declared
  // capability can be spread and given `by: 'clock'`.
  return { policy, by: by ?? 'call', batch: batch === true && by !== 'clock' };
}

function object(value: unknown, what: string): object {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null) {
    throw new AdapterError(`${what} capabilities must be an object, got ${String(value)}`);
  }
  return value;
}

/** @internal */
export function resolveGuardCapabilities(
  value: GuardCapabilities | undefined,
): ResolvedCapabilities {
  const caps = object(value, 'guard') as GuardCapabilities;
  checkKeys(caps, guardKeys, 'guard');
  const permits = caps.permits;
  let permitCaps: PermitCapabilities = {};
  if (typeof permits === 'object' && permits !== null) {
    checkKeys(permits, ['dispose', 'partialCommit'], 'permit');
    permitCaps = permits;
  } else flag(permits, 'permits', false);
  const dispose = permitCaps.dispose ?? 'async';
  if (!['async', 'sync', 'both', 'none'].includes(dispose)) {
    throw new AdapterError(`permits.dispose must be async, sync, both or none, got ${dispose}`, {
      member: 'permits',
    });
  }
  return {
    available: flag(caps.available, 'available', false),
    debt: false,
    permits: permits !== undefined && permits !== false,
    dispose,
    partialCommit: flag(permitCaps.partialCommit, 'permits.partialCommit', false),
    refill: refillOf(caps.refill),
    maxDebt: Number.POSITIVE_INFINITY,
    asyncDispose: false,
    disarm: false,
    countApi: true,
    linearizable: flag(caps.linearizable, 'linearizable', true),
    timeouts: flag(caps.timeouts, 'timeouts', false),
    overRelease: overReleaseOf(caps.overRelease),
    countRelease: countReleaseOf(caps.countRelease),
  };
}

/** @internal */
export function resolveTokenCapabilities(
  value: TokenBudgetCapabilities | undefined,
): ResolvedCapabilities {
  const caps = object(value, 'token budget') as TokenBudgetCapabilities;
  checkKeys(caps, tokenKeys, 'token budget');
  const maxDebt = caps.maxDebt ?? Number.POSITIVE_INFINITY;
  if (maxDebt !== Number.POSITIVE_INFINITY && (!Number.isSafeInteger(maxDebt) || maxDebt < 0)) {
    throw new AdapterError(`capability 'maxDebt' must be a non-negative safe integer`, {
      member: 'maxDebt',
    });
  }
  return {
    available: flag(caps.available, 'available', false),
    debt: flag(caps.debt, 'debt', false),
    permits: false,
    dispose: 'sync',
    partialCommit: false,
    refill: refillOf(caps.refill),
    maxDebt,
    asyncDispose: flag(caps.asyncDispose, 'asyncDispose', false),
    disarm: flag(caps.disarm, 'disarm', true),
    countApi: flag(caps.countApi, 'countApi', false),
    linearizable: flag(caps.linearizable, 'linearizable', true),
    timeouts: flag(caps.timeouts, 'timeouts', false),
    overRelease: overReleaseOf(caps.overRelease),
    countRelease: countReleaseOf(caps.countRelease),
  };
}

/** @internal Throws an {@link AdapterError} unless `subject[member]` is a function. */
export function requireMethod(subject: unknown, member: string, why: string): void {
  const value =
    typeof subject === 'object' || typeof subject === 'function'
      ? (subject as Record<string, unknown> | null)?.[member]
      : undefined;
  if (typeof value !== 'function') {
    throw new AdapterError(
      `the subject has no method ${member}() (${why}); found ${value === undefined ? 'nothing' : typeof value}`,
      { member },
    );
  }
}

/** @internal Checks the subject has every method its capabilities declare. */
export function validateSubject(
  subject: unknown,
  caps: ResolvedCapabilities,
  kind: 'guard' | 'token budget',
): void {
  if ((typeof subject !== 'object' && typeof subject !== 'function') || subject === null) {
    throw new AdapterError(`the factory returned ${String(subject)}, not a ${kind}`);
  }
  if (kind === 'guard' || caps.countApi) {
    const why = kind === 'guard' ? 'every guard has the count API' : 'capability countApi';
    requireMethod(subject, 'tryReserve', why);
    requireMethod(subject, 'release', why);
  }
  if (kind === 'token budget') {
    for (const m of ['tryReserveTokens', 'recordUsage', 'tokensConsumed']) {
      requireMethod(subject, m, 'every token budget has it');
    }
  }
  if (caps.available) requireMethod(subject, 'available', 'capability available');
  if (caps.debt) requireMethod(subject, 'debt', 'capability debt');
  if (caps.permits) requireMethod(subject, 'tryAcquire', 'capability permits');
  if (caps.refill?.by === 'call') requireMethod(subject, 'refill', 'capability refill');
  if (caps.refill?.by === 'clock') {
    requireMethod(subject, 'nextRefillAt', "capability refill by 'clock'");
    const epoch = (subject as { epoch?: unknown }).epoch;
    if (typeof epoch !== 'number') {
      throw new AdapterError(
        `the subject has no numeric epoch (capability refill by 'clock'); found ${typeof epoch}`,
        { member: 'epoch' },
      );
    }
  }
}

/**
 * The kit's capabilities for a guard, read from what it declares (`@budgetry/core`'s
 * `capabilitiesOf`): permits with partial commit where declared, pool or exact count release,
 * `available()` for synchronous guards, and refills by `refill()` under the declared policy
 * for a budget that declares itself schedulable. Checking a budget with them checks that it
 * does what it says. A budget refilled by a clock (a scheduled view) needs `refill` given
 * explicitly: spread this and override it.
 *
 * @param subject - a guard, as the factory would return it.
 * @returns capabilities for {@link checkGuard} or `suite()`.
 * @throws AdapterError when the subject's declaration is malformed.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import { checkGuard, declaredGuardCapabilities } from '@budgetry/testing';
 *
 * await checkGuard(({ capacity }) => new AtomicBudget(capacity), {
 *   capabilities: declaredGuardCapabilities(new AtomicBudget(1)),
 *   numRuns: 20,
 * });
 * ```
 */
export function declaredGuardCapabilities(subject: unknown): GuardCapabilities {
  let caps: BudgetCapabilities;
  try {
    caps = capabilitiesOf(subject);
  } catch (error) {
    throw new AdapterError(`the subject's capabilities: ${(error as Error).message}`, {
      member: 'capabilities',
    });
  }
  return {
    available: caps.sync,
    permits: { partialCommit: caps.partialCommit },
    countRelease: caps.countRelease ? 'pool' : 'exact',
    refill:
      caps.schedulable && caps.refill !== undefined
        ? { policy: caps.refill, batch: caps.batchRefill === true }
        : false,
  };
}
