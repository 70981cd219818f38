// A small interval refill scheduler over a small epoch-fenced budget, both written for the
// kit's own tests (the kit must not depend on @budgetry/compose). `bug` plants the refill
// bugs of the gallery.
import {
  assertAmount,
  type BudgetPermit,
  type PermitState,
  type RefillPolicy,
} from '@budgetry/core';
import type { FakeClock, GuardSubject } from '../src/index.js';

export type RefillBug =
  | 'none'
  | 'refill-above-capacity'
  | 'two-refills-per-epoch'
  | 'stale-timer-applied'
  | 'carry-ignores-held'
  | 'settles-in-the-last-touched-epoch'
  | 'catch-up-one-per-access';

class EpochBudget {
  avail: number;
  /** Units held by permits and the count API (carried under `carry`). */
  held = 0;
  /** The part of `held` taken through the count API: a count release returns at most this. */
  pool = 0;
  epoch = 0;
  constructor(
    readonly capacity: number,
    readonly policy: RefillPolicy,
    private readonly bug: RefillBug,
  ) {
    this.avail = capacity;
  }
  refill(): void {
    this.epoch++;
    if (this.policy === 'reset') {
      this.held = 0;
      this.pool = 0;
    }
    const carried = this.bug === 'carry-ignores-held' ? 0 : this.held;
    this.avail =
      this.bug === 'refill-above-capacity' ? this.avail + this.capacity : this.capacity - carried;
  }
  take(cost: number): boolean {
    assertAmount(cost, 'cost');
    if (cost > this.avail) return false;
    this.avail -= cost;
    this.held += cost;
    return true;
  }
  give(cost: number, epoch: number | undefined): void {
    if (epoch !== undefined && this.policy === 'reset' && epoch !== this.epoch) return;
    // A count release (no epoch) returns at most what the count API holds.
    const back = epoch === undefined ? Math.min(cost, this.pool) : Math.min(cost, this.held);
    if (epoch === undefined) this.pool -= back;
    this.held -= back;
    this.avail += back;
  }
  spend(cost: number, epoch: number): void {
    if (this.policy === 'reset' && epoch !== this.epoch) return;
    this.held -= cost;
  }
}

class Permit implements BudgetPermit {
  state: PermitState = 'held';
  constructor(
    private readonly owner: ReferenceRefill,
    readonly cost: number,
    readonly epoch: number,
  ) {}
  async release(): Promise<boolean> {
    if (this.state !== 'held') return false;
    this.state = 'released';
    this.owner.settle(this, 'release');
    return true;
  }
  async commit(): Promise<boolean> {
    if (this.state !== 'held') return false;
    this.state = 'committed';
    this.owner.settle(this, 'commit');
    return true;
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }
}

/** An interval refill: lazy catch-up on every access plus a timer on the clock. */
export class ReferenceRefill implements GuardSubject {
  private readonly budget: EpochBudget;
  private epochs = 0;
  private nextAt: number;
  constructor(
    capacity: number,
    policy: RefillPolicy,
    private readonly clock: FakeClock,
    private readonly intervalMs: number,
    private readonly bug: RefillBug = 'none',
  ) {
    this.budget = new EpochBudget(capacity, policy, bug);
    this.nextAt = clock.now() + intervalMs;
    this.arm();
  }
  get refillPolicy(): RefillPolicy {
    return this.budget.policy;
  }
  get epoch(): number {
    this.catchUp();
    return this.epochs;
  }
  nextRefillAt(): number {
    this.catchUp();
    return this.nextAt;
  }
  available(): number {
    this.catchUp();
    return this.budget.avail;
  }
  async tryReserve(cost: number): Promise<boolean> {
    this.catchUp();
    if (!this.budget.take(cost)) return false;
    this.budget.pool += cost;
    return true;
  }
  async release(cost: number): Promise<void> {
    assertAmount(cost, 'cost');
    this.catchUp();
    this.budget.give(cost, undefined);
  }
  async tryAcquire(cost: number): Promise<BudgetPermit | null> {
    this.catchUp();
    return this.budget.take(cost) ? new Permit(this, cost, this.budget.epoch) : null;
  }
  settle(permit: Permit, how: 'release' | 'commit'): void {
    // Planted: the permit settles against whatever epoch the last access left, not the clock's.
    if (this.bug !== 'settles-in-the-last-touched-epoch') this.catchUp();
    if (how === 'release') this.budget.give(permit.cost, permit.epoch);
    else this.budget.spend(permit.cost, permit.epoch);
  }
  private catchUp(): void {
    const now = this.clock.now();
    if (now < this.nextAt) {
      // Planted: an access in the boundary's own millisecond takes it for a new boundary.
      if (
        this.bug === 'two-refills-per-epoch' &&
        this.epochs > 0 &&
        now === this.nextAt - this.intervalMs
      ) {
        this.epochs++;
        this.budget.refill();
      }
      return;
    }
    // Planted: an access after a long pause begins one epoch, however many boundaries passed
    // (the next access begins another, and so on).
    const crossed =
      this.bug === 'catch-up-one-per-access'
        ? 1
        : 1 + Math.floor((now - this.nextAt) / this.intervalMs);
    this.epochs += crossed;
    this.nextAt += crossed * this.intervalMs;
    this.budget.refill();
  }
  private arm(): void {
    this.clock.setTimer(() => {
      // Planted: the timer refills without asking whether an access already did.
      if (this.bug === 'stale-timer-applied' && this.clock.now() >= this.nextAt - this.intervalMs)
        this.budget.refill();
      this.catchUp();
      this.arm();
    }, this.nextAt - this.clock.now());
  }
}
