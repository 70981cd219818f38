/*
 * What both sides of the shared-memory rows agree on: the layout of a row's control buffer,
 * the clock, and the median. Kept apart from the rows and the worker so both import it
 * without importing each other.
 */

/** Int32 index: workers add themselves here before a run and start when both have. */
export const C_GATE = 0;
/** Int32 index (wake row): the waiter's sequence number once it is in line. */
export const C_READY = 1;
/** Int32 index (wake row): the waiter's sequence number once it has given the unit back. */
export const C_DONE = 2;
/** Int32 index (wake row): the releaser's sequence number once it holds the unit again. */
export const C_TAKEN = 3;
/** Float64 index (wake row): the releaser's clock reading just before it released, in ns. */
export const F_T0 = 8;
/** Bytes of a control buffer. */
export const CONTROL_BYTES = 128;

/**
 * The monotonic clock every thread of the process shares (`process.hrtime`), in nanoseconds:
 * a reading taken in one worker can be subtracted from one taken in another.
 */
export function nowNs(): number {
  const [seconds, nanoseconds] = process.hrtime();
  return seconds * 1e9 + nanoseconds;
}

/** Spins for `ns` nanoseconds (nothing else in this thread runs meanwhile). */
export function spinNs(ns: number): void {
  const until = nowNs() + ns;
  while (nowNs() < until) {
    // spin
  }
}

/**
 * The median of some samples; of an even count, the mean of the middle two.
 *
 * @param samples - at least one number; sorted in place.
 * @returns the median.
 * @throws RangeError for no samples.
 */
export function median(samples: Float64Array): number {
  if (samples.length === 0) throw new RangeError('median of no samples');
  samples.sort();
  const mid = samples.length >> 1;
  return samples.length % 2 === 1 ? samples[mid]! : (samples[mid - 1]! + samples[mid]!) / 2;
}
