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

/**
 * @internal For a listener that comes or goes through a Proxy of a core budget (or an object
 * made from one with `Object.create`), whose private fields, where the count API keeps what it
 * compares the methods with, are out of reach: while someone listens, the object gets
 * `tryReserveSync` and `releaseSync` of its own, which call its class's. A combinator then
 * finds methods that are not the class's own, so it calls them instead of changing the counts
 * in place, and the listener hears it. A method the object already has (a refill schedule's)
 * is left alone: it already keeps the count API off.
 */
export function markObserved(budget: object, observed: boolean): void {
  const own = budget as Record<string, unknown>;
  for (const [name, stand] of standIns) {
    const current = Object.getOwnPropertyDescriptor(budget, name);
    if (observed && current === undefined) {
      Object.defineProperty(budget, name, { value: stand, writable: true, configurable: true });
    } else if (!observed && current?.value === stand) {
      delete own[name];
    }
  }
}

type CountMethods = { tryReserveSync(cost: number): boolean; releaseSync(cost: number): void };

function observedReserve(this: object, cost: number): boolean {
  return (Object.getPrototypeOf(this) as CountMethods).tryReserveSync.call(this, cost);
}
function observedRelease(this: object, cost: number): void {
  (Object.getPrototypeOf(this) as CountMethods).releaseSync.call(this, cost);
}
const standIns = [
  ['tryReserveSync', observedReserve],
  ['releaseSync', observedRelease],
] as const;
