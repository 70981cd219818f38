import { BudgetError } from '../spec/budget-error.js';
import {
  H_CLOSED,
  L_STATE,
  L_THREAD,
  laneI32,
  OPEN,
  S_AVAIL,
  S_CAPACITY,
  S_EPOCH,
  S_HELD,
  S_LEAKS,
  S_OVER_RELEASED,
  S_RECLAIMED,
  S_RECLAIMED_LANES,
  S_SLICED,
  W_RECOVERED,
  W_WAITING,
} from './layout.js';
import type { SharedRegion } from './region.js';
import type { SharedBudgetSnapshot } from './shared-snapshot.js';

/**
 * A `node:worker_threads` Worker, as far as a shared budget's `releaseOnExit` needs it.
 *
 * @example
 * ```ts
 * import { Worker } from 'node:worker_threads';
 * import { type ExitingThread, SharedBudget } from '@budgetry/core';
 *
 * const budget = new SharedBudget(10);
 * const worker: ExitingThread = new Worker('setTimeout(() => {}, 10)', { eval: true });
 * budget.releaseOnExit(worker);
 * ```
 */
export interface ExitingThread {
  readonly threadId: number;
  once(event: 'exit', listener: () => void): unknown;
}

/**
 * @internal The lease side of a shared budget handle: giving back what handles of dead or
 * silent threads hold, and reading every counter in one step.
 */
export class SharedLeases {
  constructor(private readonly region: SharedRegion) {}

  /** Reclaims handles whose heartbeat is older than the lease. */
  reclaimExpired(): { handles: number; units: number } {
    const refused = this.region.lane < 0 ? closedHandle() : undefined;
    if (refused !== undefined) throw refused;
    const now = this.region.clock.now();
    const { lanes, units } = this.region.reclaimWhere((lane) => this.region.isExpired(lane, now));
    return { handles: lanes, units };
  }

  /** Threads reported gone whose handles are not reclaimed yet (the lock was not to be had). */
  private readonly exited = new Set<number>();
  private retry: unknown;

  /** Reclaims every handle opened in a thread of `threadIds`, which must have exited. */
  private reclaimThreads(threadIds: ReadonlySet<number>): void {
    const { i32 } = this.region;
    this.region.reclaimWhere((lane) => threadIds.has(i32[laneI32(lane) + L_THREAD]!));
  }

  /** Reclaims the handles of `worker`'s thread when it exits. */
  releaseOnExit(worker: ExitingThread): void {
    const threadId = worker.threadId;
    if (!Number.isSafeInteger(threadId) || threadId <= 0) {
      throw new BudgetError({
        code: 'INVALID_ARGUMENT',
        message:
          'releaseOnExit needs a running worker (its threadId is gone once it exits); the holds of a worker that already exited come back with reclaimExpired() after the lease',
        details: { threadId },
      });
    }
    worker.once('exit', () => {
      if (Atomics.load(this.region.i32, H_CLOSED) !== 0) return;
      // First say the thread is gone, so a lock it died holding can be taken over.
      this.region.markThreadGone(threadId);
      this.exited.add(threadId);
      this.reclaimExited(Date.now(), 50);
    });
  }

  /**
   * Reclaims the handles of every exited thread once the lock can be had without waiting long:
   * at once, as a rule (a live holder lets go within microseconds). The exit listener runs on
   * the watching thread: blocked there on a lock that another exited thread died holding, it
   * would hold back that thread's own exit report too — the report that lets the lock be taken
   * over at once — and freeze for two leases. So after `patienceMs` it looks again soon,
   * unblocked; and the next exit report that gets the lock reclaims every thread waiting.
   */
  private reclaimExited(since: number, patienceMs = 0): void {
    if (Atomics.load(this.region.i32, H_CLOSED) !== 0 || this.exited.size === 0) return;
    if (this.region.lockFree(Date.now() - since, patienceMs)) {
      const gone = new Set(this.exited);
      this.exited.clear();
      this.reclaimThreads(gone);
      return;
    }
    if (this.retry !== undefined) return;
    const timer = setTimeout(() => {
      this.retry = undefined;
      this.reclaimExited(since);
    }, 5);
    (timer as { unref?: () => void }).unref?.();
    this.retry = timer;
  }

  /** Every counter, read under the lock. */
  snapshot(): SharedBudgetSnapshot {
    const region = this.region;
    const f = region.f64;
    region.lock();
    let handles = 0;
    for (let i = 0; i < region.lanes; i++) {
      if (region.i32[laneI32(i) + L_STATE] === OPEN) handles++;
    }
    const snapshot: SharedBudgetSnapshot = {
      capacity: f[S_CAPACITY]!,
      available: f[S_AVAIL]!,
      held: f[S_HELD]!,
      epoch: f[S_EPOCH]!,
      overReleased: f[S_OVER_RELEASED]!,
      leaks: f[S_LEAKS]!,
      reclaimed: f[S_RECLAIMED]!,
      reclaimedHandles: f[S_RECLAIMED_LANES]!,
      handles,
      sliced: f[S_SLICED]!,
      waiting: region.i32[W_WAITING]!,
      lockTakeovers: Atomics.load(region.i32, W_RECOVERED),
    };
    region.unlock();
    return snapshot;
  }
}

function closedHandle(): BudgetError {
  return new BudgetError({
    code: 'CLOSED',
    message: 'this handle of the shared budget is closed; reclaim through an open one',
  });
}
