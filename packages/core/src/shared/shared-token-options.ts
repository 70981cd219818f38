import type { AtomicTokenBudgetSnapshot } from '../budgets/atomic-options.js';
import { checkMaxDebt } from '../budgets/options.js';
import { systemClock } from '../budgets/system-clock.js';
import { checkRefillPolicy } from '../spec/refill-policy.js';
import {
  KIND_TOKENS,
  L_STATE,
  laneI32,
  S_AVAIL,
  S_CAPACITY,
  S_CONSUMED,
  S_EPOCH,
  S_FORGIVEN,
  S_HELD,
  S_LEAKS,
  S_MAX_DEBT,
  S_OVER_RELEASED,
  S_RECLAIMED,
  S_RECLAIMED_LANES,
  W_WAITING,
} from './layout.js';
import { SharedRegion } from './region.js';
import { checkSharedOptions, type SharedBudgetOptions } from './shared-options.js';

/**
 * Options for a {@link SharedTokenBudget}'s creator: the shared settings of
 * {@link SharedBudgetOptions} and the debt cap of `AtomicTokenBudgetOptions`.
 *
 * @example
 * ```ts
 * import { SharedTokenBudget, type SharedTokenBudgetOptions } from '@budgetry/core';
 *
 * const options: SharedTokenBudgetOptions = { maxDebt: 5_000, name: 'tokens', maxHandles: 8 };
 * const tokens = new SharedTokenBudget(100_000, options);
 * tokens.close();
 * ```
 */
export interface SharedTokenBudgetOptions extends SharedBudgetOptions {
  /**
   * The most debt the budget carries, across all threads; overage beyond it is written off,
   * counted in `forgivenDebt()` and reported. Default: unlimited (exact up to 2^53 − 1).
   */
  maxDebt?: number;
}

/**
 * A point-in-time view of a {@link SharedTokenBudget}, read in one step across all threads:
 * the fields of an `AtomicTokenBudget`'s snapshot and the lease counters.
 *
 * @example
 * ```ts
 * import { SharedTokenBudget } from '@budgetry/core';
 *
 * const tokens = new SharedTokenBudget(100);
 * tokens.recordUsageSync(tokens.tryReserveTokensSync(100)!, 120, 0);
 * const { available, debt, consumed, handles } = tokens.snapshot(); // 0, 20, 120, 1
 * tokens.close();
 * ```
 */
export interface SharedTokenBudgetSnapshot extends AtomicTokenBudgetSnapshot {
  /** Tokens given back because the handle holding them expired or its thread exited. */
  readonly reclaimed: number;
  /** Handles whose holds were given back that way. */
  readonly reclaimedHandles: number;
  /** Handles open now, across all threads. */
  readonly handles: number;
  /** Callers waiting now, across all threads (a token budget has no waiting line: 0). */
  readonly waiting: number;
}

/** @internal Every counter of a shared token budget, read under the lock. */
export function readTokenSnapshot(region: SharedRegion): SharedTokenBudgetSnapshot {
  const f = region.f64;
  region.lock();
  let handles = 0;
  for (let i = 0; i < region.lanes; i++) {
    if (region.i32[laneI32(i) + L_STATE] === 1) handles++;
  }
  const net = f[S_AVAIL]!;
  const snapshot: SharedTokenBudgetSnapshot = {
    capacity: f[S_CAPACITY]!,
    available: Math.max(net, 0),
    debt: net < 0 ? -net : 0,
    reserved: f[S_HELD]!,
    overReleased: f[S_OVER_RELEASED]!,
    consumed: f[S_CONSUMED]!,
    epoch: f[S_EPOCH]!,
    forgivenDebt: f[S_FORGIVEN]!,
    leaks: f[S_LEAKS]!,
    reclaimed: f[S_RECLAIMED]!,
    reclaimedHandles: f[S_RECLAIMED_LANES]!,
    handles,
    waiting: region.i32[W_WAITING]!,
  };
  region.unlock();
  return snapshot;
}

/** @internal A new, full token budget's memory, its settings checked. */
export function createTokenRegion(
  capacity: number,
  options: SharedTokenBudgetOptions,
): SharedRegion {
  const checked = checkSharedOptions(capacity, options);
  const maxDebt = checkMaxDebt(options.maxDebt);
  const policy = checkRefillPolicy(options.refillPolicy);
  const region = SharedRegion.create(
    {
      kind: KIND_TOKENS,
      capacity,
      carry: policy === 'carry',
      strict: options.strict ?? false,
      lanes: checked.maxHandles,
      waitSlots: checked.maxWaiters,
      leaseMs: checked.leaseMs,
    },
    options.clock ?? systemClock,
    options.name,
  );
  region.f64[S_MAX_DEBT] = maxDebt; // before any other thread can see the buffer
  return region;
}
