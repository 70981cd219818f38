import { describe, invalid } from '../budgets/options.js';
import { assertAmount } from '../spec/amount.js';
import { BudgetError } from '../spec/budget-error.js';
import type { SyncBudgetPermit } from '../spec/budget-guard.js';
import {
  Q_COST,
  Q_LANE,
  Q_PRIORITY,
  Q_STATE,
  Q_TICKET,
  Q_WAKE,
  S_AVAIL,
  S_TICKETS,
  slotF64,
  slotI32,
  W_HEAD,
  W_WAITING,
} from './layout.js';
import type { SharedRegion } from './region.js';

/**
 * Options of a shared budget's `acquire`.
 *
 * @example
 * ```ts
 * import type { SharedAcquireOptions } from '@budgetry/core';
 *
 * const options: SharedAcquireOptions = { timeoutMs: 2_000, priority: 1 };
 * ```
 */
export interface SharedAcquireOptions {
  /** Gives up the wait, rejecting with `ABORTED`. */
  signal?: AbortSignal;
  /** Gives up after this many milliseconds (by the budget's clock), rejecting with `TIMEOUT`. */
  timeoutMs?: number;
  /** Higher is served first; equal priorities are first come, first served (default 0). */
  priority?: number;
}

/** @internal What the line needs from the budget it waits on. */
export interface LineOwner {
  readonly capacity: number;
  readonly name: string | undefined;
  /** With the lock held: takes `cost` units for a permit and returns their epoch. */
  take(cost: number): number;
  /** Makes the permit handle (after the lock is released). */
  issue(cost: number, epoch: number): SyncBudgetPermit;
  /** Before the lock: applies a refill schedule's boundary the clock has passed. */
  catchUpDue(): void;
}

type WaitAsync = (
  i32: Int32Array,
  index: number,
  value: number,
  timeout?: number,
) => { async: boolean; value: Promise<string> | string };

/**
 * @internal Waits in the cross-thread line for `cost` units. Waiters sit in slots of the shared
 * memory, ordered by priority and then by ticket; only the first may take units, so the line is
 * first come, first served within a priority across threads. Releases and refills anywhere
 * bump a wake word and notify it; waiters sleep on it with `Atomics.waitAsync`, never polling.
 */
export function waitInLine(
  region: SharedRegion,
  cost: number,
  options: SharedAcquireOptions | undefined,
  owner: LineOwner,
): Promise<SyncBudgetPermit> {
  try {
    assertAmount(cost, 'cost');
    const { signal, timeoutMs, priority } = checkOptions(options);
    if (cost > owner.capacity) {
      throw new BudgetError({
        code: 'EXCEEDS_CAPACITY',
        message: `acquire(${cost}) can never succeed: the capacity is ${owner.capacity}`,
        details: { budget: owner.name, cost, capacity: owner.capacity },
      });
    }
    if (signal?.aborted) throw aborted(signal);
    return new Waiter(region, cost, priority, owner).run(signal, timeoutMs);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * A pending `Atomics.waitAsync` does not keep a Node thread alive, but a waiter must stay to be
 * woken by another thread: while any waiter of this thread is in line, a ref'd timer that
 * never fires keeps the event loop open.
 */
let inLine = 0;
let keepAlive: ReturnType<typeof setInterval> | undefined;
/** @internal Keeps this thread's event loop open until the matching {@link letGo}. */
export function holdOpen(): void {
  if (inLine++ === 0) keepAlive = setInterval(() => {}, 2 ** 30);
}
/** @internal Ends one {@link holdOpen}. */
export function letGo(): void {
  if (--inLine === 0 && keepAlive !== undefined) {
    clearInterval(keepAlive);
    keepAlive = undefined;
  }
}

class Waiter {
  private slot = -1;
  private done = false;
  /** An `Atomics.waitAsync` of this waiter is pending. */
  private waitingAsync = false;
  private reject: (error: unknown) => void = () => {};
  private cleanup: (() => void)[] = [];

  constructor(
    private readonly region: SharedRegion,
    private readonly cost: number,
    private readonly priority: number,
    private readonly owner: LineOwner,
  ) {}

  run(signal: AbortSignal | undefined, timeoutMs: number | undefined): Promise<SyncBudgetPermit> {
    const region = this.region;
    this.owner.catchUpDue();
    region.lock();
    const refused = region.refusal();
    if (refused !== undefined) {
      region.unlock();
      return Promise.reject(refused);
    }
    if (this.cost === 0 || (Atomics.load(region.i32, W_WAITING) === 0 && this.fits())) {
      const epoch = this.owner.take(this.cost);
      region.unlock();
      return Promise.resolve(this.owner.issue(this.cost, epoch));
    }
    const slot = this.enqueue();
    region.unlock();
    if (slot < 0) {
      return Promise.reject(
        new BudgetError({
          code: 'BACKEND',
          message: `all ${region.waitSlots} waiter slots of this shared budget are taken; create it with a larger maxWaiters`,
          details: { budget: this.owner.name, maxWaiters: region.waitSlots },
        }),
      );
    }
    holdOpen();
    this.cleanup.push(letGo);
    return new Promise<SyncBudgetPermit>((resolve, reject) => {
      this.reject = reject;
      if (signal !== undefined) {
        const onAbort = (): void => this.leave(aborted(signal));
        signal.addEventListener('abort', onAbort, { once: true });
        this.cleanup.push(() => signal.removeEventListener('abort', onAbort));
      }
      if (timeoutMs !== undefined) {
        const cancel = region.clock.setTimer(() => {
          this.leave(
            new BudgetError({
              code: 'TIMEOUT',
              message: `no ${this.cost} units came free within ${timeoutMs} ms`,
              details: { budget: this.owner.name, cost: this.cost, timeoutMs },
            }),
          );
        }, timeoutMs);
        this.cleanup.push(cancel);
      }
      this.loop(resolve);
    });
  }

  private fits(): boolean {
    return this.cost <= this.region.f64[S_AVAIL]!;
  }

  /** With the lock held: takes a free slot, or returns −1. */
  private enqueue(): number {
    const region = this.region;
    const { i32, f64 } = region;
    for (let s = 0; s < region.waitSlots; s++) {
      const q = slotI32(region.lanes, s);
      if (i32[q + Q_STATE] !== 0) continue;
      const qf = slotF64(region.lanes, s);
      i32[q + Q_STATE] = 1;
      i32[q + Q_LANE] = region.lane;
      f64[qf + Q_PRIORITY] = this.priority;
      f64[qf + Q_TICKET] = f64[S_TICKETS]!;
      f64[qf + Q_COST] = this.cost;
      f64[S_TICKETS] = f64[S_TICKETS]! + 1;
      Atomics.add(i32, W_WAITING, 1);
      this.slot = s;
      // A new waiter is first only if the line was empty or it outranks the first.
      const head = i32[W_HEAD]!;
      if (head < 0 || this.priority > f64[slotF64(region.lanes, head) + Q_PRIORITY]!) {
        i32[W_HEAD] = s;
      }
      return s;
    }
    return -1;
  }

  /** With the lock held: whether our slot is still ours (a reclaim may have freed it). */
  private holdsSlot(): boolean {
    const q = slotI32(this.region.lanes, this.slot);
    return this.region.i32[q + Q_STATE] === 1 && this.region.i32[q + Q_LANE] === this.region.lane;
  }

  /** With the lock held: whether no waiter is ahead of ours. */
  private isHead(): boolean {
    const { i32, lanes } = this.region;
    const head = i32[W_HEAD]!;
    if (head === this.slot) return true;
    // A head that is no longer waiting: a thread stopped between freeing it and choosing the
    // next; choose again.
    if (head < 0 || i32[slotI32(lanes, head) + Q_STATE] !== 1) {
      this.region.findHead();
      return i32[W_HEAD] === this.slot;
    }
    return false;
  }

  /** With the lock held: gives the slot back. */
  private dequeue(): void {
    const q = slotI32(this.region.lanes, this.slot);
    this.region.i32[q + Q_STATE] = 0;
    Atomics.sub(this.region.i32, W_WAITING, 1);
    this.region.retireSlot(this.slot);
  }

  private loop(resolve: (permit: SyncBudgetPermit) => void): void {
    const region = this.region;
    const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;
    const step = (): void => {
      if (this.done) return;
      const word = slotI32(region.lanes, this.slot) + Q_WAKE;
      const seen = Atomics.load(region.i32, word);
      this.owner.catchUpDue();
      region.lock();
      const refused = region.refusal() ?? (this.holdsSlot() ? undefined : lostSlot(this.owner));
      if (refused !== undefined) {
        region.unlock();
        this.finish();
        this.reject(refused);
        return;
      }
      if (this.isHead() && this.fits()) {
        this.dequeue();
        const epoch = this.owner.take(this.cost);
        region.unlock();
        this.finish();
        region.wake(); // the next in line may fit too
        resolve(this.owner.issue(this.cost, epoch));
        return;
      }
      region.unlock();
      const result = waitAsync(region.i32, word, seen);
      if (result.async) {
        this.waitingAsync = true;
        (result.value as Promise<string>).then(() => {
          this.waitingAsync = false;
          step();
        });
      } else queueMicrotask(step);
    };
    step();
  }

  /** Leaves the line (abort or timeout): frees the slot and lets the next waiter check. */
  private leave(error: BudgetError): void {
    if (this.done) return;
    const region = this.region;
    region.lock();
    if (this.holdsSlot()) this.dequeue();
    region.unlock();
    this.finish();
    region.wake();
    this.reject(error);
  }

  private finish(): void {
    this.done = true;
    for (const stop of this.cleanup) stop();
    this.cleanup = [];
    if (this.waitingAsync) {
      // Settle this waiter's own pending Atomics.waitAsync, so its callback does not linger
      // until the slot's next wake-up. A waiter now in the slot wakes once for nothing.
      const word = slotI32(this.region.lanes, this.slot) + Q_WAKE;
      Atomics.add(this.region.i32, word, 1);
      Atomics.notify(this.region.i32, word);
    }
  }
}

function checkOptions(options: SharedAcquireOptions | undefined): {
  signal: AbortSignal | undefined;
  timeoutMs: number | undefined;
  priority: number;
} {
  if (options === undefined) return { signal: undefined, timeoutMs: undefined, priority: 0 };
  if (typeof options !== 'object' || options === null) {
    throw invalid(`acquire options must be an object, got ${describe(options)}`, {});
  }
  const { signal, timeoutMs, priority = 0 } = options;
  if (signal !== undefined) {
    const s = signal as Partial<AbortSignal> | null;
    if (typeof s?.aborted !== 'boolean' || typeof s.addEventListener !== 'function') {
      throw invalid(`option signal must be an AbortSignal, got ${describe(signal)}`, {});
    }
  }
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

function aborted(signal: AbortSignal): BudgetError {
  return new BudgetError({
    code: 'ABORTED',
    message: 'the wait for budget was aborted',
    cause: signal.reason,
  });
}

function lostSlot(owner: LineOwner): BudgetError {
  return new BudgetError({
    code: 'LEASE_EXPIRED',
    message:
      "this handle's lease expired while it waited, and its place in line was given back; open the budget again",
    details: { budget: owner.name },
  });
}
