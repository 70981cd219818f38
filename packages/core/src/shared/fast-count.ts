import {
  FAST_BIAS,
  FAST_LIMIT,
  FAST_WORD,
  H_CLOSED,
  HF_DUE,
  L_COUNT,
  L_EPOCH,
  L_FAST,
  L_GEN,
  S_AVAIL,
  S_COUNT,
  S_EPOCH,
  W_LOCK,
  W_WAITING,
  W_WATCHERS,
} from './layout.js';
import { LOW_HALF } from './memory.js';
import type { SharedRegion } from './region.js';

/**
 * @internal The count API of a {@link SharedBudget} without the lock.
 *
 * A reservation or release of the count API changes three of the budget's words (available,
 * count held, held) and the handle's lane. Under the lock that is four atomic
 * read-modify-writes on the lock's line per reserve + release. Here it is one
 * compare-and-exchange on the guard's fast word, then a plain store to the handle's own lane:
 *
 * 1. Read the fast word. Every lock acquisition bumps the word's sequence before it writes
 *    anything, so the budget's words a lock holder writes belong to a later sequence than any
 *    word read before it came in.
 * 2. Decide from the budget's words as they stood under the word's sequence (read once per
 *    sequence, see `rebound`) and the units the word holds pending, then swap the word for one
 *    with the units added, expecting the word read in step 1: the swap fails when a lock
 *    holder came in between (the sequence moved), and the call then decides again or takes
 *    the lock. A swap that succeeds is the moment the call takes effect, and the next lock
 *    holder folds it.
 * 3. Record the units in the lane's `L_FAST`, which only this handle writes, with a plain
 *    store. V8 stops a terminated worker at calls, `Atomics` calls included, and loop
 *    back-edges, never between a compare-and-exchange and the plain stores after it: a thread
 *    stopped here has done all of the call or none of it (see `slowLock`).
 *
 * Every lock holder folds the fast word into the budget's words (`RegionMemory.lock`), and a
 * handle folds its own `L_FAST` into `L_COUNT` when it takes the lock (`SharedRegion.lock`),
 * so the budget's words and a handle's own lane are exact under the lock. Another lane's
 * record may be one call behind (its handle between swap and store), so no lock holder reads
 * or debits a live lane: releases of other handles' units are counted in `S_UNCLAIMED`, and
 * only a reclaim, of a lane whose handle is gone, reads `L_COUNT + L_FAST`.
 *
 * Calls that need more — a denial, a refill schedule, an observer, units reserved through
 * other handles, a fenced-off epoch, a reclaimed handle, a closed budget — take the lock.
 */

/** The most units one call moves through the fast word; larger calls take the lock. */
const FAST_COST = 2 ** 28;
/** Spins `rebound` waits for a lock holder to finish before the call takes the lock. */
const REBOUND_SPINS = 512;

/**
 * Reads the fast word once no lock holder is in its critical section and, for that word's
 * sequence, checks what else a call without the lock needs (the handle's lane, no schedule, a
 * live epoch, an open budget) and caches, on
 * `r`, the range the word may move in under this sequence — up to what the budget has
 * available, down to what the count API holds, neither further than `FAST_LIMIT` — and the
 * lane's `L_COUNT`, and whether anyone waits or watches for freed units. Those words change
 * only under the lock (closing bumps the sequence too), that is with the sequence, and a
 * word inside the range has the range's sequence (the range spans less than 2^32), so a call
 * that finds the word in range may use them without reading them again. Called rarely: once
 * per lock acquisition by any handle, at most.
 *
 * @returns the word, or `undefined` when the call must take the lock.
 */
function rebound(r: SharedRegion): bigint | undefined {
  const { i32, f64 } = r;
  // Wait out a lock holder's short critical section rather than join the lock: a handle that
  // took the lock because the other held it would make the other do the same, a convoy.
  let word = Atomics.load(r.b64, FAST_WORD);
  for (let spins = 0; Atomics.load(i32, W_LOCK) !== 0; spins++) {
    if (spins === REBOUND_SPINS) return undefined;
    word = Atomics.load(r.b64, FAST_WORD);
  }
  if (
    i32[H_CLOSED] !== 0 ||
    f64[HF_DUE] !== Number.POSITIVE_INFINITY ||
    i32[r.laneI + L_GEN] !== r.gen ||
    (!r.carry && f64[r.laneF + L_EPOCH] !== f64[S_EPOCH])
  ) {
    return undefined;
  }
  const base = word - BigInt(Number(word & LOW_HALF) - FAST_BIAS);
  r.fastHigh = base + BigInt(Math.min(f64[S_AVAIL]!, FAST_LIMIT));
  r.fastLow = base - BigInt(Math.min(f64[S_COUNT]!, FAST_LIMIT));
  r.fastLaneCount = f64[r.laneF + L_COUNT]!;
  r.fastQuiet = (i32[W_WAITING]! | i32[W_WATCHERS]!) === 0;
  return word;
}

/**
 * Reserves `cost` count-API units without the lock.
 *
 * @returns `true` when reserved; `false` when the call must take the lock (nothing changed).
 */
export function fastReserve(r: SharedRegion, cost: number): boolean {
  if (cost > FAST_COST || !r.fast) return false;
  const b = r.b64;
  // Guess the word this handle left; a wrong guess costs one failed swap, which returns it.
  let word = r.lastWord;
  const amount = cost === 1 ? 1n : BigInt(cost);
  let checked = false;
  for (;;) {
    const next = word + amount;
    if (word < r.fastLow || next > r.fastHigh) {
      // Another sequence (rebound), or a denial / the word's bound (the lock decides).
      const fresh = checked ? undefined : rebound(r);
      if (fresh === undefined) return false;
      word = fresh;
      checked = true;
      continue;
    }
    const seen = Atomics.compareExchange(b, FAST_WORD, word, next);
    if (seen === word) {
      r.lastWord = next;
      break;
    }
    word = seen;
    checked = false;
  }
  // Plain stores only from here (see step 3).
  const pending = r.pending + cost;
  r.f64[r.laneF + L_FAST] = pending;
  r.pending = pending;
  return true;
}

/**
 * Releases `cost` count-API units this handle's lane records, without the lock.
 *
 * @returns `true` when released; `false` when the call must take the lock (nothing changed).
 */
export function fastRelease(r: SharedRegion, cost: number): boolean {
  if (cost > FAST_COST || !r.fast) return false;
  const b = r.b64;
  // Guess the word this handle left; a wrong guess costs one failed swap, which returns it.
  let word = r.lastWord;
  const amount = cost === 1 ? 1n : BigInt(cost);
  const pending = r.pending - cost;
  let checked = false;
  for (;;) {
    const next = word - amount;
    if (next < r.fastLow || word > r.fastHigh) {
      const fresh = checked ? undefined : rebound(r);
      if (fresh === undefined) return false;
      word = fresh;
      checked = true;
      continue;
    }
    // Units reserved through other handles: the lock's path stops their lanes recording them.
    if (r.fastLaneCount + pending < 0) return false;
    const seen = Atomics.compareExchange(b, FAST_WORD, word, next);
    if (seen === word) {
      r.lastWord = next;
      break;
    }
    word = seen;
    checked = false;
  }
  // Plain stores only from here (see step 3).
  r.f64[r.laneF + L_FAST] = pending;
  r.pending = pending;
  if (!r.fastQuiet && cost > 0) r.freed();
  return true;
}
