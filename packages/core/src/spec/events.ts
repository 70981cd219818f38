import type { RefillPolicy } from './refill-policy.js';

/** Fields every {@link BudgetEvent} carries. */
interface EventBase {
  /** The `name` given to the budget at construction, if any. */
  readonly budget: string | undefined;
}

/**
 * What a budget reports to its observer. One discriminated union, so an observer is a single
 * function with a `switch`.
 *
 * - `reserve` / `deny`: a reservation (count, permit or token estimate) was granted or denied.
 * - `release`: units came back; `refunded` is 0 when the units belonged to an older epoch
 *   under the `reset` policy.
 * - `commit`: a permit was committed: its units (or, for a partial commit, `used` of them) stay
 *   spent until a refill; `refunded` says what came back.
 * - `record`: a token reservation was reconciled with actual usage.
 * - `debt`: usage exceeded what was left; `debt` is the outstanding total, `forgiven` what a
 *   debt cap wrote off.
 * - `leak`: a handle was garbage-collected while still armed; `refunded` is what the backstop
 *   returned.
 * - `over-release`: the count API released more than it held; `excess` was ignored.
 * - `refill`: a new epoch began.
 *
 * @example
 * ```ts
 * import { AtomicTokenBudget, type BudgetEvent } from '@budgetry/core';
 *
 * function describe(event: BudgetEvent): string {
 *   switch (event.type) {
 *     case 'debt':
 *       return `${event.budget} owes ${event.debt}`;
 *     case 'leak':
 *       return `${event.budget} leaked ${event.amount}`;
 *     default:
 *       return event.type;
 *   }
 * }
 * const tokens = new AtomicTokenBudget(10, { name: 'tokens', observer: (e) => console.log(describe(e)) });
 * ```
 */
export type BudgetEvent =
  | (EventBase & { readonly type: 'reserve'; readonly cost: number; readonly available: number })
  | (EventBase & { readonly type: 'deny'; readonly cost: number; readonly available: number })
  | (EventBase & {
      readonly type: 'release';
      readonly cost: number;
      readonly refunded: number;
      readonly available: number;
    })
  | (EventBase & {
      readonly type: 'commit';
      readonly cost: number;
      /** Units kept spent (the whole cost unless the commit was partial). */
      readonly used: number;
      /** Units the partial commit returned to the pool (0 when fenced off by a reset). */
      readonly refunded: number;
    })
  | (EventBase & {
      readonly type: 'record';
      readonly estimate: number;
      readonly actual: number;
      readonly available: number;
      readonly debt: number;
    })
  | (EventBase & { readonly type: 'debt'; readonly debt: number; readonly forgiven: number })
  | (EventBase & { readonly type: 'leak'; readonly amount: number; readonly refunded: number })
  | (EventBase & {
      readonly type: 'over-release';
      readonly requested: number;
      readonly accepted: number;
      readonly excess: number;
    })
  | (EventBase & {
      readonly type: 'refill';
      readonly epoch: number;
      readonly policy: RefillPolicy;
      readonly available: number;
    });

/**
 * Receives every {@link BudgetEvent} of the budget it is attached to. Budgets build event
 * objects only when an observer is attached, so an absent observer costs one branch.
 * An observer's exceptions never reach the caller of the operation (which has already
 * happened: a reservation that succeeded must not look like a failure whose units nobody
 * releases) and never stop other listeners: they are reported as a process warning of type
 * `BudgetryObserverWarning`.
 *
 * @example
 * ```ts
 * import { AtomicBudget, type BudgetObserver } from '@budgetry/core';
 *
 * const denials: number[] = [];
 * const observer: BudgetObserver = (event) => {
 *   if (event.type === 'deny') denials.push(event.cost);
 * };
 * const rows = new AtomicBudget(100, { observer });
 * rows.tryReserveSync(500); // denied: denials is [500]
 * ```
 */
export type BudgetObserver = (event: BudgetEvent) => void;
