import { BudgetError } from '../spec/budget-error.js';
import type { Clock } from '../spec/clock.js';
import {
  FAST_BIAS,
  FAST_WORD,
  FLAG_CARRY,
  FLAG_STRICT,
  H_CLOSED,
  H_FLAGS,
  H_FREED,
  H_KIND,
  H_LANES,
  H_WAIT_SLOTS,
  KIND_GUARD,
  L_GONE,
  L_HEARTBEAT,
  L_STATE,
  L_THREAD,
  LOCK_CONTENDED,
  laneF64,
  laneI32,
  Q_LANE,
  Q_STATE,
  Q_WAKE,
  S_AVAIL,
  S_COUNT,
  S_HELD,
  S_LEASE_MS,
  slotI32,
  W_HEAD,
  W_LOCK,
  W_RECOVERED,
  W_WAITING,
  W_WATCHERS,
} from './layout.js';
import { findFirst, recountLine } from './wait-slots.js';

/**
 * What `postMessage` carries to a worker so it can reopen a shared budget there. It holds the
 * budget's `SharedArrayBuffer`, which `postMessage` shares rather than copies; serialized
 * (to JSON, or to another process) it cannot be reopened.
 *
 * @example
 * ```ts
 * import { SharedBudget, type SharedBudgetDescriptor } from '@budgetry/core';
 *
 * const rows = new SharedBudget(100);
 * const descriptor: SharedBudgetDescriptor = rows.share();
 * const again = SharedBudget.open(descriptor); // in a worker, after postMessage
 * again.close();
 * rows.close();
 * ```
 */
export interface SharedBudgetDescriptor {
  /** `'budgetry/shared-budget'`. */
  readonly type: string;
  /**
   * `'guard'` for a `SharedBudget`, `'tokens'` for a `SharedTokenBudget`, `'hierarchy'` for a
   * `SharedHierarchy`.
   */
  readonly kind: 'guard' | 'tokens' | 'hierarchy';
  /** The layout version the budget was created with. */
  readonly version: number;
  /** The memory every thread reads and writes. */
  readonly buffer: SharedArrayBuffer;
  /** The budget's `name`, if it has one. */
  readonly name: string | undefined;
}

export const DESCRIPTOR_TYPE = 'budgetry/shared-budget';

/** @internal The threadId of the calling thread (0 on the main thread or outside Node). */
export function currentThreadId(): number {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const threads = proc?.getBuiltinModule?.('node:worker_threads') as
    | { threadId?: number }
    | undefined;
  return typeof threads?.threadId === 'number' ? threads.threadId : 0;
}

export function currentPid(): number {
  const pid = (globalThis as { process?: { pid?: number } }).process?.pid;
  return typeof pid === 'number' ? pid : 0;
}

export function backend(message: string, details: Record<string, unknown>): BudgetError {
  return new BudgetError({ code: 'BACKEND', message, details });
}

export function invalidDescriptor(
  message: string,
  details: Record<string, unknown> = {},
): BudgetError {
  return new BudgetError({ code: 'INVALID_ARGUMENT', message, details });
}

/** @internal Whether this runtime can share memory between threads. */
export function assertSharedMemory(what: string): void {
  if (typeof SharedArrayBuffer !== 'function' || typeof Atomics !== 'object') {
    throw new BudgetError({
      code: 'BACKEND',
      message:
        `${what} needs SharedArrayBuffer and Atomics, which this runtime does not provide; ` +
        'in a browser the page must be cross-origin isolated (served with ' +
        'Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)',
      details: {},
    });
  }
}

/** Settings a region is created with. */
export interface RegionInit {
  readonly kind: number;
  readonly capacity: number;
  readonly carry: boolean;
  readonly strict: boolean;
  readonly lanes: number;
  readonly waitSlots: number;
  readonly leaseMs: number;
  /** Bytes after the waiter slots for a kind's own area (the hierarchy's tree); default 0. */
  readonly extraBytes?: number;
}

/**
 * @internal One thread's view of a shared budget's memory and its lock. The budget classes
 * inline the lock's fast path (one compare-and-exchange) and call
 * {@link RegionMemory.slowLock} only when it is taken.
 */
export class RegionMemory {
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  /** The same bytes as 64-bit integers: the fast words (see `FAST_WORD`, `L_FAST`). */
  readonly b64: BigInt64Array;
  /** Whether the count API may go around the lock through the fast word (guards only). */
  readonly fast: boolean;
  /** The value this handle writes into the lock word: its lane + 1. */
  owner = 0;
  readonly lanes: number;
  readonly waitSlots: number;
  readonly carry: boolean;
  readonly strict: boolean;

  constructor(
    readonly buffer: SharedArrayBuffer,
    readonly clock: Clock,
    readonly name: string | undefined,
  ) {
    this.i32 = new Int32Array(buffer);
    this.f64 = new Float64Array(buffer);
    this.b64 = new BigInt64Array(buffer);
    this.fast = this.i32[H_KIND] === KIND_GUARD;
    this.lanes = this.i32[H_LANES]!;
    this.waitSlots = this.i32[H_WAIT_SLOTS]!;
    const flags = this.i32[H_FLAGS]!;
    this.carry = (flags & FLAG_CARRY) !== 0;
    this.strict = (flags & FLAG_STRICT) !== 0;
  }

  get leaseMs(): number {
    return this.f64[S_LEASE_MS]!;
  }

  /**
   * Takes the lock after the inline compare-and-exchange failed: spins briefly (critical
   * sections are a few loads and stores), then sleeps on the lock word.
   *
   * A worker can be terminated while it holds the lock: V8 stops a thread at function entries
   * and loop back-edges, and a critical section may call functions before it writes. So every
   * critical section in budgetry reads and computes first and then writes in one straight
   * tail of stores with no calls and no loops, which V8 cannot stop halfway: a thread stopped
   * while holding the lock has written all of its update or none of it, and the lock can be
   * taken over without tearing anything. It is taken over when the holder's thread is known
   * to have exited (see `markThreadGone`), or when the holder has not beaten for twice the
   * lease while the lock stayed taken for a whole lease. The line's bookkeeping is the one
   * update with calls inside it; the taker recounts it (`recountLine`).
   */
  slowLock(): void {
    const i32 = this.i32;
    const owner = this.owner;
    for (let spin = 0; spin < 200; spin++) {
      if (Atomics.load(i32, W_LOCK) === 0 && Atomics.compareExchange(i32, W_LOCK, 0, owner) === 0) {
        return;
      }
    }
    let waitedSince = 0;
    let lastHolder = -1;
    for (;;) {
      let current = Atomics.load(i32, W_LOCK);
      if (current === 0) {
        // Taken with the contended bit kept, so the unlock wakes whoever else sleeps.
        if (Atomics.compareExchange(i32, W_LOCK, 0, owner | LOCK_CONTENDED) === 0) return;
        continue;
      }
      if ((current & LOCK_CONTENDED) === 0) {
        const seen = Atomics.compareExchange(i32, W_LOCK, current, current | LOCK_CONTENDED);
        if (seen !== current) continue;
        current |= LOCK_CONTENDED;
      }
      const now = Date.now();
      // The wait is measured per holder: a lock that changed hands is not held too long.
      const holder = current & ~LOCK_CONTENDED;
      if (holder !== lastHolder) {
        lastHolder = holder;
        waitedSince = now;
      }
      if (this.holderGone(current, now - waitedSince)) {
        if (Atomics.compareExchange(i32, W_LOCK, current, owner | LOCK_CONTENDED) === current) {
          Atomics.add(i32, W_RECOVERED, 1);
          recountLine(this);
          return;
        }
        continue;
      }
      sleep(i32, W_LOCK, current, 20);
    }
  }

  /**
   * Whether the lock word's holder can no longer release it: its thread was reported gone, or
   * the lock stayed taken for a whole lease while the holder missed two leases of heartbeats.
   */
  private holderGone(lockWord: number, waitedMs: number): boolean {
    const holder = (lockWord & ~LOCK_CONTENDED) - 1;
    if (holder < 0 || holder >= this.lanes) return false;
    const li = laneI32(holder);
    if (Atomics.load(this.i32, li + L_GONE) !== 0) return true;
    if (waitedMs <= this.leaseMs) return false;
    // Read without the lock (its holder is the one in question); a torn read only delays this.
    const beat = this.f64[laneF64(holder) + L_HEARTBEAT]!;
    return this.clock.now() - beat > this.leaseMs * 2;
  }

  /**
   * Whether `lock()` would not wait now — the lock is free, or its holder is to be taken over —
   * or within `patienceMs`: a holder that lives lets go within microseconds, one that died
   * holding it only once it is known gone. `waitedMs`: how long the caller has waited before.
   */
  lockFree(waitedMs: number, patienceMs = 0): boolean {
    const until = Date.now() + patienceMs;
    for (;;) {
      const word = Atomics.load(this.i32, W_LOCK);
      if (word === 0 || this.holderGone(word, waitedMs)) return true;
      if (Date.now() >= until) return false;
      sleep(this.i32, W_LOCK, word, 1);
    }
  }

  /**
   * Records that the thread `threadId` exited: the lanes it held may have their lock taken over
   * at once, and are then reclaimed.
   */
  markThreadGone(threadId: number): void {
    for (let i = 0; i < this.lanes; i++) {
      const li = laneI32(i);
      if (
        Atomics.load(this.i32, li + L_STATE) !== 0 &&
        Atomics.load(this.i32, li + L_THREAD) === threadId
      ) {
        Atomics.store(this.i32, li + L_GONE, 1);
      }
    }
  }

  /** Releases the lock (the inline unlock for paths that are not hot). */
  unlock(): void {
    if ((Atomics.exchange(this.i32, W_LOCK, 0) & LOCK_CONTENDED) !== 0) {
      Atomics.notify(this.i32, W_LOCK, 1);
    }
  }

  /**
   * Takes the lock. On a guard it then folds the fast word (see `FAST_WORD`): bumps its
   * sequence, so a lock-free count call that read the word before cannot complete, and moves
   * what it holds pending into the budget's words, so this holder reads them exact.
   */
  lock(): void {
    if (Atomics.compareExchange(this.i32, W_LOCK, 0, this.owner) !== 0) this.slowLock();
    if (this.fast) this.foldFastWord();
  }

  /**
   * With the lock just taken: the fold. The exchange and the stores after it are one straight
   * line with no calls (see `slowLock`): a thread stopped here has folded all or nothing.
   */
  private foldFastWord(): void {
    const b = this.b64;
    const f = this.f64;
    let word = Atomics.load(b, FAST_WORD);
    let pending = 0;
    let available = 0;
    let count = 0;
    let held = 0;
    for (;;) {
      const low = word & LOW_HALF;
      pending = Number(low) - FAST_BIAS;
      available = f[S_AVAIL]! - pending;
      count = f[S_COUNT]! + pending;
      held = f[S_HELD]! + pending;
      const next = BigInt.asIntN(64, word - low + SEQUENCE_STEP) + BIAS;
      const seen = Atomics.compareExchange(b, FAST_WORD, word, next);
      if (seen === word) break;
      word = seen;
    }
    // The tail: stores only.
    if (pending === 0) return;
    f[S_AVAIL] = available;
    f[S_COUNT] = count;
    f[S_HELD] = held;
  }

  /** After units came back (the lock released): wakes whoever waits or watches, if anyone. */
  freed(): void {
    if ((Atomics.load(this.i32, W_WAITING) | Atomics.load(this.i32, W_WATCHERS)) !== 0) this.wake();
  }

  /**
   * Wakes every thread waiting for units: the watchers of every thread (see `FreedWatch`) and
   * the first of the cross-thread line. Called after the lock is released.
   */
  wake(): void {
    if (Atomics.load(this.i32, W_WATCHERS) > 0) this.bumpFreed();
    const head = Atomics.load(this.i32, W_HEAD);
    if (head < 0) return;
    // Only the first in line may take units; it wakes the next when it is served or leaves.
    const word = slotI32(this.lanes, head) + Q_WAKE;
    Atomics.add(this.i32, word, 1);
    Atomics.notify(this.i32, word, 1);
  }

  /** Bumps and notifies the freed-units sequence the watchers of every thread sleep on. */
  bumpFreed(): void {
    Atomics.add(this.i32, H_FREED, 1);
    Atomics.notify(this.i32, H_FREED);
  }

  /** Wakes every waiter and watcher (the budget closed: each must see it and leave). */
  wakeAll(): void {
    this.bumpFreed();
    for (let s = 0; s < this.waitSlots; s++) {
      const q = slotI32(this.lanes, s);
      if (Atomics.load(this.i32, q + Q_STATE) === 0) continue;
      Atomics.add(this.i32, q + Q_WAKE, 1);
      Atomics.notify(this.i32, q + Q_WAKE);
    }
  }

  /**
   * With the lock held: recomputes the first in line after slot `freed` left, when it was the
   * first. A scan of the slots, once per waiter served or leaving the head.
   */
  retireSlot(freed: number): void {
    if (this.i32[W_HEAD] !== freed) return;
    this.findHead();
  }

  /** With the lock held: the first in line, by a scan of the slots. */
  findHead(): void {
    findFirst(this, true);
  }

  /** With the lock held: frees the waiter slots lane `i` holds (each in one store). */
  freeSlotsOf(i: number): void {
    let left = this.i32[W_WAITING]!;
    for (let s = 0; s < this.waitSlots && left > 0; s++) {
      const q = slotI32(this.lanes, s);
      if (this.i32[q + Q_STATE] !== 1) continue;
      left--;
      if (this.i32[q + Q_LANE] === i) {
        this.i32[q + Q_STATE] = 0;
        Atomics.sub(this.i32, W_WAITING, 1);
        this.retireSlot(s);
        // Its waiter, if its thread lives, must wake to learn it lost its place.
        Atomics.add(this.i32, q + Q_WAKE, 1);
        Atomics.notify(this.i32, q + Q_WAKE);
      }
    }
  }

  /** Marks the whole budget closed (the creator's `close()`); later opens fail too. */
  markClosed(): void {
    Atomics.store(this.i32, H_CLOSED, 1);
    // A count call without the lock checks for closing only when the fast word's sequence moves.
    if (this.fast) Atomics.add(this.b64, FAST_WORD, SEQUENCE_STEP);
    this.wakeAll();
  }

  /** Units currently available (read under the lock). */
  read(index: number): number {
    this.lock();
    const value = this.f64[index]!;
    this.unlock();
    return value;
  }
}

/** The low half of a fast word: its biased pending units. */
export const LOW_HALF = 0xffff_ffffn;
/** One step of a fast word's sequence, in its high half. */
const SEQUENCE_STEP = 1n << 32n;
const BIAS = BigInt(FAST_BIAS);

/** Sleeps on `i32[index]` while it holds `value`; `false` where this thread may not block. */
function sleep(i32: Int32Array, index: number, value: number, ms: number): boolean {
  try {
    Atomics.wait(i32, index, value, ms);
    return true;
  } catch {
    return false; // a browser's main thread cannot block; it spins instead
  }
}

export function closedError(name: string | undefined): BudgetError {
  return new BudgetError({
    code: 'CLOSED',
    message: 'the shared budget was closed by the handle that created it',
    details: { budget: name },
  });
}
