import type { BudgetEvent, BudgetObserver } from '@budgetry/core';
import { warn } from '../internal/report.js';

/**
 * @internal One `subscribe` call: its own object, so that unsubscribing removes exactly it,
 * even when the same function was subscribed more than once.
 */
export interface Subscription {
  readonly listener: BudgetObserver;
}

/**
 * @internal Delivers `event` to every subscription of a tree's list (a snapshot: the list is
 * copied on write, so a listener that unsubscribes, or subscribes another, does not disturb
 * the delivery). A listener that throws stops neither the others nor the operation that
 * already happened: its error is reported as a process warning, as core's observers' are.
 */
export function tell(list: readonly Subscription[], event: BudgetEvent): void {
  for (const s of list) {
    try {
      s.listener(event);
    } catch (error) {
      warn('BudgetryObserverWarning', 'a hierarchy listener threw', error);
    }
  }
}
