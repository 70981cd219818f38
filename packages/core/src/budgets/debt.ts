/** @internal What `debt` becomes after `k` more refills of `capacity` each, without overflow. */
export function debtAfter(debt: number, capacity: number, k: number): number {
  if (debt === 0 || k === 0 || capacity === 0) return debt;
  return k >= Math.ceil(debt / capacity) ? 0 : debt - k * capacity;
}

/** @internal The lowest available − debt may go: −`maxDebt`, at most 2^53 − 1 owed. */
export function debtFloor(maxDebt: number): number {
  return -Math.min(maxDebt, Number.MAX_SAFE_INTEGER);
}

/**
 * @internal What of `change` to available − debt (`net`) goes past the debt floor and is
 * written off: 0 unless `change` takes `net` below it. `room` may round above 2^53 − 1, but
 * then it exceeds any change: the comparison holds and `room` is exact wherever it is used.
 */
export function writtenOff(net: number, change: number, maxDebt: number): number {
  const room = net - debtFloor(maxDebt);
  return change >= 0 || -change <= room ? 0 : -change - room;
}
