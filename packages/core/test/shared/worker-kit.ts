// What the test workers share: a start line so that they overlap, and a seeded random source
// so that a run can be told apart from another by its seed.

/** Waits until `workers` threads have reached the gate (an Int32 counter in `gate`). */
export function waitAtGate(gate: SharedArrayBuffer, workers: number): void {
  const count = new Int32Array(gate);
  Atomics.add(count, 0, 1);
  Atomics.notify(count, 0);
  for (let seen = Atomics.load(count, 0); seen < workers; seen = Atomics.load(count, 0)) {
    Atomics.wait(count, 0, seen, 1_000);
  }
}

/** A xorshift source from `seed`: `next(n)` is an integer in `[0, n)`. */
export function seededRandom(seed: number): (n: number) => number {
  let state = seed >>> 0 || 1;
  return (n) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % n;
  };
}
