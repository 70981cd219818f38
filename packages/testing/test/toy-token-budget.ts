// A small token budget with switchable planted bugs.
import { assertAmount, TokenReservation } from '@budgetry/core';

export type TokenBug =
  | 'none'
  | 'forgiven-overage'
  | 'foreign-handle-accepted'
  | 'double-record'
  | 'stale-refund'
  | 'debt-forgiven-at-refill';

export class ToyTokenBudget {
  readonly refillPolicy = 'reset' as const;
  private net: number;
  private consumed = 0;
  private epoch = 0;
  constructor(
    readonly capacity: number,
    private readonly bug: TokenBug,
  ) {
    this.net = capacity;
  }
  available(): number {
    return Math.max(0, this.net);
  }
  debt(): number {
    return Math.max(0, -this.net);
  }
  refill(): void {
    this.epoch++;
    this.net = this.capacity - (this.bug === 'debt-forgiven-at-refill' ? 0 : this.debt());
  }
  async tokensConsumed(): Promise<number> {
    return this.consumed;
  }
  async tryReserveTokens(estimate: number): Promise<TokenReservation | null> {
    assertAmount(estimate, 'estimate');
    if (estimate > this.available()) return null;
    this.net -= estimate;
    return new TokenReservation({
      estimate,
      owner: this,
      epoch: this.epoch,
      backstop: false,
      refund: (amount, epoch) => {
        if (epoch === this.epoch || this.bug === 'stale-refund') this.net += amount;
      },
    });
  }
  async recordUsage(r: TokenReservation, prompt: number, completion: number): Promise<void> {
    assertAmount(prompt, 'prompt');
    assertAmount(completion, 'completion');
    const ownerOk = this.bug === 'foreign-handle-accepted' || r.isIssuedBy(this);
    if (this.bug === 'double-record' || this.bug === 'foreign-handle-accepted') {
      if (!ownerOk) r.claim(this);
      else if (r.state === 'armed') r.disarm();
    } else r.claim(this);
    const actual = prompt + completion;
    this.consumed += actual;
    if (r.epoch === this.epoch) this.net += r.estimate - actual;
    else if (actual > r.estimate) this.net -= actual - r.estimate;
    if (this.bug === 'forgiven-overage' && this.net < 0) this.net = 0;
  }
}
