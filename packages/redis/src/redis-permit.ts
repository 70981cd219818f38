import { BudgetError, type BudgetPermit, checkUsed, type PermitState } from '@budgetry/core';
import type { RemoteCore } from './remote-core.js';

type How = 'r' | 'c';

/**
 * A permit on a {@link RedisBudget} or a {@link RedisHierarchyNode}: a lease held in Redis,
 * settled exactly once (on a hierarchy, to the whole path it was charged to).
 *
 * - `release()` returns the units; `commit(used?)` keeps `used` (default all) spent and
 *   returns the rest in the same script, to the epoch the permit was taken in.
 * - Every settle carries the permit's id: after a failure (`BACKEND`, `TIMEOUT`) the permit
 *   stays `held` and the same call can simply be made again. If the first attempt did reach
 *   Redis, the retry is recognised, changes nothing and resolves `false` (this call did not
 *   settle the permit: the earlier one did), `state` then says how it was settled, and the
 *   observer hears of that earlier settle then, once, with what Redis applied. A
 *   single call whose command the client delivered twice (ioredis re-sends unanswered
 *   commands after a reconnect) resolves `true`.
 * - If the lease expires first (the process stalled, or died, for longer than `leaseMs`),
 *   Redis refunds the units once. A later `release()` resolves `false`. A later `commit()`
 *   rejects with `LEASE_EXPIRED` and charges nothing: a guard never goes below zero, and the
 *   units may already have been granted to someone else, so the only exact answer is to say
 *   so — the caller learns the work ran without a valid reservation. (Spend that must always
 *   be recorded belongs in a {@link RedisTokenBudget}, where a late record is charged as debt.)
 * - A permit granted under `failure: 'open'` while Redis was unreachable is unbacked
 *   (`backed` is `false`): settling it changes nothing in Redis.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { RedisBudget } from '@budgetry/redis';
 *
 * const redis = new Redis();
 * const slots = new RedisBudget(8, { redis, name: 'crawler-slots', leaseMs: 30_000 });
 * const permit = await slots.tryAcquire(1);
 * if (permit) {
 *   await using held = permit; // released on every exit path
 *   // ... work ...
 *   await held.commit(); // or keep only what was used: held.commit(0)
 * }
 * redis.disconnect();
 * ```
 */
export class RedisPermit implements BudgetPermit {
  private status: PermitState = 'held';
  private expiredFlag = false;
  private settling: Promise<unknown> | undefined;
  /** Whether a settle was sent before: else a settle found applied is this one, sent twice. */
  private sent = false;
  private deadline: number | undefined;

  /** @internal Budgets construct permits. */
  constructor(
    private readonly core: RemoteCore,
    /** The lease id in Redis, which is also every settle's idempotency key. */
    readonly id: string,
    /** The units this permit holds. */
    readonly cost: number,
    /** The refill epoch the permit was taken in (-1 for an unbacked permit). */
    readonly epoch: number,
    deadline: number | undefined,
    /** `false` for a permit granted locally under `failure: 'open'`. */
    readonly backed: boolean,
  ) {
    this.deadline = deadline;
  }

  /** `held`, `released` or `committed` (an expired lease reads `released`; see `expired`). */
  get state(): PermitState {
    return this.status;
  }

  /** Whether Redis took the lease back because it expired before it was settled. */
  get expired(): boolean {
    return this.expiredFlag;
  }

  /** When the lease expires, in the Redis server's milliseconds (undefined when unbacked or unknown). */
  get expiresAt(): number | undefined {
    return this.deadline;
  }

  /**
   * Return the units to the pool (nothing, for a permit from an epoch a `reset` fenced off).
   *
   * @returns `true` if this call settled the permit; `false` if it was already settled (by
   * an earlier attempt whose answer was lost, too) or its lease had expired (its units came
   * back then).
   */
  release(): Promise<boolean> {
    return this.settle('r', 0);
  }

  /**
   * Keep `used` units spent (default all) and return the rest, in one step.
   *
   * @param used - units used, `0 ≤ used ≤ cost`.
   * @returns `true` if this call settled the permit, `false` if it was already settled.
   * @throws BudgetError `INVALID_AMOUNT` for a bad `used` (nothing changes), `LEASE_EXPIRED`
   * when the lease expired first (nothing is charged), `BACKEND` / `TIMEOUT` when Redis did not
   * answer (the permit stays held: call again).
   */
  async commit(used?: number): Promise<boolean> {
    const spent = used === undefined ? this.cost : checkUsed(used, this.cost);
    return this.settle('c', spent);
  }

  /**
   * Push the lease's expiry to `leaseMs` from now (server time), for work that runs long.
   *
   * @param leaseMs - the new lease length (default: the budget's `leaseMs`).
   * @returns `true` if the lease was live and now lasts longer; `false` if it was settled or
   * had expired.
   */
  async renew(leaseMs?: number): Promise<boolean> {
    const ms = this.core.leaseMs(leaseMs === undefined ? undefined : { leaseMs });
    if (this.status !== 'held' || !this.backed) return false;
    const { v } = await this.core.call('ren', [this.id, String(ms)]);
    if (v[0] !== 1) return false;
    this.deadline = v[1];
    return true;
  }

  /** Releases the permit if it is still held. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.status === 'held') await this.release();
  }

  private async settle(how: How, used: number): Promise<boolean> {
    // One attempt at a time: a second settle waits for the first, then finds it settled (or,
    // if the first failed, tries itself).
    while (this.settling !== undefined) await this.settling.catch(() => {});
    if (this.status !== 'held') return false;
    if (!this.backed) {
      this.status = how === 'r' ? 'released' : 'committed';
      return true;
    }
    // The first attempt finding its settle applied (2) found a copy of itself: a client that
    // re-sends unanswered commands after a reconnect delivered it twice. It settled the permit.
    const first = !this.sent;
    this.sent = true;
    const attempt = this.core.call('set', [this.id, how, String(used), String(this.cost)]);
    this.settling = attempt;
    try {
      const { v, net } = await attempt;
      const [code = 0, refunded = 0, , expired = 0, charged = used] = v;
      const available = Math.max(net, 0);
      if (code === 1) return this.done(how, used, refunded, available);
      if (code === 2 || code === 3) {
        // An earlier attempt settled the permit — this very settle (2) or a commit before this
        // release (3) — and its answer was lost, so nothing reported it: reported now, with
        // what Redis applied. Only a copy of this call's own command (2, first) makes it true.
        const was = code === 3 || how === 'c' ? 'c' : 'r';
        this.done(was, was === 'c' ? charged : 0, refunded, available);
        return code === 2 && first;
      }
      this.status = 'released';
      if (code === -2 || expired === 1) this.expiredFlag = true;
      if (code === -2) {
        throw new BudgetError({
          code: 'LEASE_EXPIRED',
          message: `the lease of this permit (${this.cost} units) expired before commit; its units were refunded then and nothing was charged now`,
          details: { budget: this.core.o.name, id: this.id, cost: this.cost, used },
        });
      }
      return false;
    } finally {
      this.settling = undefined;
    }
  }

  private done(how: How, used: number, refunded: number, available: number): true {
    this.status = how === 'r' ? 'released' : 'committed';
    const budget = this.core.o.name;
    const cost = this.cost;
    if (how === 'r') {
      this.core.emit(() => ({ type: 'release', budget, cost, refunded, available }));
    } else {
      this.core.emit(() => ({ type: 'commit', budget, cost, used, refunded }));
    }
    return true;
  }
}
