import { Q_PRIORITY, Q_STATE, Q_TICKET, slotF64, slotI32, W_HEAD, W_WAITING } from './layout.js';

/** @internal What the cross-thread line's bookkeeping reads: the words and their layout. */
export interface LineWords {
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  readonly lanes: number;
  readonly waitSlots: number;
}

/**
 * @internal With the lock held: stores the first in line, by a scan of the slots (highest
 * priority, then lowest ticket), or −1. `counted`: trust the waiting count to stop the scan
 * early (it is exact whenever no thread stopped inside the lock; see {@link recountLine}).
 */
export function findFirst(m: LineWords, counted: boolean): void {
  const { i32, f64, lanes } = m;
  let head = -1;
  let priority = 0;
  let ticket = 0;
  let left = counted ? i32[W_WAITING]! : m.waitSlots;
  for (let s = 0; s < m.waitSlots && left > 0; s++) {
    const q = slotI32(lanes, s);
    if (i32[q + Q_STATE] !== 1) continue;
    left--;
    const qf = slotF64(lanes, s);
    const p = f64[qf + Q_PRIORITY]!;
    const t = f64[qf + Q_TICKET]!;
    if (head < 0 || p > priority || (p === priority && t < ticket)) {
      head = s;
      priority = p;
      ticket = t;
    }
  }
  i32[W_HEAD] = head;
}

/**
 * @internal With a lock just taken over from a thread that stopped holding it: the waiting
 * count and the first in line recomputed from the slots. Joining or leaving the line writes a
 * slot, the count and the first with calls between them, so a thread stopped there can leave
 * the count short (a waiter a release would then not wake) or the first pointing at a freed
 * slot (whose wake-up reaches nobody).
 */
export function recountLine(m: LineWords): void {
  let waiting = 0;
  for (let s = 0; s < m.waitSlots; s++) {
    if (m.i32[slotI32(m.lanes, s) + Q_STATE] === 1) waiting++;
  }
  Atomics.store(m.i32, W_WAITING, waiting);
  findFirst(m, false);
}
