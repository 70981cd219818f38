import { assertAmount, type BudgetError } from '@budgetry/core';
import { LEASE_SHARE_ALGORITHMS, type LeaseShareAlgorithm } from './lease-share.js';
import { invalid } from './options.js';
import type { RedisScriptClient } from './script-runner.js';

/**
 * Options of {@link RedisLeasedBudget}.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import type { RedisLeasedBudgetOptions } from '@budgetry/redis';
 *
 * const options: RedisLeasedBudgetOptions = {
 *   redis: new Redis({ lazyConnect: true }),
 *   name: 'crawler-connections',
 *   algorithm: 'proportional',
 *   leaseMs: 10_000,
 * };
 * ```
 */
export interface RedisLeasedBudgetOptions {
  /** The client (an ioredis `Redis` or `Cluster`); the budget never connects or quits it. */
  redis: RedisScriptClient;
  /** The pool's name: every process opening the same name shares its capacity. Data, escaped. */
  name: string;
  /** Prepended to every key (default `budgetry`); no `{` or `}`. */
  keyPrefix?: string;
  /** How the pool divides its capacity when over-subscribed (default `equal`). */
  algorithm?: LeaseShareAlgorithm;
  /**
   * How long a lease lasts without renewal, in ms of the Redis server's clock (default
   * 10 000). A process that dies strands its slice for at most this long.
   */
  leaseMs?: number;
  /** How often the lease is renewed and re-divided (default `leaseMs / 2`; less than `leaseMs`). */
  renewEveryMs?: number;
  /** Longest wait for Redis per call (default: `leaseMs / 2`, at most 2 000). */
  timeoutMs?: number;
  /**
   * What this process wants, asked at every renewal: a non-negative safe integer of units,
   * capped at capacity. Default: what it used since the last renewal — the most it held at
   * once plus what it was refused — times `1 + headroom`.
   */
  wants?: () => number;
  /** The margin added to the observed demand (default 0.5: ask for half as much again). */
  headroom?: number;
  /** What this process asks for when it opens the budget (default: `wants()`, else capacity). */
  initialWants?: number;
  /** Make a release beyond what is held throw `OVER_RELEASE` (default `false`: clamp, count). */
  strict?: boolean;
  /** Told every failed renewal or return (the budget keeps serving its current lease). */
  onError?: (error: BudgetError) => void;
}

/** @internal Options with defaults applied. */
export interface ResolvedLeasedOptions {
  readonly redis: RedisScriptClient;
  readonly name: string;
  readonly keyPrefix: string;
  readonly algorithm: LeaseShareAlgorithm;
  readonly leaseMs: number;
  readonly renewEveryMs: number;
  readonly timeoutMs: number;
  readonly wants: (() => number) | undefined;
  readonly headroom: number;
  readonly initialWants: number | undefined;
  readonly strict: boolean;
  readonly onError: ((error: BudgetError) => void) | undefined;
}

function ms(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    throw invalid(name, value, 'a positive safe integer of milliseconds');
  }
  return value as number;
}

function fn<F>(value: unknown, name: string): F | undefined {
  if (value !== undefined && typeof value !== 'function') throw invalid(name, value, 'a function');
  return value as F | undefined;
}

/** @internal Validates the capacity and options before anything is sent. */
export function resolveLeasedOptions(capacity: number, options: unknown): ResolvedLeasedOptions {
  assertAmount(capacity, 'capacity');
  if (typeof options !== 'object' || options === null) {
    throw invalid('options', options, 'an object with redis and name');
  }
  const o = options as Record<string, unknown>;
  const redis = o['redis'] as RedisScriptClient | undefined;
  if (typeof redis?.evalsha !== 'function' || typeof redis.eval !== 'function') {
    throw invalid('redis', redis, 'a Redis client with evalsha() and eval() (ioredis)');
  }
  if (typeof o['name'] !== 'string' || o['name'].length === 0) {
    throw invalid('name', o['name'], 'a non-empty string');
  }
  const keyPrefix = o['keyPrefix'] ?? 'budgetry';
  if (typeof keyPrefix !== 'string') throw invalid('keyPrefix', keyPrefix, 'a string');
  const algorithm = o['algorithm'] ?? 'equal';
  if (!LEASE_SHARE_ALGORITHMS.includes(algorithm as LeaseShareAlgorithm)) {
    throw invalid('algorithm', algorithm, "'equal' or 'proportional'");
  }
  const leaseMs = ms(o['leaseMs'], 'leaseMs', 10_000);
  const renewEveryMs = ms(o['renewEveryMs'], 'renewEveryMs', Math.max(1, Math.floor(leaseMs / 2)));
  if (renewEveryMs >= leaseMs) {
    throw invalid('renewEveryMs', renewEveryMs, `less than leaseMs (${leaseMs})`);
  }
  const timeoutMs = ms(
    o['timeoutMs'],
    'timeoutMs',
    Math.max(1, Math.min(2_000, Math.floor(leaseMs / 2))),
  );
  const headroom = o['headroom'] ?? 0.5;
  if (typeof headroom !== 'number' || !Number.isFinite(headroom) || headroom < 0) {
    throw invalid('headroom', headroom, 'a finite number ≥ 0');
  }
  const initialWants = o['initialWants'];
  if (initialWants !== undefined) assertAmount(initialWants, 'initialWants');
  if (o['strict'] !== undefined && typeof o['strict'] !== 'boolean') {
    throw invalid('strict', o['strict'], 'a boolean');
  }
  return {
    redis,
    name: o['name'],
    keyPrefix,
    algorithm: algorithm as LeaseShareAlgorithm,
    leaseMs,
    renewEveryMs,
    timeoutMs,
    wants: fn(o['wants'], 'wants'),
    headroom,
    initialWants:
      initialWants === undefined ? undefined : Math.min(initialWants as number, capacity),
    strict: (o['strict'] as boolean | undefined) ?? false,
    onError: fn(o['onError'], 'onError'),
  };
}
