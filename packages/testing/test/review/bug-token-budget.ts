// A token budget as a backend author would write it, with switchable bugs. Async methods
// await one microtask (or a timer turn) first; refill() is synchronous, as in core.
import { assertAmount, BudgetError } from '@budgetry/core';

export type TokenBug =
  | 'none'
  // disarm()'s refund ignores the epoch: after a reset it refunds into the new epoch.
  | 'disarm-refund-unfenced'
  // disarm()'s refund still refunds after the reservation was recorded.
  | 'disarm-refund-after-record'
  // Symbol.dispose on a disarmed reservation still refunds.
  | 'dispose-after-disarm-refunds'
  // Count API release while in debt is credited to available, not to the debt.
  | 'count-release-skips-debt'
  // Count API: release adds without a count pool (no clamp): over-release inflates.
  | 'count-release-unclamped'
  // Debt capped one below the declared maxDebt.
  | 'maxdebt-off-by-one'
  // Carry refill forgets disarmed-but-unrefunded reservations.
  | 'carry-drops-disarmed'
  // Record of a reservation fenced by a reset charges all of its usage, not only the overage.
  | 'stale-record-charges-all'
  // Under-use refund on record goes to available even while in debt.
  | 'record-refund-skips-debt'
  // tokensConsumed counts max(estimate, actual).
  | 'consumed-counts-estimate'
  // A refill while a record is in flight: the record reads the epoch before its boundary.
  | 'record-epoch-read-early'
  // recordUsage settles the ticket after its boundary (two concurrent records both count).
  | 'record-check-then-act'
  // A reset refill pays at most one capacity of debt and forgives the rest.
  | 'reset-refill-caps-debt';

export type Boundary = 'microtask' | 'timer';

interface Ticket {
  readonly estimate: number;
  readonly epoch: number;
  state: 'armed' | 'disarmed' | 'recorded' | 'refunded';
}

export interface BugReservation extends Disposable {
  readonly estimate: number;
  disarm(): ((amount?: number) => void) | null;
}

export class BugTokenBudget {
  private avail: number;
  private owed = 0;
  private consumed = 0;
  private epoch = 0;
  private countPool = 0;
  private readonly live = new Set<Ticket>();
  private readonly issued = new WeakMap<object, Ticket>();

  constructor(
    readonly capacity: number,
    readonly policy: 'reset' | 'carry',
    private readonly bug: TokenBug = 'none',
    private readonly maxDebt = Number.POSITIVE_INFINITY,
    private readonly boundary: Boundary = 'microtask',
  ) {
    this.avail = capacity;
  }

  private wait(): Promise<void> {
    return this.boundary === 'microtask' ? Promise.resolve() : new Promise((r) => setTimeout(r, 0));
  }

  available(): number {
    return this.avail;
  }
  debt(): number {
    return this.owed;
  }

  refill(): void {
    this.epoch++;
    if (this.policy === 'reset') {
      this.live.clear();
      this.countPool = 0;
      const owed =
        this.bug === 'reset-refill-caps-debt' ? Math.min(this.owed, this.capacity) : this.owed;
      this.setNet(this.capacity - owed);
      return;
    }
    let held = this.countPool;
    for (const t of this.live) {
      if (this.bug === 'carry-drops-disarmed' && t.state === 'disarmed') continue;
      held += t.estimate;
    }
    const net = this.avail - this.owed;
    this.setNet(this.capacity - held - Math.max(0, -net - held));
  }

  async tryReserveTokens(estimate: number): Promise<BugReservation | null> {
    assertAmount(estimate, 'estimate');
    await this.wait();
    if (estimate > this.avail) return null;
    this.avail -= estimate;
    return this.issue(estimate);
  }

  async tryReserve(cost: number): Promise<boolean> {
    assertAmount(cost, 'cost');
    await this.wait();
    if (cost > this.avail) return false;
    this.avail -= cost;
    this.countPool += cost;
    return true;
  }

  async release(cost: number): Promise<void> {
    assertAmount(cost, 'cost');
    await this.wait();
    if (this.bug === 'count-release-unclamped') {
      this.shift(cost);
      return;
    }
    const accepted = Math.min(cost, this.countPool);
    this.countPool -= accepted;
    if (this.bug === 'count-release-skips-debt') this.avail += accepted;
    else this.shift(accepted);
  }

  async recordUsage(
    reservation: BugReservation,
    prompt: number,
    completion: number,
  ): Promise<void> {
    assertAmount(prompt, 'prompt');
    assertAmount(completion, 'completion');
    const actual = prompt + completion;
    assertAmount(actual, 'prompt + completion');
    const early = this.epoch;
    const pre = this.issued.get(reservation);
    if (this.bug === 'record-check-then-act' && pre !== undefined) {
      if (pre.state === 'recorded' || pre.state === 'refunded') throw settled(pre.state);
    }
    await this.wait();
    const ticket = this.issued.get(reservation);
    if (ticket === undefined) {
      throw new BudgetError({ code: 'FOREIGN_HANDLE', message: 'not issued by this budget' });
    }
    if (
      this.bug !== 'record-check-then-act' &&
      (ticket.state === 'recorded' || ticket.state === 'refunded')
    ) {
      throw settled(ticket.state);
    }
    ticket.state = 'recorded';
    this.live.delete(ticket);
    this.consumed +=
      this.bug === 'consumed-counts-estimate' ? Math.max(actual, ticket.estimate) : actual;
    const epochNow = this.bug === 'record-epoch-read-early' ? early : this.epoch;
    const live = this.policy === 'carry' || ticket.epoch === epochNow;
    if (live) {
      const delta = ticket.estimate - actual;
      if (this.bug === 'record-refund-skips-debt' && delta > 0) this.avail += delta;
      else this.shift(delta);
    } else if (this.bug === 'stale-record-charges-all') {
      this.shift(-actual);
    } else if (actual > ticket.estimate) {
      this.shift(ticket.estimate - actual);
    }
    this.capDebt();
  }

  async tokensConsumed(): Promise<number> {
    await this.wait();
    return this.consumed;
  }

  private capDebt(): void {
    const cap = this.bug === 'maxdebt-off-by-one' ? this.maxDebt - 1 : this.maxDebt;
    if (this.owed > cap) this.owed = Math.max(0, cap);
  }

  private isLive(epoch: number): boolean {
    return this.policy === 'carry' || epoch === this.epoch;
  }

  private issue(estimate: number): BugReservation {
    const ticket: Ticket = { estimate, epoch: this.epoch, state: 'armed' };
    this.live.add(ticket);
    const reservation: BugReservation = Object.freeze({
      estimate,
      disarm: () => {
        if (ticket.state !== 'armed') return null;
        ticket.state = 'disarmed';
        return (_amount?: number) => {
          if (this.bug === 'disarm-refund-after-record' && ticket.state === 'recorded') {
            ticket.state = 'refunded';
            this.shift(ticket.estimate); // BUG
            return;
          }
          if (this.bug === 'disarm-refund-unfenced' && ticket.state === 'disarmed') {
            ticket.state = 'refunded';
            this.live.delete(ticket);
            this.shift(ticket.estimate); // BUG: no epoch check
            return;
          }
          this.refund(ticket, 'disarmed');
        };
      },
      [Symbol.dispose]: () => {
        if (this.bug === 'dispose-after-disarm-refunds' && ticket.state === 'disarmed') {
          ticket.state = 'refunded';
          this.live.delete(ticket);
          if (this.isLive(ticket.epoch)) this.shift(ticket.estimate); // BUG
          return;
        }
        this.refund(ticket, 'armed');
      },
    });
    this.issued.set(reservation, ticket);
    return reservation;
  }

  private refund(ticket: Ticket, from: 'armed' | 'disarmed'): void {
    if (ticket.state !== from) return;
    ticket.state = 'refunded';
    this.live.delete(ticket);
    if (!this.isLive(ticket.epoch)) return;
    this.shift(ticket.estimate);
  }

  private shift(delta: number): void {
    if (delta >= 0) {
      const paid = Math.min(this.owed, delta);
      this.owed -= paid;
      this.avail += delta - paid;
    } else {
      const taken = Math.min(this.avail, -delta);
      this.avail -= taken;
      this.owed += -delta - taken;
    }
  }

  private setNet(net: number): void {
    this.avail = Math.max(0, net);
    this.owed = Math.max(0, -net);
  }
}

function settled(state: string): BudgetError {
  return new BudgetError({ code: 'ALREADY_SETTLED', message: `already ${state}` });
}
