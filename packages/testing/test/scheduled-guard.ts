// A guard refilled on a schedule of any shape (weekdays at nine, two shifts a day), caught up
// lazily on every access through core's batched refill: what the kit's clock jumps are
// checked against. `bug` plants a wrong catch-up after a pause.
import { AtomicBudget, type BudgetPermit, type RefillPolicy } from '@budgetry/core';
import type { FakeClock, GuardSubject } from '../src/index.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The first instant after `t` that is one of `hours` (UTC) on a day `days` allows. */
function nextAt(t: number, hours: readonly number[], days: (weekday: number) => boolean): number {
  for (let day = Math.floor(t / DAY); ; day++) {
    // 1970-01-01 was a Thursday (weekday 4).
    if (!days((day + 4) % 7)) continue;
    for (const h of hours) {
      const at = day * DAY + h * HOUR;
      if (at > t) return at;
    }
  }
}

/** Boundaries after `t`, by name. */
export const schedules = {
  'weekdays at 09:00': (t: number) => nextAt(t, [9], (d) => d >= 1 && d <= 5),
  'two shifts a day (09:00, 17:00)': (t: number) => nextAt(t, [9, 17], () => true),
} as const;

/** How the catch-up after a pause goes wrong, if it does. */
export type ScheduleBug =
  | 'none'
  | 'catch-up-one-per-access'
  | 'catch-up-capped-at-4'
  | 're-anchor-after-pause';

export class ScheduledGuard implements GuardSubject {
  private readonly budget: AtomicBudget;
  private epochs = 0;
  private due: number;
  /** The most epochs one access began: above one, a jump was caught up in one step. */
  maxCatchUp = 0;

  constructor(
    capacity: number,
    policy: RefillPolicy,
    private readonly clock: FakeClock,
    private readonly next: (t: number) => number,
    private readonly bug: ScheduleBug = 'none',
  ) {
    this.budget = new AtomicBudget(capacity, { refillPolicy: policy, leakBackstop: false });
    this.due = next(clock.now());
  }

  get epoch(): number {
    this.catchUp();
    return this.epochs;
  }

  nextRefillAt(): number {
    this.catchUp();
    return this.due;
  }

  available(): number {
    this.catchUp();
    return this.budget.available();
  }

  async tryReserve(cost: number): Promise<boolean> {
    this.catchUp();
    return this.budget.tryReserveSync(cost);
  }

  async release(cost: number): Promise<void> {
    this.catchUp();
    this.budget.releaseSync(cost);
  }

  async tryAcquire(cost: number): Promise<BudgetPermit | null> {
    this.catchUp();
    const permit = this.budget.tryAcquireSync(cost);
    if (permit === null) return null;
    const settle = (how: () => boolean) => async () => {
      this.catchUp();
      return how();
    };
    const release = settle(() => permit.releaseSync());
    return {
      cost,
      get state() {
        return permit.state;
      },
      release,
      commit: settle(() => permit.commitSync()),
      [Symbol.asyncDispose]: async () => {
        await release();
      },
    } as unknown as BudgetPermit;
  }

  private catchUp(): void {
    const now = this.clock.now();
    let n = 0;
    while (now >= this.due) {
      n++;
      this.due = this.next(this.due);
      // Planted: one epoch per access, however many boundaries passed.
      if (this.bug === 'catch-up-one-per-access') break;
    }
    if (n === 0) return;
    // Planted: no more than four epochs however long the pause.
    if (this.bug === 'catch-up-capped-at-4') n = Math.min(n, 4);
    // Planted: after a pause the schedule restarts from the time it woke.
    if (this.bug === 're-anchor-after-pause' && n > 1) this.due = now + (this.next(now) - now) / 2;
    this.epochs += n;
    this.budget.refill(n);
    this.maxCatchUp = Math.max(this.maxCatchUp, n);
  }
}
