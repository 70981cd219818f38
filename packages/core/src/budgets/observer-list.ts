import type { BudgetObserver } from '../spec/events.js';
import { invalidOption } from './options.js';

/**
 * @internal The listeners added by `subscribe()` on a budget, beside the observer given at
 * construction. Created on the first `subscribe`, so a budget that never has one pays nothing.
 * It installs a single fan-out function as the budget's observer; the list is copied on write,
 * so a listener that unsubscribes while an event is delivered does not disturb the delivery.
 */
export class ObserverList {
  private listeners: readonly BudgetObserver[] = [];

  constructor(
    private readonly own: BudgetObserver | undefined,
    private readonly install: (observer: BudgetObserver | undefined) => void,
  ) {}

  add(listener: BudgetObserver): () => void {
    if (typeof listener !== 'function') throw invalidOption('listener', listener, 'a function');
    this.listeners = [...this.listeners, listener];
    this.refresh();
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      const at = this.listeners.indexOf(listener);
      this.listeners = this.listeners.filter((_, i) => i !== at);
      this.refresh();
    };
  }

  private refresh(): void {
    const own = this.own;
    const list = this.listeners;
    this.install(
      list.length === 0
        ? own
        : (event) => {
            own?.(event);
            // Every listener is told, whatever an earlier one does.
            for (const listener of list) {
              try {
                listener(event);
              } catch (error) {
                reportObserverFailure(error);
              }
            }
          },
    );
  }
}

/**
 * @internal The observer a budget calls: `observer` with its exceptions caught and reported as
 * a process warning. A budget's accounting never depends on an observer: an observer that
 * throws cannot make a reservation that succeeded look like a failure to its caller (whose
 * units would then be held with nobody to release them).
 */
export function guardObserver(observer: BudgetObserver | undefined): BudgetObserver | undefined {
  if (observer === undefined) return undefined;
  return (event) => {
    try {
      observer(event);
    } catch (error) {
      reportObserverFailure(error);
    }
  };
}

/** @internal Reports an observer's or listener's exception as a process warning. */
export function reportObserverFailure(error: unknown): void {
  const message = `budgetry: an observer threw: ${error instanceof Error ? error.message : String(error)}`;
  if (typeof process !== 'undefined' && typeof process.emitWarning === 'function') {
    process.emitWarning(message, 'BudgetryObserverWarning');
  } else {
    console.warn(message);
  }
}
