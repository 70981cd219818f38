import { BudgetError } from './budget-error.js';
import type { RefillPolicy } from './refill-policy.js';

/**
 * What a budget declares it can do, so combinators, schedulers and the coordinator decide
 * from a declaration instead of probing for methods. Every budget in budgetry declares one;
 * wrappers forward what they wrap. A budget written elsewhere may declare one too (a
 * `capabilities` property); one that does not is treated as
 * {@link NO_CAPABILITIES}: the plain Promise interface and nothing more.
 *
 * @example
 * ```ts
 * import { AtomicBudget, capabilitiesOf } from '@budgetry/core';
 *
 * const caps = capabilitiesOf(new AtomicBudget(10, { refillPolicy: 'carry' }));
 * console.log(caps.partialCommit, caps.refill, caps.schedulable); // true 'carry' true
 * ```
 */
export interface BudgetCapabilities {
  /**
   * Synchronous twins (`tryReserveSync`, `releaseSync`, `tryAcquireSync`, `available()`, or
   * the token budget's `…Sync` methods) that answer in the same turn.
   */
  readonly sync: boolean;
  /**
   * `tryReserve(cost)` / `release(cost)` return units to a shared pool: a release of a cost
   * no reservation of exactly that cost holds is still honoured, up to what is held.
   */
  readonly countRelease: boolean;
  /**
   * `permit.commit(used)` keeps `used` units spent and returns the rest in the same atomic
   * step, to the permit's epoch. Without it a permit commits all of its units or none.
   */
  readonly partialCommit: boolean;
  /** `retryAfterMs(cost)` says when a denied cost could fit. */
  readonly retryHint: boolean;
  /**
   * How a refill treats units still held: `reset` or `carry` for budgets with epochs;
   * `undefined` for budgets that never begin an epoch (a continuous token bucket or sliding
   * window, a combinator whose members each have their own).
   */
  readonly refill: RefillPolicy | undefined;
  /**
   * A refill scheduler may drive it: it has `refill()`, follows one schedule
   * (`followSchedule`) and owns its epochs. Views, combinators and hierarchy nodes below
   * the root do not.
   */
  readonly schedulable: boolean;
  /**
   * `refill(times)` applies `times` refills in one step, exactly as that many calls would (a
   * schedule catching up after a long idle period makes one call, however many boundaries
   * passed). Optional: absent means no.
   */
  readonly batchRefill?: boolean;
}

/**
 * The capabilities of a budget that declares none: only the Promise interface.
 *
 * @example
 * ```ts
 * import { capabilitiesOf, NO_CAPABILITIES } from '@budgetry/core';
 * console.log(capabilitiesOf({}) === NO_CAPABILITIES); // true
 * ```
 */
export const NO_CAPABILITIES: BudgetCapabilities = Object.freeze({
  sync: false,
  countRelease: false,
  partialCommit: false,
  retryHint: false,
  refill: undefined,
  schedulable: false,
});

const FLAGS = ['sync', 'countRelease', 'partialCommit', 'retryHint', 'schedulable'] as const;

/**
 * The capabilities `budget` declares, checked; {@link NO_CAPABILITIES} when it declares none.
 *
 * @param budget - any value.
 * @returns the declaration.
 * @throws BudgetError `INVALID_ARGUMENT` for a `capabilities` property that throws when read or
 * is not a valid declaration (a flag that is not a boolean, a refill policy other than `reset`, `carry` or
 * `undefined`).
 *
 * @example
 * ```ts
 * import { capabilitiesOf } from '@budgetry/core';
 *
 * const custom = { capabilities: { sync: false, countRelease: true, partialCommit: false,
 *   retryHint: false, refill: undefined, schedulable: false } };
 * console.log(capabilitiesOf(custom).countRelease); // true
 * ```
 */
export function capabilitiesOf(budget: unknown): BudgetCapabilities {
  if (typeof budget !== 'object' || budget === null) return NO_CAPABILITIES;
  let caps: unknown;
  try {
    caps = (budget as { capabilities?: unknown }).capabilities;
  } catch (error) {
    throw new BudgetError({
      code: 'INVALID_ARGUMENT',
      message: `reading a budget's capabilities threw: ${error instanceof Error ? error.message : String(error)}`,
      cause: error,
      details: {},
    });
  }
  if (caps === undefined) return NO_CAPABILITIES;
  if (typeof caps !== 'object' || caps === null) throw badDeclaration('an object', caps);
  const c = caps as Record<string, unknown>;
  for (const flag of FLAGS) {
    if (typeof c[flag] !== 'boolean') throw badDeclaration(`${flag} as a boolean`, c[flag]);
  }
  if (c.batchRefill !== undefined && typeof c.batchRefill !== 'boolean') {
    throw badDeclaration('batchRefill as a boolean, if at all', c.batchRefill);
  }
  if (c.refill !== undefined && c.refill !== 'reset' && c.refill !== 'carry') {
    throw badDeclaration("refill as 'reset', 'carry' or undefined", c.refill);
  }
  return caps as BudgetCapabilities;
}

function badDeclaration(expected: string, value: unknown): BudgetError {
  return new BudgetError({
    code: 'INVALID_ARGUMENT',
    message: `a budget's capabilities must declare ${expected}, got ${typeof value}`,
    details: { value },
  });
}

/**
 * The capabilities of a budget a refill scheduler can drive: synchronous, with epochs of its
 * own under a refill policy. The schedulers' parameter types require it, so
 * `lazyRefill(allOf(...))` does not compile.
 *
 * @example
 * ```ts
 * import { AtomicBudget, type SchedulableCapabilities } from '@budgetry/core';
 * const caps: SchedulableCapabilities = new AtomicBudget(5).capabilities;
 * console.log(caps.refill); // 'reset'
 * ```
 */
export interface SchedulableCapabilities extends BudgetCapabilities {
  readonly sync: true;
  readonly schedulable: true;
  readonly refill: RefillPolicy;
}

/** @internal The declaration of core's atomic budgets under `policy`. */
export function schedulableCapabilities(
  policy: RefillPolicy,
  partialCommit = true,
): SchedulableCapabilities {
  return Object.freeze({
    sync: true,
    countRelease: true,
    partialCommit,
    retryHint: false,
    refill: policy,
    schedulable: true,
    batchRefill: true,
  } as const);
}

/** @internal The declaration of the continuous rate limiters (token bucket, sliding window). */
export const RATE_LIMITER_CAPABILITIES: BudgetCapabilities = Object.freeze({
  sync: true,
  countRelease: true,
  partialCommit: true,
  retryHint: true,
  refill: undefined,
  schedulable: false,
});
