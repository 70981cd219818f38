import {
  AtomicBudget,
  capabilitiesOf,
  type RefillPolicy,
  type SchedulableCapabilities,
  type SyncBudgetGuard,
  type SyncTokenBudget,
} from '@budgetry/core';
import { HierarchyNode } from '../hierarchy/index.js';
import { describe, invalid } from '../internal/member-list.js';
import { isSyncTokenBudget } from '../internal/token-kind.js';

/**
 * What a refill scheduler drives: any budget with a `refill()` that begins a new epoch.
 *
 * @example
 * ```ts
 * import { AtomicTokenBudget } from '@budgetry/core';
 * import type { Refillable } from '@budgetry/compose';
 *
 * const target: Refillable = new AtomicTokenBudget(1_000); // refill(), refillPolicy, debt()
 * target.refill();
 * console.log(target.refillPolicy, target.debt?.()); // 'reset' 0
 * ```
 */
export interface Refillable {
  /**
   * Begin a new epoch (paying debt first, for token budgets); `times` of them at once when the
   * budget declares `batchRefill` (schedulers pass it only then).
   */
  refill(times?: number): void;
  /** The budget's refill policy, when it has one. */
  readonly refillPolicy?: RefillPolicy;
  /** Outstanding debt, for token budgets. */
  debt?(): number;
}

/**
 * A guard a scheduler can refill (for example an `AtomicBudget`).
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import { intervalRefill, type RefillableGuard } from '@budgetry/compose';
 *
 * function perSecond<B extends RefillableGuard>(budget: B) {
 *   return intervalRefill(budget, { intervalMs: 1_000 });
 * }
 * using rps = perSecond(new AtomicBudget(20)); // the timer stops at the end of the scope
 * rps.tryReserveSync(1);
 * ```
 */
export type RefillableGuard = SyncBudgetGuard &
  Refillable & { readonly capabilities: SchedulableCapabilities };
/**
 * A token budget a scheduler can refill (for example an `AtomicTokenBudget`).
 *
 * @example
 * ```ts
 * import { AtomicTokenBudget } from '@budgetry/core';
 * import { lazyRefill, type RefillableTokenBudget } from '@budgetry/compose';
 *
 * const tokens: RefillableTokenBudget = new AtomicTokenBudget(90_000);
 * const tpm = lazyRefill(tokens, { intervalMs: 60_000 });
 * console.log(tpm.debt()); // 0
 * ```
 */
export type RefillableTokenBudget = SyncTokenBudget &
  Refillable & { readonly capabilities: SchedulableCapabilities };

/**
 * Shorthand for a fresh `AtomicBudget`: the scheduler builds it with this capacity and
 * policy, so the policy is stated where the schedule is.
 *
 * @example
 * ```ts
 * import { lazyRefill, type RefillBudgetSpec } from '@budgetry/compose';
 *
 * const spec: RefillBudgetSpec = { capacity: 100, policy: 'carry' };
 * const perMinute = lazyRefill(spec, { intervalMs: 60_000 });
 * console.log(perMinute.budget.refillPolicy); // 'carry'
 * ```
 */
export interface RefillBudgetSpec {
  /** Units per epoch. */
  readonly capacity: number;
  /** `reset` (default) or `carry`: what a refill does with units still held. */
  readonly policy?: RefillPolicy;
  /**
   * Never present: a value that declares capabilities is a budget, not this shorthand (so
   * `lazyRefill(allOf(...))`, which has a capacity, does not compile as one).
   */
  readonly capabilities?: never;
}

/** @internal Resolves the budget a scheduler drives. */
export function toTarget(
  target: unknown,
  what: string,
): { kind: 'guard'; budget: RefillableGuard } | { kind: 'tokens'; budget: RefillableTokenBudget } {
  const caps = capabilitiesOf(target);
  if (caps.schedulable) {
    if (typeof (target as Partial<Refillable>).refill !== 'function') {
      throw invalid(`${what}: a budget that declares itself schedulable must have refill()`, {});
    }
    if (isSyncTokenBudget(target)) {
      return { kind: 'tokens', budget: target as RefillableTokenBudget };
    }
    return { kind: 'guard', budget: target as RefillableGuard };
  }
  if (target instanceof HierarchyNode) {
    // A node below the root has refill() only to refuse it: its epochs are the root's.
    // Refused here, not at the first tick, where the error would end the process.
    throw invalid(
      `${what} can refill only the root of a hierarchy: schedule the root, whose refill covers '${target.path.join('/')}'`,
      { path: target.path },
    );
  }
  // The `{ capacity, policy }` shorthand is a plain object that declares nothing; a budget
  // that is not schedulable (an all-of, a waiting line, a token guard, a budget already on a
  // schedule) must be refused, not replaced by a fresh budget its members would never see.
  const proto =
    typeof target === 'object' && target !== null ? Object.getPrototypeOf(target) : undefined;
  if (
    (proto === Object.prototype || proto === null) &&
    'capacity' in (target as object) &&
    !('capabilities' in (target as object))
  ) {
    const { capacity, policy } = target as RefillBudgetSpec;
    return {
      kind: 'guard',
      budget: new AtomicBudget(capacity, { refillPolicy: policy ?? 'reset' }),
    };
  }
  throw invalid(
    `${what} expects a budget that declares itself schedulable (an AtomicBudget, an AtomicTokenBudget, a hierarchy root) or { capacity, policy }, got ${describe(target)}: a combinator, wrapper or scheduled view has no epochs of its own; schedule the budgets inside it`,
    {},
  );
}
