/**
 * Cancels a timer started by {@link Clock.setTimer}. Calling it twice is harmless.
 *
 * @example
 * ```ts
 * import { systemClock } from '@budgetry/core';
 *
 * const cancel = systemClock.setTimer(() => console.log('never runs'), 60_000);
 * cancel();
 * cancel(); // harmless
 * ```
 */
export type CancelTimer = () => void;

/**
 * The source of time for everything in budgetry that depends on it: refill schedulers,
 * waits with timeouts, lease expiry. Inject a fake one in tests (`@budgetry/testing` has
 * `FakeClock`); production code uses {@link systemClock}.
 *
 * @example
 * ```ts
 * import { systemClock, type Clock } from '@budgetry/core';
 *
 * const clock: Clock = systemClock;
 * const cancel = clock.setTimer(() => console.log('tick'), 1_000);
 * cancel();
 * ```
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /**
   * Runs `callback` once after `delayMs` milliseconds. Timers must not keep a Node.js process
   * alive on their own (the system clock unrefs them).
   *
   * @returns a function that cancels the timer.
   */
  setTimer(callback: () => void, delayMs: number): CancelTimer;
}
