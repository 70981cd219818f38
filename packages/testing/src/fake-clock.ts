import type { CancelTimer, Clock } from '@budgetry/core';

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

/**
 * A manual {@link Clock} for tests: time moves only when told, and timers fire in order of
 * due time (then of creation) as time passes them. Implements core's `Clock`, so any
 * scheduler that takes a clock can be driven deterministically.
 *
 * @example
 * ```ts
 * import { FakeClock } from '@budgetry/testing';
 *
 * const clock = new FakeClock(0);
 * const fired: number[] = [];
 * clock.setTimer(() => fired.push(clock.now()), 100);
 * clock.advance(250);
 * console.log(fired); // [100]
 * ```
 */
export class FakeClock implements Clock {
  private time: number;
  private nextId = 0;
  private timers: Timer[] = [];

  /**
   * @param start - the initial time in milliseconds since the Unix epoch (default 0).
   */
  constructor(start = 0) {
    this.time = start;
  }

  /**
   * The current fake time.
   *
   * @returns milliseconds since the Unix epoch.
   */
  now(): number {
    return this.time;
  }

  /**
   * Runs `callback` once when fake time reaches now + `delayMs` (negative delays count as 0).
   *
   * @param callback - what to run.
   * @param delayMs - delay in milliseconds.
   * @returns a function that cancels the timer; calling it twice is harmless.
   */
  setTimer(callback: () => void, delayMs: number): CancelTimer {
    const timer: Timer = {
      id: this.nextId++,
      at: this.time + Math.max(0, Number.isFinite(delayMs) ? delayMs : 0),
      callback,
    };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due, in order; timers set by
   * callbacks fire too if they fall due within the advance.
   *
   * @param ms - a non-negative number of milliseconds.
   * @returns how many timers fired.
   */
  advance(ms: number): number {
    if (!(ms >= 0)) throw new RangeError(`advance expects a non-negative delay, got ${ms}`);
    return this.runUntil(this.time + ms);
  }

  /**
   * Moves time to `ms`, firing the timers that fall due; time never goes backwards.
   *
   * @param ms - the new time in milliseconds since the Unix epoch.
   * @returns how many timers fired.
   */
  set(ms: number): number {
    if (ms < this.time) throw new RangeError(`cannot move time back from ${this.time} to ${ms}`);
    return this.runUntil(ms);
  }

  /**
   * Moves time forward by `ms` without firing timers, as under event-loop lag: timers that
   * fall due stay pending until the next {@link FakeClock.flush}, `advance` or `set`. Use it
   * to deliver a refill timer late, after an access has already caught the schedule up.
   *
   * @param ms - a non-negative number of milliseconds.
   * @returns how many timers are now overdue.
   *
   * @example
   * ```ts
   * import { FakeClock } from '@budgetry/testing';
   * const clock = new FakeClock(0);
   * clock.setTimer(() => console.log('late'), 10);
   * clock.lag(50); // nothing fires
   * clock.flush(); // logs 'late'
   * ```
   */
  lag(ms: number): number {
    if (!(ms >= 0)) throw new RangeError(`lag expects a non-negative delay, got ${ms}`);
    this.time += ms;
    return this.timers.filter((t) => t.at <= this.time).length;
  }

  /**
   * Fires every overdue timer (see {@link FakeClock.lag}) without moving time.
   *
   * @returns how many timers fired.
   *
   * @example
   * ```ts
   * import { FakeClock } from '@budgetry/testing';
   * const clock = new FakeClock(0);
   * clock.setTimer(() => {}, 5);
   * clock.lag(5);
   * clock.flush(); // 1
   * ```
   */
  flush(): number {
    return this.runUntil(this.time);
  }

  /**
   * How many timers are waiting to fire.
   *
   * @returns the number of pending timers.
   */
  pendingTimers(): number {
    return this.timers.length;
  }

  private runUntil(target: number): number {
    let fired = 0;
    for (;;) {
      let next: Timer | undefined;
      for (const timer of this.timers) {
        if (timer.at <= target && (next === undefined || timer.at < next.at)) next = timer;
      }
      if (next === undefined) break;
      const due = next;
      this.timers = this.timers.filter((t) => t !== due);
      this.time = Math.max(this.time, due.at);
      fired++;
      due.callback();
    }
    this.time = target;
    return fired;
  }
}
