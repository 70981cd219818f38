// A token budget written from the documented interface only, with switchable planted bugs.
import { assertAmount, BudgetError } from '@budgetry/core';
import { type Boundary, cross } from './boundary.js';

/** Which deviation from the correct token budget to plant; `none` is the control. */
export type TokenBug = 'none' | 'check-then-act' | 'debt-paid-twice' | 'carry-in-debt';

/** Options for {@link PlainTokenBudget}. */
export interface PlainTokenBudgetOptions {
  /** What `refill()` does with reservations still armed (default `reset`). */
  policy?: 'reset' | 'carry';
  /** What every async method awaits first (default `microtask`). */
  boundary?: Boundary;
  /** The planted bug (default `none`). */
  bug?: TokenBug;
}

/**
 * One optimistic reservation, as the Rust reference's `TokenReservation`: disposing it refunds
 * the estimate unless it was recorded, refunded or disarmed.
 */
export interface PlainReservation extends Disposable {
  readonly estimate: number;
  /**
   * Take the refund away from the handle. The returned function refunds the estimate at most
   * once, and not at all once the reservation is recorded; its argument is ignored (the Rust
   * refund closure is always called with the estimate).
   *
   * @returns the refund, or `null` if already disarmed or settled.
   */
  disarm(): ((amount?: number) => void) | null;
}

// The budget's private record of one reservation.
interface Ticket {
  readonly estimate: number;
  readonly epoch: number;
  state: 'armed' | 'disarmed' | 'recorded' | 'refunded';
}

export class PlainTokenBudget {
  readonly capacity: number;
  readonly policy: 'reset' | 'carry';
  /** The boundary to await, or `null` for `none` (where not even a microtask is spent). */
  private readonly wait: Exclude<Boundary, 'none'> | null;
  private readonly bug: TokenBug;
  // net = avail − owed; the control never has both positive (the debt-paid-twice bug does).
  private avail: number;
  private owed = 0;
  private consumed = 0;
  private epoch = 0;
  /** Reservations armed or disarmed-but-unrefunded, in live epochs. */
  private readonly live = new Set<Ticket>();
  /** Every reservation this budget issued; anything else is foreign. */
  private readonly issued = new WeakMap<object, Ticket>();

  constructor(capacity: number, options: PlainTokenBudgetOptions = {}) {
    assertAmount(capacity, 'capacity');
    const policy = options.policy ?? 'reset';
    if (policy !== 'reset' && policy !== 'carry') {
      throw new BudgetError({
        code: 'INVALID_ARGUMENT',
        message: `policy must be 'reset' or 'carry', got ${String(policy)}`,
      });
    }
    this.capacity = capacity;
    this.policy = policy;
    const boundary = options.boundary ?? 'microtask';
    this.wait = boundary === 'none' ? null : boundary;
    this.bug = options.bug ?? 'none';
    this.avail = capacity;
  }

  /** Tokens that can be reserved right now (0 while in debt). */
  available(): number {
    return this.avail;
  }

  /** Tokens owed: overage not yet paid by refunds or refills. */
  debt(): number {
    return this.owed;
  }

  /** Start a new epoch; debt is paid first. */
  refill(): void {
    this.epoch++;
    if (this.policy === 'reset') {
      // Older reservations are fenced: they refund nothing from now on.
      this.live.clear();
      this.setNet(this.capacity - this.owed);
      return;
    }
    // carry: armed reservations move into the new epoch; only debt they did not cause carries.
    let held = 0;
    for (const ticket of this.live) held += ticket.estimate;
    const net = this.avail - this.owed;
    const debtOut =
      this.bug === 'carry-in-debt'
        ? this.owed // BUG: the debt is counted again on top of the estimates behind it
        : Math.max(0, -net - held);
    this.setNet(this.capacity - held - debtOut);
  }

  async tryReserveTokens(estimate: number): Promise<PlainReservation | null> {
    assertAmount(estimate, 'estimate');
    if (this.bug === 'check-then-act') {
      // BUG: the check uses a value read before the boundary.
      const seen = this.avail;
      if (this.wait) await cross(this.wait);
      if (estimate > seen) return null;
      this.avail = seen - estimate;
      return this.issue(estimate);
    }
    if (this.wait) await cross(this.wait);
    if (estimate > this.avail) return null;
    this.avail -= estimate;
    return this.issue(estimate);
  }

  async recordUsage(
    reservation: PlainReservation,
    prompt: number,
    completion: number,
  ): Promise<void> {
    assertAmount(prompt, 'prompt');
    assertAmount(completion, 'completion');
    const actual = prompt + completion;
    assertAmount(actual, 'prompt + completion');
    if (this.wait) await cross(this.wait);
    const ticket = this.issued.get(reservation);
    if (ticket === undefined) {
      throw new BudgetError({
        code: 'FOREIGN_HANDLE',
        message: 'this reservation was issued by a different budget',
      });
    }
    if (ticket.state === 'recorded' || ticket.state === 'refunded') {
      throw new BudgetError({
        code: 'ALREADY_SETTLED',
        message: `this reservation is already ${ticket.state}`,
      });
    }
    ticket.state = 'recorded';
    this.live.delete(ticket);
    this.consumed += actual;
    if (this.isLive(ticket.epoch)) {
      this.shift(ticket.estimate - actual);
    } else if (actual > ticket.estimate) {
      // A fenced reservation refunds nothing; only its overage is charged.
      this.shift(ticket.estimate - actual);
    }
  }

  async tokensConsumed(): Promise<number> {
    if (this.wait) await cross(this.wait);
    return this.consumed;
  }

  /** Reservations from `epoch` still refund into the pool. */
  private isLive(epoch: number): boolean {
    return this.policy === 'carry' || epoch === this.epoch;
  }

  private issue(estimate: number): PlainReservation {
    const ticket: Ticket = { estimate, epoch: this.epoch, state: 'armed' };
    this.live.add(ticket);
    const reservation: PlainReservation = Object.freeze({
      estimate,
      disarm: () => {
        if (ticket.state !== 'armed') return null;
        ticket.state = 'disarmed';
        return (_amount?: number) => this.refund(ticket, 'disarmed');
      },
      [Symbol.dispose]: () => this.refund(ticket, 'armed'),
    });
    this.issued.set(reservation, ticket);
    return reservation;
  }

  /** Refund `ticket`'s estimate if it is still in state `from`. */
  private refund(ticket: Ticket, from: 'armed' | 'disarmed'): void {
    if (ticket.state !== from) return;
    ticket.state = 'refunded';
    this.live.delete(ticket);
    if (!this.isLive(ticket.epoch)) return;
    if (this.bug === 'debt-paid-twice') {
      // BUG: the refund pays the debt and is also credited in full.
      const paid = Math.min(this.owed, ticket.estimate);
      this.owed -= paid;
      this.avail += ticket.estimate;
      return;
    }
    this.shift(ticket.estimate);
  }

  /** net += delta: credits pay debt first, charges take from what is available first. */
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
