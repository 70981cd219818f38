import { BudgetError } from '../spec/budget-error.js';
import type { CancelTimer, Clock } from '../spec/clock.js';
import { checkDescriptor } from './descriptor.js';
import { FreedWatch } from './freed-watch.js';
import {
  bufferBytes,
  CLAIMING,
  FAST_BIAS,
  FAST_WORD,
  FLAG_CARRY,
  FLAG_STRICT,
  FREE,
  H_CLOSED,
  H_FLAGS,
  H_KIND,
  H_LANES,
  H_MAGIC,
  H_PID,
  H_VERSION,
  H_WAIT_SLOTS,
  HF_DONE,
  HF_DUE,
  HF_PERIOD,
  L_COUNT,
  L_EPOCH,
  L_FAST,
  L_GEN,
  L_GONE,
  L_HEARTBEAT,
  L_HELD,
  L_SLICE,
  L_STATE,
  L_THREAD,
  L_WATCHING,
  LAYOUT_VERSION,
  laneF64,
  laneI32,
  MAGIC,
  OPEN,
  S_AVAIL,
  S_CAPACITY,
  S_COUNT,
  S_EPOCH,
  S_HELD,
  S_LEASE_MS,
  S_RECLAIMED,
  S_RECLAIMED_LANES,
  S_SLICED,
  S_UNCLAIMED,
  W_HEAD,
  W_WATCHERS,
} from './layout.js';
import {
  backend,
  closedError,
  currentPid,
  currentThreadId,
  DESCRIPTOR_TYPE,
  type RegionInit,
  RegionMemory,
  type SharedBudgetDescriptor,
} from './memory.js';

export type { SharedBudgetDescriptor } from './memory.js';
export { assertSharedMemory, closedError } from './memory.js';

const MAX = Number.MAX_SAFE_INTEGER;

/**
 * @internal One thread's view of a shared budget's memory, with the lane this handle owns: its
 * holds, its heartbeat, and the reclaiming of lanes whose threads are gone.
 */
export class SharedRegion extends RegionMemory {
  /** The lane this handle owns, its first Float64 and Int32 index, and its generation. */
  lane = -1;
  laneF = 0;
  laneI = 0;
  gen = 0;
  /**
   * Count-API units this handle reserved without the lock, net of its releases there, as its
   * lane's `L_FAST` holds them: only this handle writes that word (see `fast-count.ts`).
   */
  pending = 0;
  /** What the fast path caches for one sequence of the fast word (see `rebound`). */
  fastLow = 1n;
  fastHigh = 0n;
  fastLaneCount = 0;
  fastQuiet = false;
  lastWord = 0n;
  private heartbeat: CancelTimer | undefined;
  /**
   * With the lock held, before a lane's own words are given back: gives back what a kind
   * keeps for lane `i` in its own area (the hierarchy's per-handle holds) and returns those
   * units. Set by the kinds that have such an area; `undefined` for the others.
   */
  laneHook: ((lane: number) => number) | undefined = undefined;

  /** This handle's listeners for freed units, made on the first `watchFreed`. */
  private watch: FreedWatch | undefined;

  /**
   * Calls `listener` (later, in this thread) whenever units may have come free through any
   * handle in any thread, or the budget closed. See `FreedWatch`.
   */
  watchFreed(listener: () => void): () => void {
    this.lock();
    const refused = this.refusal();
    this.unlock();
    if (refused !== undefined) throw refused;
    this.watch ??= new FreedWatch(this);
    return this.watch.add(listener);
  }

  /** This handle is closing: its watchers hear it once more and stop. */
  stopWatching(): void {
    this.watch?.closing();
  }

  /** A new, full budget's memory. */
  static create(init: RegionInit, clock: Clock, name: string | undefined): SharedRegion {
    const buffer = new SharedArrayBuffer(
      bufferBytes(init.lanes, init.waitSlots) + (init.extraBytes ?? 0),
    );
    const i32 = new Int32Array(buffer);
    const f64 = new Float64Array(buffer);
    i32[H_MAGIC] = MAGIC;
    i32[H_VERSION] = LAYOUT_VERSION;
    i32[H_KIND] = init.kind;
    i32[H_FLAGS] = (init.carry ? FLAG_CARRY : 0) | (init.strict ? FLAG_STRICT : 0);
    i32[H_LANES] = init.lanes;
    i32[H_WAIT_SLOTS] = init.waitSlots;
    i32[H_PID] = currentPid();
    f64[S_CAPACITY] = init.capacity;
    f64[S_AVAIL] = init.capacity;
    i32[W_HEAD] = -1;
    f64[S_LEASE_MS] = init.leaseMs;
    f64[HF_DUE] = Number.POSITIVE_INFINITY;
    f64[HF_DONE] = Number.NEGATIVE_INFINITY;
    f64[HF_PERIOD] = Number.NaN;
    new BigInt64Array(buffer)[FAST_WORD] = BigInt(FAST_BIAS);
    return new SharedRegion(buffer, clock, name);
  }

  /** Checks a descriptor received from another thread and views its memory. */
  static open(descriptor: unknown, kind: number, clock: Clock): SharedRegion {
    const d = checkDescriptor(descriptor, kind);
    return new SharedRegion(d.buffer, clock, d.name);
  }

  /** The descriptor for `postMessage`. */
  describe(kind: 'guard' | 'tokens' | 'hierarchy'): SharedBudgetDescriptor {
    return {
      type: DESCRIPTOR_TYPE,
      kind,
      version: LAYOUT_VERSION,
      buffer: this.buffer,
      name: this.name,
    };
  }

  /**
   * Claims a free lane for this handle and starts its heartbeat. The lane is taken with one
   * compare-and-exchange before the lock, so the lock always has an owner that names a lane.
   */
  claimLane(): void {
    const i32 = this.i32;
    const now = this.clock.now(); // user code: read before anything is taken
    let lane = -1;
    for (let i = 0; i < this.lanes && lane < 0; i++) {
      if (Atomics.compareExchange(i32, laneI32(i) + L_STATE, 0, CLAIMING) === 0) lane = i;
    }
    if (lane < 0) {
      throw backend(
        `all ${this.lanes} handles of this shared budget are open; close one, call reclaimExpired() on an open one, or create the budget with a larger maxHandles`,
        { budget: this.name, maxHandles: this.lanes },
      );
    }
    const li = laneI32(lane);
    const lf = laneF64(lane);
    Atomics.store(i32, li + L_THREAD, currentThreadId());
    Atomics.store(i32, li + L_GONE, 0);
    this.owner = lane + 1;
    this.lock();
    const gen = (i32[li + L_GEN]! + 1) | 0;
    const epoch = this.f64[S_EPOCH]!;
    i32[li + L_GEN] = gen;
    this.f64[lf + L_HEARTBEAT] = now;
    this.f64[lf + L_EPOCH] = epoch;
    this.f64[lf + L_COUNT] = 0;
    this.f64[lf + L_FAST] = 0;
    this.f64[lf + L_HELD] = 0;
    this.f64[lf + L_SLICE] = 0;
    Atomics.store(i32, li + L_STATE, OPEN);
    this.unlock();
    this.lane = lane;
    this.laneF = lf;
    this.laneI = li;
    this.gen = gen;
    this.scheduleHeartbeat();
  }

  /**
   * Takes the lock. On a guard whose handle reserved or released without it, also moves its
   * lane's `L_FAST` into `L_COUNT` (dropped with the lane's records when they belong to a
   * fenced-off epoch or the lane was reclaimed), in one tail of stores.
   */
  override lock(): void {
    super.lock();
    const pending = this.pending;
    if (pending === 0) return;
    this.pending = 0;
    if (!this.ownsLane()) return;
    const f = this.f64;
    const lf = this.laneF;
    const live = this.carry || f[lf + L_EPOCH] === f[S_EPOCH];
    const count = live ? f[lf + L_COUNT]! + pending : f[lf + L_COUNT]!;
    // The tail: stores only.
    f[lf + L_COUNT] = count;
    f[lf + L_FAST] = 0;
  }

  private scheduleHeartbeat(): void {
    const period = Math.max(1, Math.floor(this.leaseMs / 4));
    this.heartbeat = this.clock.setTimer(() => {
      this.heartbeat = undefined;
      if (!this.beat()) return;
      this.scheduleHeartbeat();
    }, period);
  }

  /** Writes this handle's heartbeat; `false` once the handle lost its lane. */
  beat(): boolean {
    const now = this.clock.now();
    this.lock();
    const ours = this.ownsLane();
    if (ours) this.f64[this.laneF + L_HEARTBEAT] = now;
    this.unlock();
    return ours;
  }

  /** @internal For tests: stop beating, as a thread that hangs would. */
  stopHeartbeat(): void {
    this.heartbeat?.();
    this.heartbeat = undefined;
  }

  /** With the lock held: whether this handle still owns its lane. */
  ownsLane(): boolean {
    return this.i32[this.laneI + L_GEN] === this.gen && this.i32[this.laneI + L_STATE] === OPEN;
  }

  /**
   * With the lock held: whether lane `i` may be reclaimed as expired at clock reading `now`
   * (read before the lock: a clock is user code) — open with a heartbeat older than the lease,
   * or held by a thread reported gone. A lane caught between its
   * compare-and-exchange and its first lock is left alone unless its thread is gone.
   */
  isExpired(i: number, now: number): boolean {
    const state = this.i32[laneI32(i) + L_STATE];
    if (this.i32[laneI32(i) + L_GONE] !== 0) return state !== FREE;
    if (state !== OPEN) return false;
    return now - this.f64[laneF64(i) + L_HEARTBEAT]! > this.leaseMs;
  }

  /**
   * With the lock held: gives back what lane `i` holds in live epochs (count-API units up to
   * what the pool holds, permit or reservation units, its slice), frees its waiter slots and
   * the lane, and counts it. Exactly once: a freed lane is skipped by the next reclaimer, and
   * the handle that owned it sees its generation change. The lane's and the budget's words
   * are written in one tail of stores after everything is computed (see `slowLock`).
   *
   * @returns the units given back.
   */
  reclaimLane(i: number, counted: boolean): number {
    const f = this.f64;
    const i32 = this.i32;
    // The kind's own holds first, each given back in a tail of its own (see laneHook).
    const extra = this.laneHook === undefined ? 0 : this.laneHook(i);
    const lf = laneF64(i);
    const li = laneI32(i);
    let count = 0;
    let absorbed = 0;
    let held = 0;
    let slice = 0;
    if (this.carry || f[lf + L_EPOCH] === f[S_EPOCH]) {
      // The count API is one pool, so a lane's record can outlive units another handle
      // released for it (`S_UNCLAIMED`): those come out of this record first, and no more
      // than the pool holds is given back. Other lanes' records are not read: another
      // handle's lock-free call may be between its swap and its lane store (fast-count.ts).
      const recorded = Math.max(0, f[lf + L_COUNT]! + f[lf + L_FAST]!);
      absorbed = Math.min(recorded, f[S_UNCLAIMED]!);
      count = Math.max(0, Math.min(recorded - absorbed, f[S_COUNT]!));
      held = f[lf + L_HELD]!;
      slice = f[lf + L_SLICE]!;
    }
    this.freeSlotsOf(i);
    const units = count + held + slice;
    const poolCount = f[S_COUNT]! - count;
    const poolHeld = f[S_HELD]! - count - held;
    const sliced = f[S_SLICED]! - slice;
    const available = f[S_AVAIL]! + units;
    const reclaimed = counted ? Math.min(f[S_RECLAIMED]! + units + extra, MAX) : f[S_RECLAIMED]!;
    const reclaimedLanes = f[S_RECLAIMED_LANES]! + (counted ? 1 : 0);
    const gen = (i32[li + L_GEN]! + 1) | 0;
    const watchers = i32[W_WATCHERS]! - i32[li + L_WATCHING]!;
    const unclaimed = f[S_UNCLAIMED]! - absorbed;
    // The tail: stores only.
    f[S_UNCLAIMED] = unclaimed;
    f[S_COUNT] = poolCount;
    f[S_HELD] = poolHeld;
    f[S_SLICED] = sliced;
    f[S_AVAIL] = available;
    f[S_RECLAIMED] = reclaimed;
    f[S_RECLAIMED_LANES] = reclaimedLanes;
    f[lf + L_COUNT] = 0;
    f[lf + L_FAST] = 0;
    f[lf + L_HELD] = 0;
    f[lf + L_SLICE] = 0;
    i32[li + L_GEN] = gen;
    i32[li + L_THREAD] = 0;
    i32[li + L_GONE] = 0;
    i32[li + L_WATCHING] = 0;
    i32[W_WATCHERS] = watchers;
    Atomics.store(i32, li + L_STATE, FREE);
    return units + extra;
  }

  /**
   * Reclaims every other lane `test` picks, under the lock (taken here unless `held`). Each
   * lane is reclaimed whole; a thread stopped between two lanes leaves both consistent.
   *
   * @returns the lanes reclaimed and the units they gave back.
   */
  reclaimWhere(test: (lane: number) => boolean, held = false): { lanes: number; units: number } {
    if (!held) this.lock();
    let lanes = 0;
    let units = 0;
    for (let i = 0; i < this.lanes; i++) {
      if (i === this.lane || this.i32[laneI32(i) + L_STATE] === FREE || !test(i)) continue;
      units += this.reclaimLane(i, true);
      lanes++;
    }
    // A reclaimed handle's own watchers, if its thread lives, must learn it lost its lane.
    if (lanes > 0) this.bumpFreed();
    if (!held) this.unlock();
    if (lanes > 0 && !held) this.wake();
    return { lanes, units };
  }

  /** The handle was garbage-collected while open: gives its lane back as a reclaim. */
  giveBackDropped(): void {
    this.stopHeartbeat();
    if (this.lane < 0) return;
    this.lock();
    if (this.ownsLane() && Atomics.load(this.i32, H_CLOSED) === 0)
      this.reclaimLane(this.lane, true);
    this.unlock();
    this.lane = -1;
    this.wake();
  }

  /** Gives back this handle's own holds and lane; later calls on it fail with `CLOSED`. */
  closeLane(): void {
    this.stopWatching();
    this.stopHeartbeat();
    if (this.lane < 0) return;
    this.lock();
    if (this.ownsLane()) this.reclaimLane(this.lane, false);
    this.unlock();
    this.lane = -1;
    this.wake();
  }

  /**
   * With the lock held: the error a call from this handle must fail with — the budget is
   * closed or this handle lost its lane — or `undefined` when it may go on.
   */
  refusal(): BudgetError | undefined {
    if (this.i32[H_CLOSED] !== 0) return closedError(this.name);
    if (!this.ownsLane()) {
      return new BudgetError({
        code: this.lane < 0 ? 'CLOSED' : 'LEASE_EXPIRED',
        message:
          this.lane < 0
            ? 'this handle of the shared budget is closed'
            : `this handle's lease expired (no heartbeat for ${this.leaseMs} ms, or its thread was reported gone) and its holds were given back; open the budget again`,
        details: { budget: this.name },
      });
    }
    return undefined;
  }
}
