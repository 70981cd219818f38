import {
  assertAmount,
  BudgetError,
  type BudgetPermit,
  checkUsed,
  type PermitState,
} from '@budgetry/core';

/** @internal What one member's settle answered: {code, refunded, written off, expired}. */
export type MemberSettle = readonly [number, number, number, number];

/** @internal What a permit needs of its all-of. */
export interface PermitOwner<K> {
  readonly keys: readonly K[];
  /** What member i is charged for `cost` (a fixed charge, or the cost). */
  chargeOf(i: number, cost: number): number;
  /** `partialCommit` false: some member has a fixed charge, and a commit is whole. */
  readonly capabilities: { readonly partialCommit: boolean };
  /** Whether member i is a token budget (its commit records usage, overage as debt). */
  isToken(i: number): boolean;
  settle(
    id: string,
    how: 'r' | 'c',
    cost: number,
    amounts: readonly number[],
  ): Promise<MemberSettle[]>;
  renew(id: string, leaseMs: number | undefined): Promise<number | undefined>;
}

/**
 * A reservation on every member of a {@link RedisAllOf}: each member holds a lease of the
 * same id and the same deadline, and every settle — release, commit, partial commit, a
 * commit per member — is one script call that settles every member's lease, each exactly
 * once, as that member settles its own leases.
 *
 * - A settle that fails (`BACKEND`, `TIMEOUT`) leaves the permit `held`: call again. If the
 *   first attempt did reach Redis, the retry changes nothing and resolves `false`. A single
 *   call whose command the client delivered twice (a re-send after a reconnect) resolves
 *   `true`.
 * - If the lease expired first, every member got its units back then, once. A later
 *   `release()` resolves `false`; a later commit charges each token member its usage in full
 *   (as a late `recordUsage` does) and, if a guard member is among them, rejects with
 *   `LEASE_EXPIRED` — the guards charge nothing.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { RedisAllOf, RedisBudget, RedisTokenBudget } from '@budgetry/redis';
 *
 * const redis = new Redis();
 * const rows = new RedisBudget(1_000, { redis, name: 'rows' });
 * const tokens = new RedisTokenBudget(50_000, { redis, name: 'tokens' });
 * const both = new RedisAllOf({ rows, tokens });
 * const permit = await both.tryAcquire(200);
 * if (permit) {
 *   await using held = permit; // released on every exit path that does not settle it
 *   await held.commitEach({ rows: 150, tokens: 260 }); // 60 tokens over: owed as debt
 * }
 * redis.disconnect();
 * ```
 */
export class RedisAllOfPermit<K extends string | number = string> implements BudgetPermit {
  private status: PermitState = 'held';
  private expiredFlag = false;
  private settling: Promise<unknown> | undefined;
  /** Whether a settle was sent before: else a settle found applied is this one, sent twice. */
  private sent = false;
  private deadline: number | undefined;

  /** @internal The all-of constructs permits. */
  constructor(
    private readonly owner: PermitOwner<K>,
    /** The lease id in every member, which is also every settle's idempotency key. */
    readonly id: string,
    /** The units reserved on each member. */
    readonly cost: number,
    /** Each member's refill epoch when the permit was taken, in member order. */
    readonly epochs: readonly number[],
    deadline: number | undefined,
  ) {
    this.deadline = deadline;
  }

  /** The first member's epoch (each member fences its own lease to its own epoch). */
  get epoch(): number {
    return this.epochs[0] ?? 0;
  }

  /** `held`, `released` or `committed` (an expired lease reads `released`; see `expired`). */
  get state(): PermitState {
    return this.status;
  }

  /** Whether a member took its lease back because it expired before it was settled. */
  get expired(): boolean {
    return this.expiredFlag;
  }

  /** When the leases expire, in the Redis server's milliseconds (undefined when unknown). */
  get expiresAt(): number | undefined {
    return this.deadline;
  }

  /**
   * Return the units to every member.
   *
   * @returns `true` if this call settled the permit; `false` if it was already settled (by an
   * earlier attempt whose answer was lost, too) or its leases had expired.
   */
  release(): Promise<boolean> {
    return this.settle(
      'r',
      this.owner.keys.map(() => 0),
    );
  }

  /**
   * Keep `used` units spent on every member (default all) and return the rest, in one script.
   * A token member records `used` as its usage.
   *
   * @param used - units used, `0 ≤ used ≤ cost`; when some member has a fixed charge (the
   * all-of's `charge` option), only the whole cost: each member keeps its charge.
   * @returns `true` if this call settled the permit, `false` if it was already settled.
   * @throws BudgetError `INVALID_AMOUNT` for a bad `used`, `INVALID_ARGUMENT` for a partial
   * commit over fixed charges (use `commitEach`), with nothing changed; `LEASE_EXPIRED` when
   * the leases expired first (see the class notes); `BACKEND` / `TIMEOUT` when Redis did not
   * answer (the permit stays held: call again).
   */
  async commit(used?: number): Promise<boolean> {
    const spent = used === undefined ? this.cost : checkUsed(used, this.cost);
    const charges = this.owner.keys.map((_, i) => this.owner.chargeOf(i, this.cost));
    if (spent !== this.cost && !this.owner.capabilities.partialCommit) {
      throw new BudgetError({
        code: 'INVALID_ARGUMENT',
        message: `commit(${spent}) of a permit of ${this.cost}: some members have a fixed charge, so a commit is whole; give each member its amount with commitEach`,
        details: { used: spent, cost: this.cost },
      });
    }
    return this.settle(
      'c',
      charges.map((c) => (c === this.cost ? spent : c)),
    );
  }

  /**
   * Commit a different amount on each member, in one script: a guard keeps its amount spent
   * (at most what it was charged: `cost`, or its fixed charge), a token member records its
   * amount as usage — more than it was charged is owed as debt, as `recordUsage` owes it. A
   * member left out of a record keeps all it was charged.
   *
   * @param used - per member: an array in member order, or a record by member key.
   * @returns `true` if this call settled the permit, `false` if it was already settled.
   * @throws BudgetError `INVALID_AMOUNT` / `INVALID_ARGUMENT` for bad amounts, with nothing
   * changed; otherwise as {@link RedisAllOfPermit.commit}.
   */
  async commitEach(used: readonly number[] | Partial<Record<K, number>>): Promise<boolean> {
    const keys = this.owner.keys;
    if (typeof used !== 'object' || used === null) {
      throw new BudgetError({
        code: 'INVALID_ARGUMENT',
        message: 'commitEach expects an array or a record of amounts',
        details: {},
      });
    }
    const list = used as Record<string, unknown>;
    const named = Array.isArray(used)
      ? used.length === keys.length
      : Object.keys(list).every((k) => keys.some((m) => String(m) === k));
    if (!named) {
      throw new BudgetError({
        code: 'INVALID_ARGUMENT',
        message: `commitEach needs an amount for each of the ${keys.length} members (an array), or a record of member keys`,
        details: { members: keys },
      });
    }
    const amounts = keys.map((k, i) => {
      const charged = this.owner.chargeOf(i, this.cost);
      const given = Array.isArray(used)
        ? used[i]
        : Object.hasOwn(list, String(k))
          ? list[String(k)]
          : undefined;
      if (given === undefined) return charged;
      if (this.owner.isToken(i)) {
        assertAmount(given, `used.${String(k)}`);
        return given;
      }
      return checkUsed(given, charged);
    });
    return this.settle('c', amounts);
  }

  /**
   * Push every member's lease expiry to `leaseMs` from now (server time).
   *
   * @param leaseMs - the new lease length (default: the all-of's).
   * @returns `true` if the leases were live and now last longer; `false` otherwise.
   */
  async renew(leaseMs?: number): Promise<boolean> {
    if (this.status !== 'held') return false;
    const deadline = await this.owner.renew(this.id, leaseMs);
    if (deadline === undefined) return false;
    this.deadline = deadline;
    return true;
  }

  /** Releases the permit if it is still held. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.status === 'held') await this.release();
  }

  private async settle(how: 'r' | 'c', amounts: readonly number[]): Promise<boolean> {
    // One attempt at a time: a second settle waits for the first, then finds it settled.
    while (this.settling !== undefined) await this.settling.catch(() => {});
    if (this.status !== 'held') return false;
    // The first attempt finding its settle applied (2) found a copy of itself: a client that
    // re-sends unanswered commands after a reconnect delivered it twice. It settled the permit.
    const first = !this.sent;
    this.sent = true;
    const attempt = this.owner.settle(this.id, how, this.cost, amounts);
    this.settling = attempt;
    try {
      const results = await attempt;
      const codes = results.map((r) => r[0]);
      const now = codes.some((c) => c === 1 || (first && c === 2));
      if (results.some((r) => r[3] === 1 || r[0] === -2)) this.expiredFlag = true;
      if (codes.some((c) => c === -2)) {
        this.status = now ? 'committed' : 'released';
        const late = this.owner.keys.filter((_, i) => codes[i] === -2);
        throw new BudgetError({
          code: 'LEASE_EXPIRED',
          message: `the leases of this all-of permit (${this.cost} units) expired before commit; their units were refunded then, and ${late.map((k) => JSON.stringify(k)).join(', ')} charged nothing now`,
          details: { id: this.id, cost: this.cost, members: late },
        });
      }
      if (now) {
        this.status = how === 'r' ? 'released' : 'committed';
        return true;
      }
      // 2: an earlier attempt of this very settle reached Redis (its answer was lost); 3: an
      // earlier commit did, before this release.
      const charged = codes.some((c) => c === 3) || (how === 'c' && codes.some((c) => c === 2));
      this.status = charged ? 'committed' : 'released';
      return false;
    } finally {
      this.settling = undefined;
    }
  }
}
