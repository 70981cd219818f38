import { assertAmount } from '../spec/amount.js';
import { BudgetError } from '../spec/budget-error.js';
import { invalidOption } from './options.js';
import { checkUsed } from './sync-permit-base.js';
import { TokenReservation } from './token-reservation.js';

/**
 * @internal Validates a schedule a budget is asked to follow (see
 * `AtomicBudget.followSchedule`): a function, and no other schedule attached.
 */
export function checkSchedule(
  catchUp: unknown,
  attached: boolean,
  budget: string | undefined,
): asserts catchUp is () => void {
  if (typeof catchUp !== 'function') throw invalidOption('followSchedule', catchUp, 'a function');
  if (attached) {
    throw new BudgetError({
      code: 'INVALID_ARGUMENT',
      message: 'this budget already follows a refill schedule; detach it first',
      details: { budget },
    });
  }
}

/** @internal How a method's arguments are checked before the schedule may catch up. */
export type ArgCheck = 'none' | 'amount' | 'estimate' | 'usage' | 'used-3';

/**
 * @internal Makes `target` run `catchUp` before each of `methods` (and before reading each of
 * `getters`), by own properties that shadow the prototype's: a budget that follows no
 * schedule keeps its prototype methods and pays nothing. Arguments are checked first, so a
 * rejected call is never the one that applies a due refill.
 *
 * @returns a function that removes the own properties again.
 */
export function interpose(
  target: object,
  methods: readonly (readonly [string | symbol, ArgCheck])[],
  getters: readonly string[],
  catchUp: () => void,
): () => void {
  const proto = Object.getPrototypeOf(target) as Record<string | symbol, unknown>;
  const own = target as Record<string | symbol, unknown>;
  for (const [name, check] of methods) {
    const original = proto[name] as (...args: unknown[]) => unknown;
    own[name] = function scheduled(this: unknown, ...args: unknown[]): unknown {
      if (check === 'amount') assertAmount(args[0], 'cost');
      else if (check === 'estimate') assertAmount(args[0], 'estimate');
      else if (check === 'usage') {
        // A handle the budget will refuse (not a reservation, another budget's, settled): the
        // budget's own method throws for it, before anything has caught up.
        if (!TokenReservation.recordable(this as object, args[0], args[1], args[2])) {
          return original.apply(this, args);
        }
      } else if (check === 'used-3' && args[3] !== undefined) {
        checkUsed(args[3], (args[0] as { cost: number }).cost);
      }
      catchUp();
      return original.apply(this, args);
    };
  }
  for (const name of getters) {
    const descriptor = Object.getOwnPropertyDescriptor(proto, name);
    const get = descriptor?.get;
    if (get === undefined) continue;
    Object.defineProperty(target, name, {
      configurable: true,
      get(this: unknown) {
        catchUp();
        return get.call(this);
      },
    });
  }
  return () => {
    for (const [name] of methods) delete own[name];
    for (const name of getters) delete own[name];
  };
}

/** @internal The methods of `AtomicTokenBudget` a schedule catches up before (see followSchedule), with how their arguments are checked first. */
export const TOKEN_BUDGET_SCHEDULED: readonly (readonly [string | symbol, ArgCheck])[] = [
  ['tryReserveTokensSync', 'estimate'],
  ['recordUsageSync', 'usage'],
  ['tryReserveSync', 'amount'],
  ['releaseSync', 'amount'],
  ['available', 'none'],
  ['debt', 'none'],
  ['reserved', 'none'],
  ['snapshot', 'none'],
  ['refundFrom', 'none'],
];
