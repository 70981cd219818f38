/**
 * The garbage-collection backstop shared by every handle type: when a handle becomes
 * unreachable while still armed, its cell is told, and refunds and reports the leak.
 * The cell must not reference the handle, or the handle could never be collected.
 */
export interface Collectable {
  /** Called once after the watched handle was garbage-collected. */
  collected(): void;
}

function emitFailure(error: unknown): void {
  // A finalizer has no caller to throw to, and throwing would crash the process.
  process.emitWarning(
    `budgetry: a leak backstop failed: ${error instanceof Error ? error.message : String(error)}`,
    'BudgetryLeakWarning',
  );
}

const registry = new FinalizationRegistry<Collectable>((cell) => {
  try {
    cell.collected();
  } catch (error) {
    emitFailure(error);
  }
});

/** Start watching `handle`; `cell` doubles as the unregister token. */
export function watch(handle: object, cell: Collectable): void {
  registry.register(handle, cell, cell);
}

/** Stop watching the handle of `cell`, once it is settled. */
export function unwatch(cell: Collectable): void {
  registry.unregister(cell);
}

/** Swallows a rejected refund from a finalizer or a synchronous dispose, with a warning. */
export function reportAsyncFailure(result: unknown): void {
  if (result !== undefined && typeof (result as PromiseLike<unknown>).then === 'function') {
    (result as PromiseLike<unknown>).then(undefined, emitFailure);
  }
}
