import {
  assertAmount,
  BudgetError,
  type BudgetGuard,
  type TokenBudget,
  TokenReservation,
} from '@budgetry/core';
import type { AcquireOptions, RedisTokenBudgetOptions } from './options.js';
import { type RedisBudgetSnapshot, RemoteBudget } from './remote-budget.js';

/**
 * A point-in-time view of a {@link RedisTokenBudget}, read in one script call.
 *
 * @example
 * ```ts
 * import type { RedisTokenBudgetSnapshot } from '@budgetry/redis';
 * const owed = (s: RedisTokenBudgetSnapshot) => s.debt > 0;
 * ```
 */
export interface RedisTokenBudgetSnapshot extends RedisBudgetSnapshot {
  /** Tokens owed: overage not yet paid by refunds or refills. */
  readonly debt: number;
  /** Total tokens recorded since the budget was created, by every process. */
  readonly consumed: number;
  /** Debt written off because it exceeded `maxDebt`. */
  readonly forgivenDebt: number;
}

/** A reservation's lease: its id in Redis, and the settle in flight, one at a time. */
interface Lease {
  readonly id: string;
  /** `false` for a reservation granted locally under `failure: 'open'`. */
  readonly backed: boolean;
  pending: Promise<unknown> | undefined;
  /** The units a refund got back from Redis, once it answers (0 if it failed). */
  refunded?: Promise<number>;
  /** Whether this process reported the reservation's record (the observer hears it once). */
  reported?: boolean;
  /** Whether a record was sent before: else a record found in Redis is this one, sent twice. */
  sent?: boolean;
}

/**
 * A token budget (LLM tokens, dollars: spend known only afterwards) shared by a fleet through
 * Redis, with the semantics of core's `AtomicTokenBudget`: reserve an estimate, reconcile it
 * with actual usage, under-use refunded, overage owed in full as debt (paid first by refunds
 * and refills, capped by `maxDebt`), `reset` / `carry` epochs, and the count API.
 *
 * Reservations are leases in Redis, as {@link RedisBudget}'s permits: a process that dies
 * holding one gets its estimate refunded once, when the lease expires. `recordUsage` carries
 * the reservation's id, so retrying it after a `TIMEOUT` or `BACKEND` failure (the reservation
 * stays unrecorded until an attempt succeeds) never charges twice: if the failed attempt did
 * reach Redis, the retry rejects with `ALREADY_SETTLED` (`details.earlierAttempt` true) and
 * charges nothing — the usage is recorded, once.
 *
 * A `recordUsage` that arrives after the lease expired is charged in full: the estimate came
 * back at expiry, but the tokens were spent at the provider, and a budget trusted with money
 * must not forget spend it is told about. The charge may put the budget in debt (up to
 * `maxDebt`); it is counted once, whatever retries follow. Disposing a reservation whose lease
 * expired refunds nothing more.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { RedisTokenBudget } from '@budgetry/redis';
 *
 * const redis = new Redis();
 * const tpm = new RedisTokenBudget(90_000, { redis, name: 'openai-tpm', refillEveryMs: 60_000 });
 * const reservation = await tpm.tryReserveTokens(1_500);
 * if (reservation) {
 *   await using held = reservation; // refunds the estimate if the call throws
 *   // const result = await callModel(...);
 *   await tpm.recordUsage(held, 1_100, 350);
 * }
 * redis.disconnect();
 * ```
 */
export class RedisTokenBudget extends RemoteBudget implements TokenBudget, BudgetGuard {
  /** Largest debt carried before overage is written off. */
  readonly maxDebt: number;
  private readonly leases = new WeakMap<TokenReservation, Lease>();

  /**
   * @param capacity - total tokens, a non-negative safe integer; created full on first use.
   * @param options - client, name, debt cap and the settings of {@link RedisTokenBudgetOptions}.
   */
  constructor(capacity: number, options: RedisTokenBudgetOptions) {
    super('token', capacity, options);
    this.maxDebt = this.core.o.maxDebt;
  }

  /**
   * Reserve `estimate` tokens before a call, as a lease.
   *
   * @param estimate - a non-negative safe integer; 0 is always granted, even in debt.
   * @param options - this reservation's lease length.
   * @returns the armed reservation, or `null` on soft denial.
   * @throws BudgetError `INVALID_AMOUNT` before anything is sent; `BACKEND` / `TIMEOUT` when
   * Redis did not answer and the budget fails closed.
   */
  async tryReserveTokens(
    estimate: number,
    options?: AcquireOptions,
  ): Promise<TokenReservation | null> {
    assertAmount(estimate, 'estimate');
    const { handle } = await this.core.lease(estimate, options, [], (id, epoch, _, backed) =>
      this.issue({ id, backed, pending: undefined }, estimate, epoch),
    );
    return handle;
  }

  /**
   * Reconcile `reservation` with what the call used: the estimate is released and
   * `prompt + completion` charged, in one script. After its lease expired, the usage is
   * charged in full (see the class notes).
   *
   * @param reservation - a reservation this budget issued, armed or disarmed.
   * @param prompt - prompt tokens reported by the provider.
   * @param completion - completion tokens reported by the provider.
   * @throws BudgetError `INVALID_AMOUNT`, `INVALID_ARGUMENT`, `FOREIGN_HANDLE` or
   * `ALREADY_SETTLED` with nothing changed in Redis (for a retry whose earlier attempt was
   * recorded, `details.earlierAttempt`: the reservation then says `recorded`, and the observer
   * hears the record Redis applied); `BACKEND` / `TIMEOUT` when Redis did not answer: the
   * reservation stays unrecorded and disarmed — call again (it is recorded once); given up,
   * its estimate comes back when its lease expires, since disposing it no longer refunds.
   */
  async recordUsage(
    reservation: TokenReservation,
    prompt: number,
    completion: number,
  ): Promise<void> {
    assertAmount(prompt, 'prompt');
    assertAmount(completion, 'completion');
    const actual = prompt + completion;
    assertAmount(actual, 'prompt + completion');
    if (!(reservation instanceof TokenReservation)) {
      throw new BudgetError({
        code: 'INVALID_ARGUMENT',
        message: 'recordUsage expects a TokenReservation from tryReserveTokens',
        details: { budget: this.name },
      });
    }
    const lease = this.leases.get(reservation);
    if (lease === undefined || !reservation.isIssuedBy(this)) {
      throw new BudgetError({
        code: 'FOREIGN_HANDLE',
        message: `this token reservation was not issued by budget ${JSON.stringify(this.name)}`,
        details: { budget: this.name, estimate: reservation.estimate },
      });
    }
    while (lease.pending !== undefined) await lease.pending.catch(() => {});
    const state = reservation.state;
    if (state === 'recorded' || state === 'refunded') throw settled(this.name, reservation, false);
    // Disarmed before the record is sent: Redis may apply it before it answers, and from then on
    // neither a dispose nor disarm() may hand out a refund. If the call fails, the reservation
    // stays disarmed and unrecorded: a retry records it once; given up, it expires.
    if (state === 'armed') reservation.disarm();
    const estimate = reservation.estimate;
    // The first attempt finding its record applied (2) found a copy of itself: a client that
    // re-sends unanswered commands after a reconnect delivered it twice. It resolves.
    const first = lease.sent !== true;
    lease.sent = true;
    const attempt = lease.backed
      ? this.core.call('set', [lease.id, 'u', String(actual), String(estimate)])
      : this.core.call('chg', [chargeId(lease.id), String(actual)]);
    lease.pending = attempt;
    try {
      const { v, net } = await attempt;
      const [code = 0, , written = 0, , charged = actual] = v;
      // Refunded (disposed, or through disarm()'s refund) and the refund reached Redis first.
      if (code !== 1 && code !== 2) throw settled(this.name, reservation, false);
      // Applied, now or (2) by an earlier attempt whose answer was lost: a refund the caller
      // sent through disarm()'s function after it, which may have marked the handle refunded
      // meanwhile, finds the lease recorded and does nothing. The record is reported once,
      // with what Redis charged: the earlier attempt reported nothing.
      reservation.recordedAfterAll(this);
      lease.reported = true;
      this.reportRecord(estimate, code === 2 ? charged : actual, net, written);
      if (code === 2 && !first) throw settled(this.name, reservation, true);
    } finally {
      lease.pending = undefined;
    }
  }

  /** Total tokens recorded since the budget was created, by every process. */
  async tokensConsumed(): Promise<number> {
    return (await this.counters()).consumed;
  }

  /** Tokens owed: overage not yet paid by refunds or refills. */
  async debt(): Promise<number> {
    const { net } = await this.counters();
    return net < 0 ? -net : 0;
  }

  /** All counters at once, in one call. */
  async snapshot(): Promise<RedisTokenBudgetSnapshot> {
    const c = await this.counters();
    return {
      ...this.snapshotOf(c),
      debt: c.net < 0 ? -c.net : 0,
      consumed: c.consumed,
      forgivenDebt: c.forgivenDebt,
    };
  }

  /** The `record` event, and a `debt` event when the record left the budget owing. */
  private reportRecord(estimate: number, actual: number, net: number, written: number): void {
    const name = this.name;
    const debt = net < 0 ? -net : 0;
    const available = Math.max(net, 0);
    this.core.emit(() => ({ type: 'record', budget: name, estimate, actual, available, debt }));
    if (actual > estimate && (debt > 0 || written > 0)) {
      this.core.emit(() => ({ type: 'debt', budget: name, debt, forgiven: written }));
    }
  }

  private issue(lease: Lease, estimate: number, epoch: number): TokenReservation {
    // The refund reaches the reservation through a WeakRef: the leak backstop holds the refund,
    // and a strong reference would keep the reservation from ever being collected.
    let handle: WeakRef<TokenReservation> | undefined;
    const reservation = new TokenReservation({
      estimate,
      owner: this,
      epoch: Math.max(epoch, 0),
      refund: () => this.refund(lease, estimate, handle?.deref()),
      backstop: this.core.o.leakBackstop,
      onLeak: (amount) => this.reportLeak(lease, amount),
    });
    handle = new WeakRef(reservation);
    this.leases.set(reservation, lease);
    return reservation;
  }

  /** Returns an estimate; sent before it returns, so later calls see it. */
  private refund(
    lease: Lease,
    estimate: number,
    reservation: TokenReservation | undefined,
  ): Promise<void> | undefined {
    if (!lease.backed) return undefined;
    const name = this.name;
    const attempt = this.core.call('set', [lease.id, 'r', '0', String(estimate)]);
    const refunded = attempt.then(({ v, net }) => {
      if (v[0] === 3) {
        // A record reached Redis first: the reservation is recorded, and nothing came back.
        // Reported here only if that record's answer was lost (no record attempt reported it,
        // and none is still waiting for its answer, which would). What it wrote off is not
        // known here: `forgiven` says 0.
        reservation?.recordedAfterAll(this);
        if (lease.reported !== true && lease.pending === undefined) {
          lease.reported = true;
          this.reportRecord(estimate, v[4] ?? 0, net, 0);
        }
        return 0;
      }
      // 2: a copy of this refund (sent once) applied it, and says what it gave back.
      const back = v[0] === 1 || v[0] === 2 ? (v[1] ?? 0) : 0;
      const available = Math.max(net, 0);
      this.core.emit(() => ({
        type: 'release',
        budget: name,
        cost: estimate,
        refunded: back,
        available,
      }));
      return back;
    });
    lease.refunded = refunded.catch(() => 0);
    return refunded.then(() => undefined);
  }

  /**
   * The backstop refunded a reservation nobody settled: reported once Redis has answered, with
   * what it gave back. That is 0 for an estimate from an epoch a refill has closed, for a
   * reservation granted locally under `failure: 'open'` (Redis never held it), and for a
   * refund that failed (the lease then expires, and the sweep reports it).
   */
  private reportLeak(lease: Lease, amount: number): void {
    const name = this.name;
    const refunded = lease.refunded ?? Promise.resolve(0);
    void refunded.then((back) =>
      this.core.emit(() => ({ type: 'leak', budget: name, amount, refunded: back })),
    );
  }
}

/**
 * The id of the charge that records a reservation granted locally under `failure: 'open'`: its
 * own, never the lease's. The request for that lease may have reached Redis after all; then
 * the lease's id holds its abandon's record (or an expired lease's), and a charge under it
 * would be taken for a retry and charge nothing. The same for every attempt, so a retried
 * charge is recognised; two dots, so never an id `nextId` makes.
 */
function chargeId(leaseId: string): string {
  return `${leaseId}.k`;
}

function settled(budget: string, reservation: TokenReservation, earlier: boolean): BudgetError {
  return new BudgetError({
    code: 'ALREADY_SETTLED',
    message: earlier
      ? 'this token reservation was already recorded, by an earlier attempt of this call whose answer was lost'
      : `this token reservation is already ${reservation.state === 'recorded' ? 'recorded' : 'refunded'}`,
    details: { budget, estimate: reservation.estimate, earlierAttempt: earlier },
  });
}
