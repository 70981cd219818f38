import type { BudgetCapabilities } from '@budgetry/core';
import {
  assertAmount,
  BudgetError,
  type CancelTimer,
  type Clock,
  retryAfterOf,
  type SyncBudgetGuard,
  type SyncBudgetPermit,
  SyncGuardBase,
} from '@budgetry/core';
import { forwarded } from '../internal/capabilities.js';
import { epochOf } from '../internal/epoch.js';
import { reporter } from '../internal/report.js';
import { WaiterLine } from './line.js';
import { ceilingOf, mayFreeUnits, type Subscribable, subscribable } from './sources.js';
import {
  type AcquireOptions,
  abortError,
  checkAcquireOptions,
  closedError,
  guardFailure,
  timeoutError,
  type Waiter,
} from './waiter.js';
import { WaitingPermit } from './waiting-permit.js';

/**
 * A guard with a fair waiting line in front; build it with {@link waiting}. Everything that
 * goes through it — permit releases, count releases, refills of a scheduled budget, retry
 * hints of rate limiters — wakes the line; there is no polling.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import { waiting } from '@budgetry/compose';
 *
 * const slots = waiting(new AtomicBudget(2));
 * const controller = new AbortController();
 * const permit = await slots.acquire(1, { signal: controller.signal, priority: 1 });
 * permit.releaseSync(); // wakes the next waiter
 * ```
 */
export class WaitingGuard extends SyncGuardBase implements SyncBudgetGuard, Disposable {
  /** What the guard declares, minus scheduling and retry hints. */
  readonly capabilities: BudgetCapabilities;
  /** The guard being waited on. */
  readonly guard: SyncBudgetGuard;
  private readonly clock: Clock;
  private line = new WaiterLine();
  private seq = 0;
  private cancelWake: CancelTimer | undefined;
  /** What the line listens to for freed units, and the listener. */
  private readonly sources: readonly Subscribable[];
  private readonly listener: (event?: unknown) => void;
  /** Stops the subscriptions while someone waits; `undefined` while the line is empty. */
  private stops: (() => void)[] | undefined;
  private closed = false;
  private draining = false;
  private readonly report: (error: unknown) => void;

  /** @internal Use {@link waiting}. */
  constructor(guard: SyncBudgetGuard, clock: Clock, onError?: (error: unknown) => void) {
    super();
    this.capabilities = forwarded(guard, { retryHint: false });
    this.guard = guard;
    this.clock = clock;
    this.report = reporter(onError, 'waiting line', 'BudgetryWaitingWarning');
    // Refill schedulers call listeners with an epoch; core budgets with a BudgetEvent, of
    // which only the ones that can return units are worth serving the line for. Listening on
    // the budgets underneath too (a scheduler's budget, a token guard's budget, a combinator's
    // members) means a release made directly on one of them wakes the line as well. The line
    // listens only while someone waits, so an idle line, or one dropped without close(),
    // leaves nothing subscribed on the budgets it was built over.
    this.sources = subscribable(guard);
    this.listener = (event?: unknown) => {
      if (mayFreeUnits(event)) this.notify();
    };
  }

  get capacity(): number {
    return this.guard.capacity;
  }
  available(): number {
    return this.guard.available();
  }
  /** The guard's epoch, when it says (a combinator's ledger fences reservations by it). */
  get epoch(): number | undefined {
    return epochOf(this.guard);
  }

  /** Waiters in line. */
  get pending(): number {
    return this.line.size;
  }

  /**
   * Wait until `cost` can be reserved, in line: first come, first served within a priority,
   * so a large request is not starved by a stream of small ones.
   *
   * @param cost - a non-negative safe integer, at most the guard's capacity.
   * @param options - `signal`, `timeoutMs`, `priority`.
   * @returns the permit, once reserved.
   * @throws BudgetError `EXCEEDS_CAPACITY` at once for a cost above capacity, `ABORTED` or
   * `TIMEOUT` when the wait is given up (the budget untouched), `CLOSED` after `close()`,
   * `INVALID_AMOUNT` / `INVALID_ARGUMENT` for bad input; when the guard fails while serving
   * this waiter, its `BudgetError` (anything else wrapped as `BACKEND`), and the waiter has
   * left the line holding nothing.
   */
  acquire(cost: number, options: AcquireOptions = {}): Promise<SyncBudgetPermit> {
    try {
      assertAmount(cost, 'cost');
      const { signal, timeoutMs, priority } = checkAcquireOptions(options);
      if (this.closed) throw closedError();
      const ceiling = ceilingOf(this.guard);
      if (cost > ceiling) {
        throw new BudgetError({
          code: 'EXCEEDS_CAPACITY',
          message: `cost ${cost} exceeds the capacity ${ceiling}: it can never be granted`,
          details: { cost, capacity: ceiling },
        });
      }
      if (signal?.aborted) throw abortError(signal);
      // Nobody in line: no need to queue.
      if (this.line.size === 0) {
        const p = this.guard.tryAcquireSync(cost);
        if (p !== null) {
          return new Promise<SyncBudgetPermit>((resolve, reject) =>
            this.deliver(new WaitingPermit(this, p), signal, resolve, reject),
          );
        }
      }
      return new Promise<SyncBudgetPermit>((resolve, reject) => {
        const waiter: Waiter = {
          cost,
          priority,
          seq: this.seq++,
          resolve,
          reject,
          cancelTimer: undefined,
          signal,
          onAbort: undefined,
          slot: 0,
        };
        try {
          this.listen();
          if (signal !== undefined) {
            waiter.onAbort = () => this.giveUp(waiter, abortError(signal));
            signal.addEventListener('abort', waiter.onAbort, { once: true });
          }
          if (timeoutMs !== undefined) {
            waiter.cancelTimer = this.clock.setTimer(
              () => this.giveUp(waiter, timeoutError(cost, timeoutMs)),
              timeoutMs,
            );
          }
        } catch (error) {
          // Never in line: nothing of it may stay behind.
          this.cleanUp(waiter);
          this.quiet();
          reject(guardFailure(error));
          return;
        }
        this.line.push(waiter);
        // Never throws: a guard failing while serving this waiter rejects it, out of line.
        this.notify();
      });
    } catch (error) {
      return Promise.reject(guardFailure(error));
    }
  }

  /**
   * Reserve without waiting, but only when nobody is in line (no barging past waiters).
   *
   * @param cost - a non-negative safe integer.
   * @returns the permit, or `null`.
   */
  tryAcquireSync(cost: number): SyncBudgetPermit | null {
    assertAmount(cost, 'cost');
    if (this.line.size > 0) return null;
    const p = this.guard.tryAcquireSync(cost);
    return p === null ? null : new WaitingPermit(this, p);
  }

  /**
   * Count API, without barging past waiters.
   *
   * @param cost - a non-negative safe integer.
   * @returns `true` when reserved.
   */
  tryReserveSync(cost: number): boolean {
    assertAmount(cost, 'cost');
    return this.line.size === 0 && this.guard.tryReserveSync(cost);
  }

  /**
   * Count API release; wakes the line.
   *
   * @param cost - a non-negative safe integer.
   */
  releaseSync(cost: number): void {
    this.guard.releaseSync(cost);
    this.notify();
  }

  /**
   * Serve the line as far as the guard allows now. Call it after returning units to the
   * underlying guard directly, not through this one. Never throws: when the guard fails
   * while serving a waiter (its `tryAcquireSync` or retry hint throws), that waiter leaves
   * the line rejected with the error, holding nothing, and the line goes on.
   */
  notify(): void {
    if (this.draining) return; // a release from inside a resolve re-enters: the loop goes on
    this.draining = true;
    try {
      this.cancelWake?.();
      this.cancelWake = undefined;
      for (let head = this.line.peek(); head !== undefined; head = this.line.peek()) {
        // An abort listener registered before ours may free units (and so call notify)
        // before ours has run: the signal is aborted, and this waiter must not be served.
        if (head.signal?.aborted) {
          this.leave(head, abortError(head.signal));
          continue;
        }
        let p: SyncBudgetPermit | null;
        try {
          p = this.guard.tryAcquireSync(head.cost);
          if (p === null) {
            this.armWake(head.cost);
            return;
          }
        } catch (error) {
          this.leave(head, guardFailure(error));
          continue;
        }
        if (this.line.peek() !== head) {
          // The waiter gave up while the guard granted it (an observer aborted it): the
          // units go back.
          this.giveBack(p);
          continue;
        }
        this.line.remove(head);
        this.cleanUp(head);
        this.deliver(new WaitingPermit(this, p), head.signal, head.resolve, head.reject);
      }
      this.quiet();
    } finally {
      this.draining = false;
    }
  }

  /** Reject every waiter with `CLOSED` and stop timers and subscriptions. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.cancelWake?.();
    const line = this.line.drain();
    this.quiet();
    for (const w of line) {
      this.cleanUp(w);
      w.reject(closedError());
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Hands a granted permit to its waiter. A resolved Promise cannot be taken back, and the
   * caller only sees the permit a microtask later; a signal aborted in between (the same
   * turn as the grant) would leave the caller holding a permit it no longer wants. So with a
   * signal the hand-over waits one microtask, and an abort by then releases the permit
   * (waking the line) and rejects with `ABORTED` instead.
   */
  private deliver(
    permit: WaitingPermit,
    signal: AbortSignal | undefined,
    resolve: (permit: SyncBudgetPermit) => void,
    reject: (error: BudgetError) => void,
  ): void {
    if (signal === undefined) {
      resolve(permit);
      return;
    }
    queueMicrotask(() => {
      if (!signal.aborted) {
        resolve(permit);
        return;
      }
      try {
        permit.releaseSync();
      } catch (error) {
        // Thrown from a microtask it would end the process: the caller hears of it instead.
        reject(guardFailure(error));
        return;
      }
      reject(abortError(signal));
    });
  }

  /** Listens for freed units, on every source or (if one refuses) none. */
  private listen(): void {
    if (this.stops !== undefined || this.sources.length === 0) return;
    const stops: (() => void)[] = [];
    try {
      for (const source of this.sources) stops.push(source.subscribe(this.listener));
    } catch (error) {
      for (const stop of stops) stop();
      throw error;
    }
    this.stops = stops;
  }

  /** Takes a waiter out of line (wherever it is) and rejects it. */
  private leave(waiter: Waiter, error: BudgetError): void {
    this.line.remove(waiter);
    this.cleanUp(waiter);
    waiter.reject(error);
  }

  /** Releases a permit nobody will receive; a failure has no caller, so it is reported. */
  private giveBack(permit: SyncBudgetPermit): void {
    try {
      permit.releaseSync();
    } catch (error) {
      this.report(guardFailure(error));
    }
  }

  private giveUp(waiter: Waiter, error: BudgetError): void {
    const wasHead = this.line.peek() === waiter;
    if (!this.line.remove(waiter)) return; // already served: the caller owns the permit
    this.cleanUp(waiter);
    waiter.reject(error);
    // The head leaving may unblock the next one.
    if (wasHead) this.notify();
    else this.quiet();
  }

  /** Stops listening once nobody waits. */
  private quiet(): void {
    if (this.line.size > 0 || this.stops === undefined) return;
    const stops = this.stops;
    this.stops = undefined;
    for (const stop of stops) stop();
  }

  private cleanUp(waiter: Waiter): void {
    waiter.cancelTimer?.();
    waiter.cancelTimer = undefined;
    if (waiter.onAbort !== undefined) waiter.signal?.removeEventListener('abort', waiter.onAbort);
    waiter.onAbort = undefined;
  }

  private armWake(cost: number): void {
    const ms = retryAfterOf(this.guard, cost);
    // No hint: a release or refill through this guard will call notify().
    if (ms === undefined) return;
    this.cancelWake = this.clock.setTimer(
      () => {
        this.cancelWake = undefined;
        this.notify();
      },
      Math.max(ms, 1),
    );
  }
}
