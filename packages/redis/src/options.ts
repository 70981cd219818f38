import { type CalendarSchedule, calendarSchedule } from '@budgetry/compose';
import { BudgetError, type BudgetObserver, type RefillPolicy } from '@budgetry/core';
import type { RedisScriptClient } from './script-runner.js';

/**
 * What a Redis budget does when Redis cannot answer a request for units (unreachable, timed
 * out, out of memory):
 * - `closed` (default): the request rejects with a `BudgetError` (`BACKEND` or `TIMEOUT`,
 *   the client's error as `cause`). Nothing is admitted that the budget did not grant.
 * - `open`: the request is granted locally, unbacked, and the failure is reported as an
 *   `onFailOpen` call; the budget's limit does not hold for what is admitted that way.
 *
 * Settling (release, commit, recordUsage) always rejects on a failure, whichever the policy:
 * it can be retried, and a lease nobody settles comes back when it expires.
 *
 * @example
 * ```ts
 * import type { FailurePolicy } from '@budgetry/redis';
 * const policy: FailurePolicy = 'open'; // availability over exactness, for this budget
 * ```
 */
export type FailurePolicy = 'closed' | 'open';

/**
 * Options of {@link RedisBudget}.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import type { RedisBudgetOptions } from '@budgetry/redis';
 *
 * const options: RedisBudgetOptions = {
 *   redis: new Redis({ lazyConnect: true }),
 *   name: 'tenant:acme',
 *   refillEveryMs: 60_000,
 *   leaseMs: 30_000,
 * };
 * ```
 */
export interface RedisBudgetOptions {
  /** The client (an ioredis `Redis` or `Cluster`); the budget never connects or quits it. */
  redis: RedisScriptClient;
  /** The budget's name: every process using the same name shares one budget. Data, escaped. */
  name: string;
  /** Prepended to every key (default `budgetry`); no `{` or `}`. */
  keyPrefix?: string;
  /**
   * The hash tag to keep the budget's keys under, instead of its own name: budgets given the
   * same `slot` live in one Redis Cluster slot, which a `RedisAllOf` over them needs on a
   * Cluster. Data, escaped like `name`; non-empty. Changing it moves the budget to new keys.
   */
  slot?: string;
  /** What a refill does with units still held (default `reset`). */
  refillPolicy?: RefillPolicy;
  /**
   * Begin a new epoch every this many milliseconds of the Redis server's clock, counted from
   * when the budget's state was created on the server (default: never; call `refill()`).
   */
  refillEveryMs?: number;
  /**
   * Begin a new epoch at each calendar boundary — minute, hour, day, week or month — of the
   * wall clock in an IANA time zone (as compose's `calendarRefill`), on the Redis server's
   * clock: the client sends the boundaries around the current one, the script decides by
   * `TIME` which epoch it is in. Not with `refillEveryMs`. A hierarchy begins the new epoch
   * for the whole tree; an all-of follows each member's own.
   */
  refillCalendar?: RedisCalendar;
  /**
   * How long a permit or token reservation is held before Redis takes it back and refunds it
   * (default 60 000). A process that dies holding one loses it for at most this long.
   */
  leaseMs?: number;
  /**
   * How long settled operations are remembered, so a retry is recognised (default 600 000; at
   * most 2^40, about 34 years).
   */
  idempotencyWindowMs?: number;
  /** What happens when Redis cannot answer a request for units (default `closed`). */
  failure?: FailurePolicy;
  /** Told every failure that `failure: 'open'` turned into a grant. */
  onFailOpen?: (error: BudgetError) => void;
  /** Longest wait for Redis per call, in milliseconds (default 2 000; `Infinity` for none). */
  timeoutMs?: number;
  /**
   * Most calls sent to Redis as one script call (default 32; 1 sends each alone). The calls
   * this budget object makes in one turn of the event loop go together, in order, each
   * applied and answered exactly as if sent alone; the script's fixed work is paid once for
   * them all. A batch that fails fails for each of its calls.
   */
  maxBatch?: number;
  /** Make a count-API release beyond what is held throw `OVER_RELEASE` (default `false`). */
  strict?: boolean;
  /** Receives the events of this process's calls, and `leak` for leases it saw expire. */
  observer?: BudgetObserver;
}

/**
 * Options of {@link RedisTokenBudget}: those of {@link RedisBudgetOptions} and a debt cap.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import type { RedisTokenBudgetOptions } from '@budgetry/redis';
 *
 * const options: RedisTokenBudgetOptions = {
 *   redis: new Redis({ lazyConnect: true }),
 *   name: 'openai-tpm',
 *   refillEveryMs: 60_000,
 *   maxDebt: 20_000,
 * };
 * ```
 */
export interface RedisTokenBudgetOptions extends RedisBudgetOptions {
  /** The most debt carried; overage beyond it is written off and counted (default: none). */
  maxDebt?: number;
  /** Refund reservations garbage-collected while armed, as core's budgets do (default `true`). */
  leakBackstop?: boolean;
}

/**
 * Options of {@link RedisHierarchy}: those of {@link RedisBudgetOptions}, for the whole tree.
 * `name` names the tree (every process opening the same name shares it); `refillEveryMs`
 * begins an epoch for the whole tree at once; refills are always `reset`.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import type { RedisHierarchyOptions } from '@budgetry/redis';
 *
 * const options: RedisHierarchyOptions = {
 *   redis: new Redis({ lazyConnect: true }),
 *   name: 'llm-tokens',
 *   refillEveryMs: 60_000,
 *   leaseMs: 30_000,
 * };
 * ```
 */
export interface RedisHierarchyOptions extends Omit<RedisBudgetOptions, 'refillPolicy'> {
  /** Only `reset`: a new epoch starts every node empty and fences older reservations off. */
  refillPolicy?: 'reset';
}

/**
 * Options of one request for a lease: {@link RedisBudget.tryAcquire},
 * {@link RedisTokenBudget.tryReserveTokens}, {@link RedisHierarchyNode.tryAcquire}.
 *
 * @example
 * ```ts
 * import type { AcquireOptions } from '@budgetry/redis';
 * const longJob: AcquireOptions = { leaseMs: 10 * 60_000 };
 * ```
 */
export interface AcquireOptions {
  /** This lease's length (default: the budget's `leaseMs`). */
  readonly leaseMs?: number;
}

/**
 * Calendar epochs for a Redis budget (`refillCalendar`): `unit`, `timeZone` (default `'UTC'`)
 * and `weekStartsOn` (0 = Sunday … 6, default 1) as in compose's `calendarRefill`.
 *
 * @example
 * ```ts
 * import type { RedisCalendar } from '@budgetry/redis';
 *
 * const monthlyInNewYork: RedisCalendar = { unit: 'month', timeZone: 'America/New_York' };
 * ```
 */
export interface RedisCalendar {
  readonly unit: 'minute' | 'hour' | 'day' | 'week' | 'month';
  readonly timeZone?: string;
  readonly weekStartsOn?: number;
}

/** @internal Options with defaults applied. */
export interface ResolvedOptions {
  readonly redis: RedisScriptClient;
  readonly name: string;
  readonly keyPrefix: string;
  readonly slot: string | undefined;
  readonly refillPolicy: RefillPolicy;
  readonly refillEveryMs: number;
  /** The calendar, its boundaries computed, and its text for the stored configuration. */
  readonly calendar:
    | { readonly schedule: CalendarSchedule; readonly text: string; readonly unit: string }
    | undefined;
  readonly leaseMs: number;
  readonly idempotencyWindowMs: number;
  readonly failure: FailurePolicy;
  readonly onFailOpen: ((error: BudgetError) => void) | undefined;
  readonly timeoutMs: number;
  readonly maxBatch: number;
  readonly strict: boolean;
  readonly observer: BudgetObserver | undefined;
  readonly maxDebt: number;
  readonly leakBackstop: boolean;
}

/** @internal An `INVALID_ARGUMENT` error for option `name`: what it must be, what it was. */
export function invalid(name: string, value: unknown, expected: string): BudgetError {
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return new BudgetError({
    code: 'INVALID_ARGUMENT',
    message: `option ${name} must be ${expected}, got ${typeof value === 'object' ? typeof value : shown}`,
    details: { name, value },
  });
}

function positiveMs(value: unknown, name: string, fallback: number, infinite = false): number {
  if (value === undefined) return fallback;
  if (infinite && value === Number.POSITIVE_INFINITY) return value;
  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    throw invalid(name, value, `a positive safe integer of milliseconds`);
  }
  return value as number;
}

/**
 * The longest idempotency window: a record's forget time (server time plus the window) must
 * stay below 2^52, where the graveyard's members listing a call's records begin.
 */
const longestWindowMs = 2 ** 40;

function windowMs(value: unknown): number {
  const ms = positiveMs(value, 'idempotencyWindowMs', 600_000);
  if (ms > longestWindowMs) {
    throw invalid('idempotencyWindowMs', value, 'at most 2^40 milliseconds (about 34 years)');
  }
  return ms;
}

function oneOf<T extends string>(value: unknown, name: string, allowed: readonly T[]): T {
  if (value === undefined) return allowed[0]!;
  if (!allowed.includes(value as T)) {
    throw invalid(name, value, allowed.map((a) => `'${a}'`).join(' or '));
  }
  return value as T;
}

function optionalFunction<F>(value: unknown, name: string): F | undefined {
  if (value !== undefined && typeof value !== 'function') throw invalid(name, value, 'a function');
  return value as F | undefined;
}

/** @internal Validates options before anything is sent. */
export function resolveOptions(options: unknown, token: boolean): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw invalid('options', options, 'an object with redis and name');
  }
  const o = options as Record<string, unknown>;
  const redis = o['redis'] as RedisScriptClient | undefined;
  if (
    typeof redis !== 'object' ||
    redis === null ||
    typeof redis.evalsha !== 'function' ||
    typeof redis.eval !== 'function'
  ) {
    throw invalid('redis', redis, 'a Redis client with evalsha() and eval() (ioredis)');
  }
  if (typeof o['name'] !== 'string' || o['name'].length === 0) {
    throw invalid('name', o['name'], 'a non-empty string');
  }
  const keyPrefix = o['keyPrefix'] ?? 'budgetry';
  if (typeof keyPrefix !== 'string') throw invalid('keyPrefix', keyPrefix, 'a string');
  const slot = o['slot'];
  if (slot !== undefined && (typeof slot !== 'string' || slot.length === 0)) {
    throw invalid('slot', slot, 'a non-empty string');
  }
  for (const flag of ['strict', 'leakBackstop']) {
    if (o[flag] !== undefined && typeof o[flag] !== 'boolean') {
      throw invalid(flag, o[flag], 'a boolean');
    }
  }
  let maxDebt = Number.POSITIVE_INFINITY;
  if (token && o['maxDebt'] !== undefined && o['maxDebt'] !== Number.POSITIVE_INFINITY) {
    if (!Number.isSafeInteger(o['maxDebt']) || (o['maxDebt'] as number) < 0) {
      throw invalid('maxDebt', o['maxDebt'], 'a non-negative safe integer');
    }
    maxDebt = o['maxDebt'] as number;
  }
  return {
    redis,
    name: o['name'],
    keyPrefix,
    slot,
    refillPolicy: oneOf(o['refillPolicy'], 'refillPolicy', ['reset', 'carry'] as const),
    refillEveryMs: positiveMs(o['refillEveryMs'], 'refillEveryMs', 0),
    calendar: calendarOf(o['refillCalendar'], o['refillEveryMs']),
    leaseMs: positiveMs(o['leaseMs'], 'leaseMs', 60_000),
    idempotencyWindowMs: windowMs(o['idempotencyWindowMs']),
    failure: oneOf(o['failure'], 'failure', ['closed', 'open'] as const),
    onFailOpen: optionalFunction(o['onFailOpen'], 'onFailOpen'),
    timeoutMs: positiveMs(o['timeoutMs'], 'timeoutMs', 2_000, true),
    maxBatch: batchSize(o['maxBatch']),
    strict: (o['strict'] as boolean | undefined) ?? false,
    observer: optionalFunction(o['observer'], 'observer'),
    maxDebt,
    leakBackstop: (o['leakBackstop'] as boolean | undefined) ?? true,
  };
}

/** Most calls one script call may carry: Redis is sent a few arguments for each. */
const batchLimit = 1_000;

function batchSize(value: unknown): number {
  if (value === undefined) return 32;
  if (!Number.isSafeInteger(value) || (value as number) < 1 || (value as number) > batchLimit) {
    throw invalid('maxBatch', value, `an integer from 1 to ${batchLimit}`);
  }
  return value as number;
}

/** The `refillCalendar` option checked, with its schedule built once. */
function calendarOf(value: unknown, every: unknown): ResolvedOptions['calendar'] {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) {
    throw invalid('refillCalendar', value, "an object such as { unit: 'day', timeZone: 'UTC' }");
  }
  if (every !== undefined && every !== 0) {
    throw invalid(
      'refillCalendar',
      value,
      'not given with refillEveryMs (one schedule per budget)',
    );
  }
  const { unit, timeZone = 'UTC', weekStartsOn = 1 } = value as RedisCalendar;
  const schedule = calendarSchedule({ unit, timeZone, weekStartsOn });
  // ':' and '|' cannot occur in a unit or an IANA zone name; '@' separates the boundaries.
  return { schedule, unit, text: `cal:${unit}:${timeZone}:${weekStartsOn}` };
}
