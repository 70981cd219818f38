// Test hooks for SharedBudget's lock-free count path (src/shared/fast-count.ts).
import type { SharedBudget } from '@budgetry/core';

/** Float64 offset of a lane's `L_FAST` (see src/shared/layout.ts). */
const L_FAST = 8;

/** Lock acquisitions so far: the fast word's sequence (its high half, BigInt64 index 31). */
export function locksTaken(budget: SharedBudget): bigint {
  const { buffer } = budget.share() as unknown as { buffer: SharedArrayBuffer };
  return Atomics.load(new BigInt64Array(buffer), 31) >> 32n;
}

/**
 * Runs `between` once, just before `handle`'s next store to its lane's `L_FAST`: as if the
 * handle's thread were descheduled between its swap of the fast word and its lane store.
 */
export function pauseBeforeLaneStore(handle: SharedBudget, between: () => void): void {
  const region = (handle as unknown as { region: { f64: Float64Array; laneF: number } }).region;
  const real = region.f64;
  const index = String(region.laneF + L_FAST);
  let armed = true;
  const view = new Proxy(real, {
    get: (target, key) => {
      const value = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
    set: (target, key, value) => {
      if (armed && key === index) {
        armed = false;
        between();
      }
      return Reflect.set(target, key, value, target);
    },
  });
  Object.defineProperty(region, 'f64', { value: view, writable: true });
}
