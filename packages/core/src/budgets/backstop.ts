/**
 * The garbage-collection backstop shared by every handle type, exported for implementers of
 * other budgets: when a handle becomes unreachable while still armed, its cell is told, and
 * refunds and reports the leak. The cell holds the handle's state and must not reference the
 * handle, or the handle could never be collected.
 *
 * Registering with a `FinalizationRegistry` costs more than the budget arithmetic itself, and
 * most handles are settled within the turn that created them. So registration is deferred:
 * new handles wait in a batch that is flushed at the end of the current microtask checkpoint
 * (or when the batch fills), and only handles still armed then are registered. The batch keeps
 * its handles reachable until the flush, so no handle can be collected unwatched.
 */
/**
 * The state cell behind a watched handle: what the backstop needs to know and to call.
 *
 * @example
 * ```ts
 * import { type LeakWatch, unwatchLeak, watchLeak } from '@budgetry/core';
 *
 * class SlotCell implements LeakWatch {
 *   armed = true;
 *   registered = false;
 *   isArmed(): boolean {
 *     return this.armed;
 *   }
 *   collected(): void {
 *     if (this.armed) console.warn('a slot leaked; returning it');
 *   }
 * }
 * const cell = new SlotCell();
 * const handle = { release: () => { cell.armed = false; unwatchLeak(cell); } };
 * watchLeak(handle, cell);
 * ```
 */
export interface LeakWatch {
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

const registry = new FinalizationRegistry<LeakWatch>((cell) => {
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
let pendingCells: LeakWatch[] = [];
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

/**
 * Start watching `handle`: if it is garbage-collected while `cell.isArmed()`, the backstop
 * calls `cell.collected()` (once, on a later task). Registration is deferred to the end of the
 * current turn and skipped for handles settled by then.
 *
 * @param handle - the object the caller holds.
 * @param cell - its state; doubles as the unregister token.
 *
 * @example
 * ```ts
 * import { watchLeak, type LeakWatch } from '@budgetry/core';
 *
 * const cell: LeakWatch = { registered: false, isArmed: () => true, collected: () => {} };
 * watchLeak({}, cell);
 * ```
 */
export function watchLeak(handle: object, cell: LeakWatch): void {
  pendingHandles.push(handle);
  pendingCells.push(cell);
  if (pendingCells.length >= BATCH_LIMIT) {
    flush();
  } else if (!flushQueued) {
    flushQueued = true;
    queueMicrotask(flushFromMicrotask);
  }
}

/**
 * Stop watching the handle of `cell` once it is settled; a no-op if it was never registered.
 *
 * @param cell - the cell given to {@link watchLeak}.
 *
 * @example
 * ```ts
 * import { unwatchLeak, watchLeak, type LeakWatch } from '@budgetry/core';
 *
 * const cell: LeakWatch = { registered: false, isArmed: () => false, collected: () => {} };
 * watchLeak({}, cell);
 * unwatchLeak(cell);
 * ```
 */
export function unwatchLeak(cell: LeakWatch): void {
  if (!cell.registered) return;
  cell.registered = false;
  registry.unregister(cell);
}

/** @internal Swallows a rejected refund from a finalizer or a synchronous dispose, with a warning. */
export function reportAsyncFailure(result: unknown): void {
  if (result !== undefined && typeof (result as PromiseLike<unknown>).then === 'function') {
    (result as PromiseLike<unknown>).then(undefined, emitFailure);
  }
}
