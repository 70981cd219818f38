let total = 0;

/**
 * Keeps a value a row computed. Rows fold their loop's results into the number `run`
 * returns and the runner passes it here; because the sum is printed at the end, the JIT
 * cannot prove the loop's work unused and drop it.
 *
 * @param value - a number derived from the measured work.
 */
export function sink(value: number): void {
  total += value;
}

/** The sum of everything sunk, printed so it stays observable. */
export function sinkTotal(): number {
  return total;
}
