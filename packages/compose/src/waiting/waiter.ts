import { BudgetError, type CancelTimer, type SyncBudgetPermit } from '@budgetry/core';
import { describe, invalid } from '../internal/member-list.js';
import type { SignalMember } from './signal-groups.js';

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

/**
 * @internal What settles a waiter's Promise: the `resolve` of the Promise `acquire` returned.
 * A waiter is failed through it too ({@link failWith}), so its `reject` need not be kept.
 */
export type Settle = (permit: SyncBudgetPermit | PromiseLike<SyncBudgetPermit>) => void;

/**
 * @internal A caller in line that may leave before its turn (it gave a signal or a timeout):
 * it knows its slot, so it can take itself out, and what to cancel when it goes. With a
 * signal, it is listed among the line's waiters on that signal (see `SignalGroups`).
 */
export interface Waiter extends SignalMember {
  readonly priority: number;
  readonly resolve: (permit: SyncBudgetPermit) => void;
  readonly reject: (error: BudgetError) => void;
  readonly signal: AbortSignal | undefined;
  cancelTimer: CancelTimer | undefined;
  before: Waiter | undefined;
  after: Waiter | undefined;
  /** Where the line keeps it (returned by the line's `push`). */
  slot: number;
}

/**
 * @internal What the line holds for one caller: the settle function alone for a caller that
 * can only be served (or closed on), a {@link Waiter} record for one that may leave.
 */
export type Entry = Settle | Waiter;

/** @internal A record for a caller that may leave, not yet in line. */
export function newWaiter(
  priority: number,
  resolve: (permit: SyncBudgetPermit) => void,
  reject: (error: BudgetError) => void,
  signal: AbortSignal | undefined,
): Waiter {
  return {
    priority,
    resolve,
    reject,
    signal,
    cancelTimer: undefined,
    group: undefined,
    before: undefined,
    after: undefined,
    slot: 0,
  };
}

/**
 * The resolving functions of the Promise being built, handed out of its executor without a
 * closure per Promise: `new Promise(capture)` runs `capture` at once, and the caller takes
 * them right after ({@link takeResolve}, {@link takeReject}).
 */
let capturedResolve: Settle | undefined;
let capturedReject: ((error: BudgetError) => void) | undefined;
function capture(resolve: Settle, reject: (error: BudgetError) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

/** @internal The Promise an `acquire` returns; take its resolving functions next. */
export function pendingPermit(): Promise<SyncBudgetPermit> {
  return new Promise<SyncBudgetPermit>(capture);
}

/** @internal The resolve of the Promise {@link pendingPermit} built last (taken once). */
export function takeResolve(): Settle {
  const resolve = capturedResolve!;
  capturedResolve = undefined;
  return resolve;
}

/** @internal The reject of the Promise {@link pendingPermit} built last (taken once). */
export function takeReject(): (error: BudgetError) => void {
  const reject = capturedReject!;
  capturedReject = undefined;
  return reject;
}

/** @internal Rejects the caller behind an entry with `error`. */
export function failWith(entry: Entry, error: BudgetError): void {
  if (typeof entry === 'function') {
    // Resolving with a rejected Promise rejects with the same error (two microtasks later).
    entry(Promise.reject(error));
  } else {
    entry.reject(error);
  }
}

/** @internal The options of one `acquire`, checked; `priority` defaults to 0. */
export function checkAcquireOptions(options: AcquireOptions): {
  signal: AbortSignal | undefined;
  timeoutMs: number | undefined;
  priority: number;
} {
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
  return { signal, timeoutMs, priority };
}

function checkSignal(signal: unknown): void {
  if (signal === undefined) return;
  const s = signal as Partial<AbortSignal> | null;
  if (typeof s?.aborted !== 'boolean' || typeof s.addEventListener !== 'function') {
    throw invalid(`option signal must be an AbortSignal, got ${describe(signal)}`, {});
  }
}

/** @internal */
export const abortError = (signal: AbortSignal): BudgetError =>
  new BudgetError({
    code: 'ABORTED',
    message: 'the wait for budget was aborted',
    cause: signal.reason,
  });

/** @internal */
export const timeoutError = (cost: number, timeoutMs: number): BudgetError =>
  new BudgetError({
    code: 'TIMEOUT',
    message: `no budget for ${cost} within ${timeoutMs} ms`,
    details: { cost, timeoutMs },
  });

/** @internal */
export function closedError(): BudgetError {
  return new BudgetError({ code: 'CLOSED', message: 'the waiting line was closed' });
}

/** @internal A cost above the most the guard could ever grant (`ceiling`): it would wait forever. */
export function exceedsError(cost: number, ceiling: number): BudgetError {
  return new BudgetError({
    code: 'EXCEEDS_CAPACITY',
    message: `cost ${cost} exceeds the capacity ${ceiling}: it can never be granted`,
    details: { cost, capacity: ceiling },
  });
}

/**
 * @internal What a waiter is rejected with when the guard fails while serving it: the
 * guard's own `BudgetError`, or any other exception wrapped as `BACKEND` with it as `cause`.
 */
export function guardFailure(error: unknown): BudgetError {
  if (BudgetError.isInstance(error)) return error;
  return new BudgetError({
    code: 'BACKEND',
    message: `the guard failed: ${error instanceof Error ? error.message : String(error)}`,
    cause: error,
  });
}

/**
 * @internal Releases a permit nobody will receive (its waiter gave up while the guard granted
 * it); a failure has no caller, so it goes to `report`.
 */
export function giveBack(permit: SyncBudgetPermit, report: (error: unknown) => void): void {
  try {
    permit.releaseSync();
  } catch (error) {
    report(guardFailure(error));
  }
}

/**
 * @internal Hands a granted permit to a waiter that gave a signal. A resolved Promise cannot
 * be taken back, and the caller only sees the permit a microtask later; a signal aborted in
 * between (the same turn as the grant) would leave the caller holding a permit it no longer
 * wants. So the hand-over waits one microtask, and an abort by then releases the permit
 * (waking the line) and rejects with `ABORTED` instead.
 */
export function deliver(
  permit: SyncBudgetPermit,
  signal: AbortSignal,
  resolve: (permit: SyncBudgetPermit) => void,
  reject: (error: BudgetError) => void,
): void {
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
