import type { CancelTimer, Clock } from '@budgetry/core';

/** A clock the test moves by hand; timers fire, in due order, as it passes them. */
export class ManualClock implements Clock {
  private time = 0;
  private timers: { due: number; callback: () => void; id: number }[] = [];
  private nextId = 0;

  now(): number {
    return this.time;
  }

  setTimer(callback: () => void, delayMs: number): CancelTimer {
    const id = this.nextId++;
    this.timers.push({ due: this.time + Math.max(0, delayMs), callback, id });
    return () => {
      this.timers = this.timers.filter((t) => t.id !== id);
    };
  }

  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      this.timers.sort((a, b) => a.due - b.due || a.id - b.id);
      const next = this.timers[0];
      if (next === undefined || next.due > until) break;
      this.timers.shift();
      this.time = next.due;
      next.callback();
    }
    this.time = until;
  }
}
