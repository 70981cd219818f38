// A small, readable guard with switchable planted bugs: the gallery the kit must catch.
import { assertAmount, type BudgetPermit, type PermitState } from '@budgetry/core';

export type GuardBug =
  | 'none'
  | 'racy-reserve'
  | 'double-refund-on-dispose'
  | 'old-epoch-release-inflates'
  | 'release-clamped-not-fenced'
  | 'accepts-negative'
  | 'accepts-nan'
  | 'accepts-fractional'
  | 'lost-refund'
  | 'refill-above-capacity'
  | 'false-denial'
  | 'permit-cost-lies'
  | 'permit-state-lies';

export class ToyGuard {
  readonly refillPolicy = 'reset' as const;
  private avail: number;
  /** Units held through the count API in this epoch: a release returns at most these. */
  private pool = 0;
  private epoch = 0;
  constructor(
    readonly capacity: number,
    private readonly bug: GuardBug,
    private readonly hop: (label?: string) => Promise<void>,
  ) {
    this.avail = capacity;
  }

  private check(cost: unknown): asserts cost is number {
    if (this.bug === 'accepts-negative' && typeof cost === 'number' && Number.isInteger(cost))
      return;
    if (this.bug === 'accepts-nan' && Number.isNaN(cost)) return;
    if (this.bug === 'accepts-fractional' && typeof cost === 'number' && cost > 0 && cost < 1e6)
      return;
    assertAmount(cost, 'cost');
  }

  available(): number {
    return this.avail;
  }

  private take(cost: number): boolean {
    if (this.bug === 'false-denial' ? cost >= this.avail && cost > 0 : cost > this.avail)
      return false;
    this.avail -= cost;
    return true;
  }

  async tryReserve(cost: number): Promise<boolean> {
    this.check(cost);
    if (this.bug === 'racy-reserve') {
      const seen = this.avail;
      await this.hop('read');
      if (cost > seen) return false;
      this.avail = seen - cost;
      this.pool += cost;
      return true;
    }
    if (!this.take(cost)) return false;
    this.pool += cost;
    return true;
  }

  async release(cost: number): Promise<void> {
    this.check(cost);
    const accepted = Math.min(cost, this.pool);
    this.pool -= accepted;
    if (this.bug === 'lost-refund') {
      const seen = this.avail;
      await this.hop('read');
      this.avail = seen + accepted;
      return;
    }
    this.avail += accepted;
  }

  async tryAcquire(cost: number): Promise<BudgetPermit | null> {
    this.check(cost);
    if (!this.take(cost)) return null;
    return new ToyPermit(this, cost, this.epoch);
  }

  refill(): void {
    this.epoch++;
    this.pool = 0;
    this.avail = this.bug === 'refill-above-capacity' ? this.avail + this.capacity : this.capacity;
  }

  settle(permit: ToyPermit, again: boolean): void {
    if (permit.epoch === this.epoch) this.avail += permit.held;
    else if (this.bug === 'old-epoch-release-inflates') this.avail += permit.held;
    else if (this.bug === 'release-clamped-not-fenced')
      this.avail = Math.min(this.capacity, this.avail + permit.held);
    void again;
  }

  get bugName(): GuardBug {
    return this.bug;
  }
}

class ToyPermit implements BudgetPermit {
  private settled: PermitState = 'held';
  constructor(
    private readonly budget: ToyGuard,
    /** The units it really holds (what a settle refunds). */
    readonly held: number,
    readonly epoch: number,
  ) {}
  /** What it says it holds: one more under `permit-cost-lies`. */
  get cost(): number {
    return this.budget.bugName === 'permit-cost-lies' ? this.held + 1 : this.held;
  }
  /** Where it says it is: always `held` under `permit-state-lies`. */
  get state(): PermitState {
    return this.budget.bugName === 'permit-state-lies' ? 'held' : this.settled;
  }
  async release(): Promise<boolean> {
    if (this.settled !== 'held') return false;
    this.settled = 'released';
    this.budget.settle(this, false);
    return true;
  }
  async commit(): Promise<boolean> {
    if (this.settled !== 'held') return false;
    this.settled = 'committed';
    return true;
  }
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.budget.bugName === 'double-refund-on-dispose') {
      if (this.settled !== 'committed') this.budget.settle(this, true);
      this.settled = 'released';
      return;
    }
    await this.release();
  }
}
