import type { BudgetCapabilities } from '@budgetry/core';
import {
  assertAmount,
  BudgetError,
  type CancelTimer,
  type Clock,
  type PermitState,
  retryAfterOf,
  type SyncBudgetGuard,
  type SyncBudgetPermit,
  SyncBudgetPermitBase,
  SyncGuardBase,
  type SyncTokenBudget,
  systemClock,
} from '@budgetry/core';
import { forwarded } from '../internal/capabilities.js';
import { isSyncGuard } from '../internal/member-kind.js';
import { describe, invalid } from '../internal/member-list.js';
import { isSyncTokenBudget } from '../internal/token-kind.js';
import { tokenGuard } from '../token-guard/index.js';

/**
 * Options for {@link waiting}.
 *
 * @example
 * ```ts
 * import { AtomicBudget, type Clock, systemClock } from '@budgetry/core';
 * import { type WaitingOptions, waiting } from '@budgetry/compose';
 *
 * const clock: Clock = systemClock; // a fake clock in tests
 * const options: WaitingOptions = { clock };
 * using line = waiting(new AtomicBudget(2), options); // close() rejects whoever still waits
 * const permit = await line.acquire(1, { timeoutMs: 100 });
 * permit.releaseSync();
 * ```
 */
export interface WaitingOptions {
  /** The source of time for timeouts and retry timers (default `systemClock`). */
  clock?: Clock;
}

/**
 * Options for one {@link WaitingGuard.acquire}.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import { type AcquireOptions, waiting } from '@budgetry/compose';
 *
 * const slots = waiting(new AtomicBudget(4));
 * const controller = new AbortController();
 * const options: AcquireOptions = { signal: controller.signal, timeoutMs: 1_000, priority: 10 };
 * await using slot = await slots.acquire(1, options); // released at the end of the scope
 * ```
 */
export interface AcquireOptions {
  /** Gives up the wait, rejecting with `ABORTED`. */
  signal?: AbortSignal;
  /** Gives up after this many milliseconds, rejecting with `TIMEOUT`. */
  timeoutMs?: number;
  /** Higher is served first; equal priorities are first come, first served (default 0). */
  priority?: number;
}

interface Waiter {
  readonly cost: number;
  readonly priority: number;
  readonly seq: number;
  readonly resolve: (permit: SyncBudgetPermit) => void;
  readonly reject: (error: BudgetError) => void;
  cancelTimer: CancelTimer | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** A permit from a {@link WaitingGuard}: releasing it wakes the waiters behind it. */
class WaitingPermit extends SyncBudgetPermitBase {
  constructor(
    private readonly owner: WaitingGuard,
    private readonly inner: SyncBudgetPermit,
  ) {
    super();
  }
  get cost(): number {
    return this.inner.cost;
  }
  get epoch(): number {
    return this.inner.epoch;
  }
  get state(): PermitState {
    return this.inner.state;
  }
  releaseSync(): boolean {
    const done = this.inner.releaseSync();
    if (done) this.owner.notify();
    return done;
  }
  commitSync(used?: number): boolean {
    return this.inner.commitSync(used);
  }
}

const abortError = (signal: AbortSignal): BudgetError =>
  new BudgetError({
    code: 'ABORTED',
    message: 'the wait for budget was aborted',
    cause: signal.reason,
  });

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
  private line: Waiter[] = [];
  private seq = 0;
  private cancelWake: CancelTimer | undefined;
  /** What the line listens to for freed units, and the listener. */
  private readonly sources: readonly Subscribable[];
  private readonly listener: (event?: unknown) => void;
  /** Stops the subscriptions while someone waits; `undefined` while the line is empty. */
  private stops: (() => void)[] | undefined;
  private closed = false;
  private draining = false;

  /** @internal Use {@link waiting}. */
  constructor(guard: SyncBudgetGuard, clock: Clock) {
    super();
    this.capabilities = forwarded(guard, { retryHint: false });
    this.guard = guard;
    this.clock = clock;
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
  /** Waiters in line. */
  get pending(): number {
    return this.line.length;
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
   * `INVALID_AMOUNT` / `INVALID_ARGUMENT` for bad input.
   */
  acquire(cost: number, options: AcquireOptions = {}): Promise<SyncBudgetPermit> {
    try {
      assertAmount(cost, 'cost');
      if (typeof options !== 'object' || options === null) {
        throw invalid(`acquire options must be an object, got ${describe(options)}`, {});
      }
      const { signal, timeoutMs, priority = 0 } = options;
      checkSignal(signal);
      if (timeoutMs !== undefined && !(Number.isSafeInteger(timeoutMs) && timeoutMs >= 0)) {
        throw invalid(`timeoutMs must be a non-negative safe integer, got ${describe(timeoutMs)}`, {
          timeoutMs,
        });
      }
      if (typeof priority !== 'number' || !Number.isFinite(priority)) {
        throw invalid(`priority must be a finite number, got ${describe(priority)}`, { priority });
      }
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
      if (this.line.length === 0) {
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
        };
        if (signal !== undefined) {
          waiter.onAbort = () => this.giveUp(waiter, abortError(signal));
          signal.addEventListener('abort', waiter.onAbort, { once: true });
        }
        if (timeoutMs !== undefined) {
          waiter.cancelTimer = this.clock.setTimer(
            () =>
              this.giveUp(
                waiter,
                new BudgetError({
                  code: 'TIMEOUT',
                  message: `no budget for ${cost} within ${timeoutMs} ms`,
                  details: { cost, timeoutMs },
                }),
              ),
            timeoutMs,
          );
        }
        this.enqueue(waiter);
        this.notify();
      });
    } catch (error) {
      return Promise.reject(error);
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
    if (this.line.length > 0) return null;
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
    return this.line.length === 0 && this.guard.tryReserveSync(cost);
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
   * underlying guard directly, not through this one.
   */
  notify(): void {
    if (this.draining) return; // a release from inside a resolve re-enters: the loop goes on
    this.draining = true;
    try {
      this.cancelWake?.();
      this.cancelWake = undefined;
      while (this.line.length > 0) {
        const head = this.line[0]!;
        // An abort listener registered before ours may free units (and so call notify)
        // before ours has run: the signal is aborted, and this waiter must not be served.
        if (head.signal?.aborted) {
          this.line.shift();
          this.cleanUp(head);
          head.reject(abortError(head.signal));
          continue;
        }
        const p = this.guard.tryAcquireSync(head.cost);
        if (p === null) {
          this.armWake(head.cost);
          return;
        }
        this.line.shift();
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
    const line = this.line;
    this.line = [];
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
      permit.releaseSync();
      reject(abortError(signal));
    });
  }

  private enqueue(waiter: Waiter): void {
    if (this.stops === undefined && this.sources.length > 0) {
      this.stops = this.sources.map((source) => source.subscribe(this.listener));
    }
    // Sorted by priority (high first), then arrival: binary search for the insertion point.
    let lo = 0;
    let hi = this.line.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.line[mid]!.priority >= waiter.priority) lo = mid + 1;
      else hi = mid;
    }
    this.line.splice(lo, 0, waiter);
  }

  private giveUp(waiter: Waiter, error: BudgetError): void {
    const i = this.line.indexOf(waiter);
    if (i < 0) return; // already served: the caller owns the permit
    this.line.splice(i, 1);
    this.cleanUp(waiter);
    waiter.reject(error);
    // The head leaving may unblock the next one.
    if (i === 0) this.notify();
    else this.quiet();
  }

  /** Stops listening once nobody waits. */
  private quiet(): void {
    if (this.line.length > 0 || this.stops === undefined) return;
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

type Subscribable = { subscribe(listener: (event?: unknown) => void): () => void };

/**
 * The guard and the budgets it is built on that report events: a refill scheduler's budget,
 * a token guard's budget, a combinator's members (each once, however they nest).
 */
function subscribable(guard: object): Subscribable[] {
  const found: Subscribable[] = [];
  const seen = new Set<object>();
  const visit = (value: unknown, depth: number): void => {
    if (typeof value !== 'object' || value === null || seen.has(value) || depth > 8) return;
    seen.add(value);
    const v = value as Partial<Subscribable> & {
      budget?: unknown;
      tokens?: unknown;
      members?: unknown;
    };
    if (typeof v.subscribe === 'function') found.push(v as Subscribable);
    visit(v.budget, depth + 1);
    visit(v.tokens, depth + 1);
    if (Array.isArray(v.members)) for (const m of v.members) visit(m, depth + 1);
  };
  visit(guard, 0);
  return found;
}

/**
 * The largest cost the guard could ever grant. A hierarchy node can be larger than its
 * ancestors (children may oversubscribe), so its own capacity is not the ceiling: the
 * smallest capacity on its path is.
 */
function ceilingOf(guard: SyncBudgetGuard): number {
  const path = (guard as { pathCapacity?: () => number }).pathCapacity;
  return typeof path === 'function' ? path.call(guard) : guard.capacity;
}

function checkSignal(signal: unknown): void {
  if (signal === undefined) return;
  const s = signal as Partial<AbortSignal> | null;
  if (typeof s?.aborted !== 'boolean' || typeof s.addEventListener !== 'function') {
    throw invalid(`option signal must be an AbortSignal, got ${describe(signal)}`, {});
  }
}

/** Whether a subscription callback's argument can mean units came back. */
function mayFreeUnits(event: unknown): boolean {
  if (typeof event !== 'object' || event === null) return true; // a refill epoch
  const type = (event as { type?: unknown }).type;
  if (type === 'commit') return ((event as { refunded?: unknown }).refunded as number) > 0;
  return type === 'release' || type === 'refill' || type === 'record' || type === 'leak';
}

function closedError(): BudgetError {
  return new BudgetError({ code: 'CLOSED', message: 'the waiting line was closed' });
}

/**
 * Put a fair waiting line in front of a guard: `acquire(cost, { signal, timeoutMs,
 * priority })` waits until the reservation can be made instead of failing. First come, first
 * served (within a priority), so a large request is not starved by a stream of small ones; a
 * waiter wakes when units come back (through this guard, or on an underlying core budget that
 * reports its releases through `subscribe`), when a scheduled budget refills, and when a rate
 * limiter's retry hint says it will fit — never by polling. An aborted or
 * timed-out waiter leaves no trace, and a request larger than capacity fails at once.
 *
 * When to use: callers that should queue for budget rather than back off themselves — a
 * worker pool behind a concurrency limit, jobs behind a token bucket, agents behind a
 * scheduled token budget. A release made directly on an `AtomicBudget` or `AtomicTokenBudget`
 * wakes the line too, wherever that budget sits under the guard (behind a refill scheduler
 * or a token guard, or as a member of an all-of or any-of); over other guards (a hierarchy
 * node, a rate limiter), return units through the waiting guard (its permits do it) or call
 * `notify()`.
 *
 * @param guard - a synchronous guard (any combinator over in-process budgets, a scheduled
 * budget, a rate limiter) or a synchronous token budget.
 * @param options - the clock for timeouts and wake timers.
 * @returns the waiting guard; `close()` rejects waiters still in line.
 * @throws BudgetError `INVALID_ARGUMENT` for an asynchronous or unknown guard.
 *
 * @example
 * ```ts
 * import { tokenBucket, waiting } from '@budgetry/compose';
 *
 * const rps = waiting(tokenBucket({ burst: 5, rate: 5 }));
 * const permit = await rps.acquire(1, { timeoutMs: 2_000 });
 * permit.commitSync(); // the request was sent: the token stays spent
 * ```
 */
export function waiting(
  guard: SyncBudgetGuard | SyncTokenBudget,
  options: WaitingOptions = {},
): WaitingGuard {
  if (typeof options !== 'object' || options === null) {
    throw invalid(`waiting options must be an object, got ${describe(options)}`, {});
  }
  const clock = options.clock ?? systemClock;
  if (typeof clock?.now !== 'function' || typeof clock.setTimer !== 'function') {
    throw invalid('option clock must have now() and setTimer()', {});
  }
  const g = isSyncTokenBudget(guard) ? tokenGuard(guard) : guard;
  if (typeof g !== 'object' || g === null || !isSyncGuard(g)) {
    throw invalid(
      `waiting expects a synchronous guard or token budget, got ${describe(guard)}`,
      {},
    );
  }
  return new WaitingGuard(g, clock);
}
