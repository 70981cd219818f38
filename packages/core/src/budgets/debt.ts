/** @internal What `debt` becomes after `k` more refills of `capacity` each, without overflow. */
export function debtAfter(debt: number, capacity: number, k: number): number {
  if (debt === 0 || k === 0 || capacity === 0) return debt;
  return k >= Math.ceil(debt / capacity) ? 0 : debt - k * capacity;
}
