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

/** Longest delay `setTimeout` honours (2^31−1 ms, about 24.8 days); longer ones fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The wall clock: `Date.now()` and unref'd `setTimeout`. Delays beyond `setTimeout`'s limit of
 * 2^31−1 ms (a 30-day interval, a monthly boundary early in the month) are honoured by chaining
 * timers, where `setTimeout` alone would fire after 1 ms.
 *
 * @example
 * ```ts
 * import { systemClock } from '@budgetry/core';
 * const startedAt = systemClock.now();
 * const cancel = systemClock.setTimer(() => console.log('a month later'), 30 * 86_400_000);
 * cancel();
 * ```
 */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimer(callback: () => void, delayMs: number): CancelTimer {
    const wait = Number.isNaN(delayMs) ? 0 : Math.max(0, delayMs);
    const due = Date.now() + wait;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = (ms: number): void => {
      timer = setTimeout(fire, Math.min(ms, MAX_TIMER_MS));
      if (typeof timer === 'object' && timer !== null && 'unref' in timer) timer.unref();
    };
    const fire = (): void => {
      const left = due - Date.now();
      if (wait > MAX_TIMER_MS && left > 0) arm(left);
      else {
        timer = undefined;
        callback();
      }
    };
    arm(wait);
    return () => {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    };
  },
});
