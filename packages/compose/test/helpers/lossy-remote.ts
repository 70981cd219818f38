// In-process stand-ins for remote budgets whose calls can fail on the way (never applied) or
// on the way back (applied, the answer lost), answering retries as @budgetry/redis does: a
// permit's settle found applied by an earlier attempt resolves `false`, and a token record
// found so rejects `ALREADY_SETTLED` with `details.earlierAttempt`. Compose's tests of lost
// replies need no Redis.
import {
  AtomicBudget,
  type BudgetCapabilities,
  BudgetError,
  type BudgetPermit,
  type PermitBudgetGuard,
  type PermitState,
  type SyncBudgetPermit,
  type TokenBudget,
  TokenReservation,
} from '@budgetry/core';

/** A call's fate: `ok`, `lost` (applied, the answer lost) or `unsent` (never applied). */
export type Fate = 'ok' | 'lost' | 'unsent';

/** The fates of the next calls, by operation; calls past the list are `ok`. */
export class Faults {
  private readonly queued = new Map<string, Fate[]>();

  /** The next calls of `op` meet `fates`, in order. */
  next(op: string, ...fates: Fate[]): void {
    this.queued.set(op, [...(this.queued.get(op) ?? []), ...fates]);
  }

  /** Runs `apply` as the server would, and answers as the call's fate says. */
  run<T>(op: string, apply: () => T): T {
    const fate = this.queued.get(op)?.shift() ?? 'ok';
    const timeout = new BudgetError({
      code: 'TIMEOUT',
      message: `no answer to ${op}: it may or may not have been applied`,
    });
    if (fate === 'unsent') throw timeout;
    const result = apply();
    if (fate === 'lost') throw timeout;
    return result;
  }
}

const guardCapabilities: BudgetCapabilities = Object.freeze({
  sync: false,
  countRelease: true,
  partialCommit: true,
  retryHint: false,
  refill: undefined,
  schedulable: false,
});

/**
 * A remote guard (a Redis budget): its state is `server`; `acquire`, `commit` and `release`
 * go through `faults`. A permit whose settle failed is held until an attempt is answered.
 */
export class LossyGuard implements PermitBudgetGuard {
  readonly capabilities = guardCapabilities;
  readonly faults = new Faults();
  readonly server: AtomicBudget;

  constructor(capacity: number) {
    this.server = new AtomicBudget(capacity, { leakBackstop: false });
  }

  async available(): Promise<number> {
    return this.server.available();
  }
  async tryAcquire(cost: number): Promise<BudgetPermit | null> {
    const p = this.faults.run('acquire', () => this.server.tryAcquireSync(cost));
    return p === null ? null : new LossyPermit(p, this.faults);
  }
  async tryReserve(cost: number): Promise<boolean> {
    return this.server.tryReserveSync(cost);
  }
  async release(cost: number): Promise<void> {
    this.server.releaseSync(cost);
  }
}

class LossyPermit implements BudgetPermit {
  private status: PermitState = 'held';
  constructor(
    private readonly p: SyncBudgetPermit,
    private readonly faults: Faults,
  ) {}
  get cost(): number {
    return this.p.cost;
  }
  get epoch(): number {
    return this.p.epoch;
  }
  get state(): PermitState {
    return this.status;
  }
  release(): Promise<boolean> {
    return this.settle('release', () => this.p.releaseSync());
  }
  commit(used?: number): Promise<boolean> {
    return this.settle('commit', () => this.p.commitSync(used));
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }
  private async settle(op: string, apply: () => boolean): Promise<boolean> {
    if (this.status !== 'held') return false;
    // `false` from the server: an earlier attempt settled it (a commit, for a release after it).
    const settled = this.faults.run(op, apply);
    this.status = this.p.state;
    return settled;
  }
}

/**
 * A remote token budget (a Redis one): `reserve` and `record` go through `faults`. As Redis's,
 * a record disarms the reservation before it is sent and leaves it so when it fails.
 */
export class LossyTokens implements TokenBudget {
  readonly faults = new Faults();
  consumed = 0;
  private net: number;
  private readonly applied = new WeakSet<TokenReservation>();

  constructor(capacity: number) {
    this.net = capacity;
  }

  /** Tokens free now, read without a fault (for assertions). */
  available(): number {
    return Math.max(this.net, 0);
  }
  async tryReserveTokens(estimate: number): Promise<TokenReservation | null> {
    return this.faults.run('reserve', () => {
      if (estimate > this.net) return null;
      this.net -= estimate;
      return new TokenReservation({
        estimate,
        owner: this,
        backstop: false,
        refund: (amount) => {
          this.net += amount;
        },
      });
    });
  }
  async recordUsage(r: TokenReservation, prompt: number, completion: number): Promise<void> {
    if (r.state === 'recorded' || r.state === 'refunded') throw this.settled(r, false);
    if (r.state === 'armed') r.disarm();
    this.faults.run('record', () => {
      if (this.applied.has(r)) {
        r.recordedAfterAll(this);
        throw this.settled(r, true);
      }
      this.applied.add(r);
      this.net += r.estimate - prompt - completion;
      this.consumed += prompt + completion;
    });
    r.recordedAfterAll(this);
  }
  async tokensConsumed(): Promise<number> {
    return this.consumed;
  }
  private settled(r: TokenReservation, earlierAttempt: boolean): BudgetError {
    return new BudgetError({
      code: 'ALREADY_SETTLED',
      message: earlierAttempt
        ? 'this token reservation was already recorded, by an earlier attempt whose answer was lost'
        : `this token reservation is already ${r.state}`,
      details: { estimate: r.estimate, earlierAttempt },
    });
  }
}
