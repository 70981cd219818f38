/**
 * @internal The memory layout shared by every budget that lives in a `SharedArrayBuffer`.
 *
 * One buffer holds one budget. It is read through two views of the same bytes: `Int32Array`
 * for the words touched with `Atomics` (the lock, the wake-up sequence, lane ownership) and
 * `Float64Array` for amounts, which are exact integers up to 2^53 − 1 (a 64-bit lane per
 * amount; nothing is squeezed into 32 bits). Amounts are only read and written while the
 * lock is held, so capacity, held, debt and epoch always move together: no reader can see
 * half of an update.
 *
 * ```
 * bytes 0–63     header (Int32): magic, layout version, kind, flags, lanes, creator pid,
 *                closed, freed-units sequence, waiter slots, refill count; then (Float64)
 *                the schedule's next boundary and the last one applied
 * bytes 64–127   the lock's line: lock, watchers, waiters, lock take-overs, first waiter
 *                (Int32), then
 *                available, count-API held, held, epoch (Float64)
 * bytes 128–255  budget state (Float64 × 15), then the count API's fast word (BigInt64)
 * bytes 256–…    lanes, 128 bytes each: one per open handle (its holds and heartbeat; on
 *                a line of its own, what it reserved without the lock)
 * then           waiter slots, 40 bytes each (cross-thread waiting, FIFO within priority)
 * ```
 */

/** 'BGSB' in ASCII: a buffer that does not start with it is not one of ours. */
export const MAGIC = 0x42475342;
/** Bumped whenever the layout below changes; a mismatched buffer is refused. */
export const LAYOUT_VERSION = 3;

export const KIND_GUARD = 1;
export const KIND_TOKENS = 2;
/** A `SharedHierarchy`: the region is followed by the tree's own area (hierarchy-layout.ts). */
export const KIND_HIERARCHY = 3;

export const FLAG_CARRY = 1;
export const FLAG_STRICT = 2;

// Header words (Int32 indexes).
export const H_MAGIC = 0;
export const H_VERSION = 1;
export const H_KIND = 2;
export const H_FLAGS = 3;
export const H_LANES = 4;
export const H_PID = 5;
export const H_CLOSED = 6;
export const H_WAIT_SLOTS = 8;
/**
 * A sequence bumped (and notified) when units may have come free while someone watches (see
 * {@link W_WATCHERS}). In the header's line, which only refills and watched releases write.
 */
export const H_FREED = 7;
/**
 * Float64 index, in the header: the clock reading at which the refill schedule's next boundary
 * is due (`Infinity` with no schedule). Any handle that finds it passed applies that refill
 * itself, so no thread reserves in an epoch its schedule has ended. Read before every
 * reservation; written only by refills.
 */
export const HF_DUE = 5;
/** Float64 index, in the header: the boundary the last scheduled refill was applied for. */
export const HF_DONE = 6;
/**
 * Float64 index, in the header: the length of every period of the schedule when they are all
 * equal (interval schedules), else `NaN`: a handle that applies a boundary publishes the next.
 */
export const HF_PERIOD = 7;

// Hot words (Int32 indexes), on their own cache line.
export const W_LOCK = 16;
/**
 * Handles that watch for freed units (compose's waiting lines over a shared budget), across all
 * threads: while it is above zero, releases, commits, refills and reclaims bump `H_FREED`.
 * Beside the waiter count, so a release reads both from the line it already holds. Changed
 * only with the lock held, with the lane's `L_WATCHING`, so a reclaimed lane takes its count
 * back with it.
 */
export const W_WATCHERS = 17;
/**
 * Incremented by every refill, read without the lock by striped handles on every call: it
 * sits in the header's cache line, which only refills write, not in the lock's.
 */
export const W_REFILLS = 9;
/** Waiters in line, across all threads. */
export const W_WAITING = 19;
/** Times a lock was taken over from a thread that stopped while holding it. */
export const W_RECOVERED = 20;
/** The waiter slot first in line (highest priority, then lowest ticket), or −1. */
export const W_HEAD = 21;

/** A lock word's owner is `lane + 1`; this bit says another thread sleeps on it. */
export const LOCK_CONTENDED = 0x40000000;

// Budget state (Float64 indexes). The four words every call reads and writes share the
// lock's cache line (bytes 88–119), so a call moves one line between cores, not two.
const S = 16;
export const S_CAPACITY = S + 0;
/** Guard: units available. Token budget: available − debt (negative in debt). */
export const S_AVAIL = 11;
/** Units held through the count API in live epochs. */
export const S_COUNT = 12;
/** Guard: units held by permits in live epochs. Token budget: all reserved estimates. */
export const S_HELD = 13;
export const S_EPOCH = 14;
/**
 * Count-API units released through a handle beyond what its own lane recorded: units other
 * handles reserved (the count API is one pool). No lane is debited for them — another lane's
 * record may be one lock-free call behind (see `fast-count.ts`) — so a reclaim takes them out
 * of the reclaimed lane's record first. Fenced off with the count API's holds by a `reset`.
 */
export const S_UNCLAIMED = 15;
export const S_OVER_RELEASED = S + 5;
export const S_LEAKS = S + 6;
/** Units given back because the handle holding them expired or its thread exited. */
export const S_RECLAIMED = S + 7;
/** Handles whose holds were reclaimed. */
export const S_RECLAIMED_LANES = S + 8;
export const S_CONSUMED = S + 9;
export const S_FORGIVEN = S + 10;
export const S_MAX_DEBT = S + 11;
export const S_LEASE_MS = S + 12;
/** The next waiter ticket (first come, first served within a priority). */
export const S_TICKETS = S + 13;
/** Units striped handles took from the pool into their slices (free or held there). */
export const S_SLICED = S + 14;

/**
 * BigInt64 index of a guard's fast word (bytes 248–255), which lets the count API reserve and
 * release without the lock (see `fast-count.ts`). High 32 bits: a sequence every lock
 * acquisition bumps. Low 32 bits: {@link FAST_BIAS} + the count-API units reserved through it
 * (net of releases) not yet folded into `S_AVAIL`, `S_COUNT` and `S_HELD`; every lock
 * acquisition folds them, so a lock holder sees exact words.
 */
export const FAST_WORD = 31;
/** What the low half of a fast word holds when nothing is pending. */
export const FAST_BIAS = 2 ** 31;
/** The most units a fast word may hold pending either way; beyond it calls take the lock. */
export const FAST_LIMIT = 2 ** 30;

// Lanes: 128 bytes each, from byte 256.
export const LANE_BASE_BYTES = 256;
export const LANE_BYTES = 128;
/** Int32 offsets inside a lane. */
export const L_STATE = 0; // FREE, OPEN or CLAIMING
export const L_GEN = 1; // bumped every time the lane is opened or given back
export const L_THREAD = 2; // worker_threads threadId of the holder
export const L_GONE = 3; // 1 once the holder's thread was reported exited
export const L_WATCHING = 14; // 1 while the lane's handle counts in W_WATCHERS
/** Float64 offsets inside a lane. */
export const L_HEARTBEAT = 2; // clock reading of the holder's last sign of life
export const L_EPOCH = 3; // the epoch the lane's holds below belong to (reset policy)
export const L_COUNT = 4; // count-API units this handle reserved, net of its releases
export const L_HELD = 5; // permit (or reservation) units this handle holds
export const L_SLICE = 6; // units a striped handle took from the pool into its slice
/**
 * Float64 offset inside a lane (its second line): count-API units its handle reserved through
 * the guard's fast word, net of its releases there, not yet folded into `L_COUNT`. Only the
 * handle writes it, with plain stores (see `fast-count.ts`); the handle folds it into
 * `L_COUNT` when it takes the lock, and a reclaim counts `L_COUNT + L_FAST`.
 */
export const L_FAST = 8;

/** Lane states. A lane is taken with one compare-and-exchange from FREE to CLAIMING. */
export const FREE = 0;
export const OPEN = 1;
export const CLAIMING = 2;

// Waiter slots: 40 bytes each, after the lanes.
export const SLOT_BYTES = 40;
/** Int32 offsets inside a slot. */
export const Q_STATE = 0; // 0 free, 1 waiting
export const Q_LANE = 1;
/** Bumped and notified to wake this slot's waiter; it sleeps on it with `Atomics.waitAsync`. */
export const Q_WAKE = 8;
/** Float64 offsets inside a slot. */
export const Q_PRIORITY = 1;
export const Q_TICKET = 2;
export const Q_COST = 3;

/** Bytes for a budget with `lanes` lanes and `slots` waiter slots. */
export function bufferBytes(lanes: number, slots: number): number {
  return LANE_BASE_BYTES + lanes * LANE_BYTES + slots * SLOT_BYTES;
}

/** Float64 index of a lane's first word. */
export function laneF64(lane: number): number {
  return (LANE_BASE_BYTES + lane * LANE_BYTES) / 8;
}

/** Int32 index of a lane's first word. */
export function laneI32(lane: number): number {
  return (LANE_BASE_BYTES + lane * LANE_BYTES) / 4;
}

/** Float64 index of a waiter slot's first word. */
export function slotF64(lanes: number, slot: number): number {
  return (LANE_BASE_BYTES + lanes * LANE_BYTES + slot * SLOT_BYTES) / 8;
}

/** Int32 index of a waiter slot's first word. */
export function slotI32(lanes: number, slot: number): number {
  return (LANE_BASE_BYTES + lanes * LANE_BYTES + slot * SLOT_BYTES) / 4;
}
