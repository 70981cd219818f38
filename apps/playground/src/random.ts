/**
 * A small seeded generator (mulberry32), so a scenario replays exactly from its seed.
 *
 * @param seed - any 32-bit integer.
 * @returns a function yielding floats in [0, 1).
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * An integer in [min, max] from `random`.
 *
 * @param random - a generator from {@link seededRandom}.
 * @param min - smallest value.
 * @param max - largest value.
 * @returns the integer.
 */
export function between(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}
