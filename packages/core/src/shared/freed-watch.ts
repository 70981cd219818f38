import { reportObserverFailure } from '../budgets/observer-list.js';
import { invalidOption } from '../budgets/options.js';
import { H_FREED, L_WATCHING, W_WATCHERS } from './layout.js';
import type { SharedRegion } from './region.js';
import { holdOpen, letGo } from './shared-wait.js';

type WaitAsync = (
  i32: Int32Array,
  index: number,
  value: number,
) => { async: boolean; value: Promise<string> | string };

/**
 * @internal One handle's listeners for units that may have come free anywhere: a release,
 * commit, refill or reclaim through any handle in any thread, or the budget closing.
 *
 * While a handle has listeners it counts once in the region's `W_WATCHERS`, and every thread
 * that frees units bumps and notifies `H_FREED` (`RegionMemory.wake`); this thread sleeps
 * on that word with `Atomics.waitAsync`, so nothing polls. The sequence is read before the
 * listeners run and waited on after, so a bump while they run is never missed. Listeners are
 * called asynchronously, in this thread, and may be called when nothing fits yet: they are a
 * hint to try again, never a grant.
 */
export class FreedWatch {
  private listeners: readonly (() => void)[] = [];
  /** An `Atomics.waitAsync` on `H_FREED` of this watch is pending. */
  private sleeping = false;
  private counted = false;

  private readonly i32: Int32Array;

  constructor(private readonly region: SharedRegion) {
    this.i32 = region.i32;
  }

  /**
   * Adds `listener`; returns the function that removes it (harmless to call twice).
   *
   * @throws BudgetError `INVALID_ARGUMENT` when `listener` is not a function.
   */
  add(listener: () => void): () => void {
    if (typeof listener !== 'function') throw invalidOption('listener', listener, 'a function');
    const entry = (): void => listener();
    this.listeners = [...this.listeners, entry];
    if (!this.counted) {
      this.counted = true;
      // Counted before the sequence is read: a release after this point bumps it.
      this.count(1);
      holdOpen();
    }
    if (!this.sleeping) this.sleep(Atomics.load(this.i32, H_FREED));
    let added = true;
    return () => {
      if (!added) return;
      added = false;
      this.listeners = this.listeners.filter((l) => l !== entry);
      if (this.listeners.length === 0) this.uncount();
    };
  }

  /** Removes every listener, after telling each once more (the handle is closing). */
  closing(): void {
    const last = this.listeners;
    this.listeners = [];
    this.uncount();
    if (last.length > 0) queueMicrotask(() => tell(last));
  }

  private uncount(): void {
    if (!this.counted) return;
    this.counted = false;
    this.count(0);
    letGo();
  }

  /**
   * Sets whether this handle's lane counts in `W_WATCHERS`, under the lock, so that a lane
   * reclaimed from a thread that exited takes its count back (see `reclaimLane`).
   */
  private count(watching: 0 | 1): void {
    const region = this.region;
    const i32 = this.i32;
    region.lock();
    const at = region.laneI + L_WATCHING;
    if (region.ownsLane() && i32[at] !== watching) {
      const watchers = i32[W_WATCHERS]! + (watching === 1 ? 1 : -1);
      i32[at] = watching;
      Atomics.store(i32, W_WATCHERS, watchers);
    }
    region.unlock();
  }

  private sleep(seen: number): void {
    const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;
    const result = waitAsync(this.i32, H_FREED, seen);
    this.sleeping = true;
    const wake = (): void => {
      this.sleeping = false;
      if (this.listeners.length === 0) return;
      const next = Atomics.load(this.i32, H_FREED);
      tell(this.listeners);
      if (!this.sleeping && this.listeners.length > 0) this.sleep(next);
    };
    if (result.async) (result.value as Promise<string>).then(wake);
    else queueMicrotask(wake);
  }
}

function tell(listeners: readonly (() => void)[]): void {
  for (const listener of listeners) {
    try {
      listener();
    } catch (error) {
      reportObserverFailure(error);
    }
  }
}
