import type { BudgetCapabilities } from '@budgetry/core';
import {
  AtomicBudget,
  assertAmount,
  type BudgetError,
  type CancelTimer,
  type Clock,
  capabilitiesOf,
  retryAfterOf,
  type SyncBudgetGuard,
  type SyncBudgetPermit,
  SyncGuardBase,
} from '@budgetry/core';
import { forwarded } from '../internal/capabilities.js';
import { type CeilingReading, ceilingKey } from '../internal/ceiling.js';
import { registerCleanWrapper } from '../internal/clean-wrappers.js';
import { epochOf } from '../internal/epoch.js';
import { waitKey, waitOf } from '../internal/member-wait.js';
import { reporter } from '../internal/report.js';
import { WaiterLine } from './line.js';
import { SignalGroups } from './signal-groups.js';
import { ceilingReader, emptiedKey, mayFreeUnits, subscribable } from './sources.js';
import { Subscriptions } from './subscriptions.js';
import {
  type AcquireOptions,
  abortError,
  checkAcquireOptions,
  closedError,
  deliver,
  type Entry,
  exceedsError,
  failWith,
  giveBack,
  guardFailure,
  newWaiter,
  pendingPermit,
  type Settle,
  takeReject,
  takeResolve,
  timeoutError,
  type Waiter,
} from './waiter.js';
import { WaitingPermit } from './waiting-permit.js';

/** How many times in a row one `notify()` tries a head the guard keeps denying with room for it. */
const MAX_RETRIES = 16;

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
  /** The largest cost the guard could ever grant, read now (see `ceilingReader`). */
  private readonly ceiling: () => number;
  private line = new WaiterLine();
  private cancelWake: CancelTimer | undefined;
  /** Whether the guard declares retry hints (read once, as `capabilities` is). */
  private readonly hinted: boolean;
  /**
   * Whether the guard's permits go out as they are: a core `AtomicBudget` (not a subclass)
   * tells the line, subscribed while anyone waits, of every release and partial commit.
   */
  private readonly bare: boolean;
  /** What the line listens to for freed units, while someone waits. */
  private readonly subscriptions: Subscriptions;
  /** The line's abort listeners, one per signal its waiters gave. */
  private readonly signals = new SignalGroups<Waiter>((waiter, signal) =>
    this.giveUp(waiter, abortError(signal)),
  );
  private closed = false;
  private draining = false;
  /** A `notify()` came while the line was being served (see `notify`). */
  private renotified = false;
  private readonly report: (error: unknown) => void;

  /** @internal Use {@link waiting}. */
  constructor(guard: SyncBudgetGuard, clock: Clock, onError?: (error: unknown) => void) {
    super();
    this.capabilities = forwarded(guard, { retryHint: false });
    this.hinted = capabilitiesOf(guard).retryHint;
    this.guard = guard;
    this.ceiling = ceilingReader(guard);
    this.bare = Object.getPrototypeOf(guard) === AtomicBudget.prototype;
    this.clock = clock;
    this.report = reporter(onError, 'waiting line', 'BudgetryWaitingWarning');
    // Only while someone waits (see `subscribable`); only an event that can return units serves.
    this.subscriptions = new Subscriptions(
      subscribable(guard),
      (event?: unknown) => {
        if (mayFreeUnits(event)) this.notify();
      },
      () => this.line.size === 0,
    );
  }

  get capacity(): number {
    return this.guard.capacity;
  }
  /** @internal The guard's ceiling (see `ceilingOf`). */
  [ceilingKey](of: CeilingReading): number {
    return of(this.guard);
  }
  available(): number {
    return this.guard.available();
  }
  /** The guard's epoch, when it says (a combinator's ledger fences reservations by it). */
  get epoch(): number | undefined {
    return epochOf(this.guard);
  }
  /** @internal How long until `cost` is granted here (see `waitOf`): unknown while anyone waits. */
  [waitKey](cost: number): number | undefined {
    return this.line.size > 0 && cost > 0 ? undefined : waitOf(this.guard, cost);
  }
  /** @internal Be told when the line empties (see `Subscriptions.watch`). */
  [emptiedKey](listener: () => void): () => void {
    return this.subscriptions.watch(listener);
  }

  /** Waiters in line. */
  get pending(): number {
    return this.line.size;
  }

  /**
   * Wait until `cost` can be reserved, in line: first come, first served within a priority,
   * so a large request is not starved by small ones of its priority (higher ones go first, and
   * can starve it); the head holds up smaller costs behind it until its whole cost fits. A
   * cost of 0 takes nothing and never waits.
   *
   * @param cost - a non-negative safe integer, at most the guard's capacity.
   * @param options - `signal`, `timeoutMs`, `priority`.
   * @returns the permit, once reserved.
   * @throws BudgetError `EXCEEDS_CAPACITY` at once for a cost above capacity (or once it is
   * first in line, if a hierarchy node's capacity was lowered under it meanwhile), `ABORTED` or
   * `TIMEOUT` when the wait is given up (the budget untouched), `CLOSED` after `close()`,
   * `INVALID_AMOUNT` / `INVALID_ARGUMENT` for bad input; when the guard fails while serving
   * this waiter, its `BudgetError` (anything else wrapped as `BACKEND`), and the waiter has
   * left the line holding nothing.
   */
  acquire(cost: number, options?: AcquireOptions): Promise<SyncBudgetPermit> {
    let signal: AbortSignal | undefined;
    let timeoutMs: number | undefined;
    let priority = 0;
    try {
      assertAmount(cost, 'cost');
      if (options !== undefined) ({ signal, timeoutMs, priority } = checkAcquireOptions(options));
      if (this.closed) throw closedError();
      const ceiling = this.ceiling();
      if (cost > ceiling) throw exceedsError(cost, ceiling);
      if (signal?.aborted) throw abortError(signal);
      // Nobody in line, or nothing asked (cost 0 passes nobody): no need to queue.
      if (this.line.size === 0 || cost === 0) {
        const p = this.guard.tryAcquireSync(cost);
        if (p !== null) {
          const permit = this.wrap(p);
          if (signal === undefined) return Promise.resolve(permit);
          const s = signal;
          return new Promise<SyncBudgetPermit>((resolve, reject) =>
            deliver(permit, s, resolve, reject),
          );
        }
      }
    } catch (error) {
      return Promise.reject(guardFailure(error));
    }
    const promise = pendingPermit();
    const resolve = takeResolve();
    const reject = takeReject();
    if (signal === undefined && timeoutMs === undefined) {
      // Nothing can take it out of line but its turn or close(): the line keeps its resolve.
      try {
        this.subscriptions.take();
      } catch (error) {
        reject(guardFailure(error));
        return promise;
      }
      this.line.push(resolve, cost, priority);
      // Never throws: a guard failing while serving this waiter rejects it, out of line.
      this.notify();
      return promise;
    }
    const waiter = newWaiter(priority, resolve, reject, signal);
    try {
      this.subscriptions.take();
      if (signal !== undefined) this.signals.add(waiter, signal);
      if (timeoutMs !== undefined) {
        const ms = timeoutMs;
        waiter.cancelTimer = this.clock.setTimer(
          () => this.giveUp(waiter, timeoutError(cost, ms)),
          ms,
        );
      }
    } catch (error) {
      // Never in line: nothing of it may stay behind.
      this.cleanUp(waiter);
      this.quiet();
      reject(guardFailure(error));
      return promise;
    }
    waiter.slot = this.line.push(waiter, cost, priority);
    this.notify();
    return promise;
  }

  /**
   * Reserve without waiting, but only when nobody is in line (no barging past waiters); a
   * cost of 0, which takes nothing, whenever the guard grants it.
   *
   * @param cost - a non-negative safe integer.
   * @returns the permit, or `null`.
   */
  tryAcquireSync(cost: number): SyncBudgetPermit | null {
    assertAmount(cost, 'cost');
    if (this.line.size > 0 && cost > 0) return null;
    const p = this.guard.tryAcquireSync(cost);
    return p === null ? null : this.wrap(p);
  }

  /**
   * Count API, without barging past waiters (cost 0 passes nobody).
   *
   * @param cost - a non-negative safe integer.
   * @returns `true` when reserved.
   */
  tryReserveSync(cost: number): boolean {
    assertAmount(cost, 'cost');
    return (this.line.size === 0 || cost === 0) && this.guard.tryReserveSync(cost);
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
    if (this.draining) {
      // A release from inside a resolve or the guard re-enters: the loop goes on, and tries
      // the head again if the guard had just denied it (see `renotified`).
      this.renotified = true;
      return;
    }
    this.draining = true;
    this.renotified = false;
    let retried: Entry | undefined;
    let tries = 0;
    try {
      if (this.cancelWake !== undefined) {
        this.cancelWake();
        this.cancelWake = undefined;
      }
      const line = this.line;
      for (let head = line.peek(); head !== undefined; head = line.peek()) {
        const waiter = typeof head === 'function' ? undefined : head;
        // An abort listener registered before ours may free units (and so call notify)
        // before ours has run: the signal is aborted, and this waiter must not be served.
        if (waiter?.signal?.aborted) {
          this.leave(head, abortError(waiter.signal));
          continue;
        }
        const cost = line.peekCost();
        let p: SyncBudgetPermit | null;
        try {
          p = this.guard.tryAcquireSync(cost);
          if (p === null) {
            // A cost the guard can no longer ever grant (a hierarchy node's capacity lowered
            // under it) would hold up everyone behind it: it leaves, refused as at joining.
            const ceiling = this.ceiling();
            if (cost > ceiling) {
              this.leave(head, exceedsError(cost, ceiling));
              continue;
            }
            // Units freed while the guard was denying (an observer shedding load on `deny`),
            // or the head leaving, called notify() into this loop, which would otherwise wake
            // nobody: a new head is tried at once, the same one once more, then while it has room.
            if (this.renotified) {
              this.renotified = false;
              if (line.peek() !== head) continue;
              if (retried !== head) {
                retried = head;
                tries = 0;
              }
              if (tries === 0 || this.guard.available() >= cost) {
                // A guard that keeps denying what it says it has room for is tried later.
                if (++tries <= MAX_RETRIES) continue;
                this.wakeIn(1);
                return;
              }
            }
            this.armWake(cost);
            return;
          }
        } catch (error) {
          this.leave(head, guardFailure(error));
          continue;
        }
        if (line.peek() !== head) {
          // The waiter gave up while the guard granted it (an observer aborted it): the
          // units go back.
          giveBack(p, this.report);
          continue;
        }
        line.shift();
        // Before the caller hears of it: it sees a line that no longer listens if it emptied.
        this.quiet();
        const permit = this.wrap(p);
        if (waiter === undefined) {
          (head as Settle)(permit);
        } else {
          this.cleanUp(waiter);
          if (waiter.signal === undefined) waiter.resolve(permit);
          else deliver(permit, waiter.signal, waiter.resolve, waiter.reject);
        }
      }
      this.quiet();
    } finally {
      this.draining = false;
    }
  }

  /**
   * Reject every waiter with `CLOSED` and stop timers and subscriptions; a later `acquire`
   * rejects with `CLOSED` too. The calls that never wait (`tryAcquireSync`, the count API) go
   * on to the guard, which closing the line does not touch.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.cancelWake?.();
    this.cancelWake = undefined;
    const line = this.line.drain();
    this.subscriptions.close();
    for (const entry of line) {
      if (typeof entry !== 'function') this.cleanUp(entry);
      failWith(entry, closedError());
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Takes the waiter that was at the head out of line and rejects it, if it still is at the
   * head: gone (an observer called from the guard made it leave, or closed the line), it has
   * heard; behind a higher priority that joined meanwhile, it is served in its turn.
   */
  private leave(head: Entry, error: BudgetError): void {
    if (this.line.peek() !== head) return;
    this.line.shift();
    this.quiet();
    if (typeof head !== 'function') this.cleanUp(head);
    failWith(head, error);
  }

  private giveUp(waiter: Waiter, error: BudgetError): void {
    const wasHead = this.line.peek() === waiter;
    // Already served (or closed on): the caller owns the permit, or heard already.
    if (!this.line.remove(waiter, waiter.slot, waiter.priority)) return;
    this.cleanUp(waiter);
    this.quiet();
    waiter.reject(error);
    // The head leaving may unblock the next one.
    if (wasHead) this.notify();
  }

  /** The permit a caller gets for `p`: one whose release or partial commit wakes the line. */
  private wrap(p: SyncBudgetPermit): SyncBudgetPermit {
    return this.bare ? p : new WaitingPermit(this, p);
  }

  /** Stops listening once nobody waits (see {@link Subscriptions.dropSoon}). */
  private quiet(): void {
    if (this.line.size === 0) this.subscriptions.dropSoon();
  }

  private cleanUp(waiter: Waiter): void {
    waiter.cancelTimer?.();
    waiter.cancelTimer = undefined;
    this.signals.delete(waiter);
  }

  private armWake(cost: number): void {
    // No hint (none declared, or none for this cost): a release or refill will call notify().
    if (!this.hinted) return;
    const ms = retryAfterOf(this.guard, cost);
    if (ms !== undefined) this.wakeIn(ms);
  }

  /** Serves the line again in `ms` milliseconds (at least 1). */
  private wakeIn(ms: number): void {
    this.cancelWake = this.clock.setTimer(
      () => {
        this.cancelWake = undefined;
        this.notify();
      },
      Math.max(ms, 1),
    );
  }
}

registerCleanWrapper(WaitingGuard.prototype, (w) => w.guard);
