import type { CancelTimer, Clock } from '../spec/clock.js';

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
