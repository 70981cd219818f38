/**
 * The garbage-collection backstop shared by every handle type: when a handle becomes
 * unreachable while still armed, its cell is told, and refunds and reports the leak.
 *
 * Registering with a `FinalizationRegistry` costs more than the budget arithmetic itself, and
 * most handles are settled within the turn that created them. So registration is deferred:
 * new handles wait in a batch that is flushed at the end of the current microtask checkpoint
 * (or when the batch fills), and only handles still armed then are registered. The batch keeps
 * its handles reachable until the flush, so no handle can be collected unwatched.
 */
export interface Collectable {
  /** Whether the handle is still armed (settling it would refund). */
  isArmed(): boolean;
  /** Set while the cell is registered; maintained by this module. */
  registered: boolean;
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
  cell.registered = false;
  try {
    cell.collected();
  } catch (error) {
    emitFailure(error);
  }
});

/** Largest batch before a synchronous flush, so a long synchronous loop stays bounded. */
const BATCH_LIMIT = 1024;
let pendingHandles: object[] = [];
let pendingCells: Collectable[] = [];
let flushQueued = false;

function flush(): void {
  const handles = pendingHandles;
  const cells = pendingCells;
  pendingHandles = [];
  pendingCells = [];
  for (let i = 0; i < cells.length; i++) {
    const cell = cells[i]!;
    if (cell.isArmed()) {
      registry.register(handles[i]!, cell, cell);
      cell.registered = true;
    }
  }
}

function flushFromMicrotask(): void {
  flushQueued = false;
  flush();
}

/** Start watching `handle`; `cell` holds its state and doubles as the unregister token. */
export function watch(handle: object, cell: Collectable): void {
  pendingHandles.push(handle);
  pendingCells.push(cell);
  if (pendingCells.length >= BATCH_LIMIT) {
    flush();
  } else if (!flushQueued) {
    flushQueued = true;
    queueMicrotask(flushFromMicrotask);
  }
}

/** Stop watching the handle of `cell` once it is settled (a no-op if never registered). */
export function unwatch(cell: Collectable): void {
  if (!cell.registered) return;
  cell.registered = false;
  registry.unregister(cell);
}

/** Swallows a rejected refund from a finalizer or a synchronous dispose, with a warning. */
export function reportAsyncFailure(result: unknown): void {
  if (result !== undefined && typeof (result as PromiseLike<unknown>).then === 'function') {
    (result as PromiseLike<unknown>).then(undefined, emitFailure);
  }
}
