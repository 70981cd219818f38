import { randomBytes } from 'node:crypto';
import {
  assertAmount,
  type BudgetCapabilities,
  BudgetError,
  type Decision,
  type PermitBudgetGuard,
} from '@budgetry/core';
import type { RedisAllOfMember } from './all-of-members.js';
import {
  chargeArgsFor,
  chargeFor,
  checkBatch,
  checkMs,
  fixedCharges,
  invalid,
  type MemberList,
  type MemberPart,
  memberListOf,
  memberNamed,
  shortest,
} from './all-of-members.js';
import { type MemberSettle, type PermitOwner, RedisAllOfPermit } from './all-of-permit.js';
import { ALL_OF_SCRIPT } from './all-of-script.js';
import type { AcquireOptions } from './options.js';
import type { RedisBudgetSnapshot } from './remote-budget.js';
import { ScriptRunner } from './script-runner.js';

/**
 * Options of {@link RedisAllOf}.
 *
 * @example
 * ```ts
 * import type { RedisAllOfOptions } from '@budgetry/redis';
 * const options: RedisAllOfOptions = { leaseMs: 30_000, timeoutMs: 1_000 };
 * ```
 */
export interface RedisAllOfOptions<K extends string | number = string | number> {
  /** How long a permit is held before every member takes it back (default: the members' shortest). */
  readonly leaseMs?: number;
  /** Longest wait for Redis per call, in ms (default: the members' shortest; `Infinity` for none). */
  readonly timeoutMs?: number;
  /**
   * A fixed charge for some members, whatever the cost (as compose's `allOf`): `{ rows: 1 }`
   * takes one row per request while the token member takes the cost. With fixed charges a
   * permit commits whole (a `commit(used)` of less is refused; `commitEach` takes any amount
   * up to each member's charge), and a count `release(cost)` must match one earlier
   * `tryReserve(cost)`.
   */
  readonly charge?: Partial<Record<K, number>>;
  /**
   * Most calls sent as one script call (default: the members' smallest `maxBatch`; 1 sends
   * each alone), as a budget's `maxBatch`.
   */
  readonly maxBatch?: number;
}

/**
 * What one member of a {@link RedisAllOf} shows in {@link RedisAllOf.snapshot}: its counters
 * as its own `snapshot()` shows them, and its debt (0 for a guard).
 *
 * @example
 * ```ts
 * import type { RedisAllOfMemberSnapshot } from '@budgetry/redis';
 * const room = (s: RedisAllOfMemberSnapshot) => s.available - s.debt;
 * ```
 */
export interface RedisAllOfMemberSnapshot extends RedisBudgetSnapshot {
  /** Units owed (a token budget's overage not yet paid); 0 for a guard. */
  readonly debt: number;
}

const SWEEP_BATCH = 500;
const GET_WIDTH = 12;

/**
 * One reservation across several Redis budgets — rows *and* tokens, per-tenant *and* global —
 * taken on every member or on none, in one Lua script: one round trip and one atomic step,
 * whatever the number of members. Every settle (release, commit, partial commit, a commit per
 * member), the count API, renewals and the sweep of expired leases are one script call too.
 *
 * Semantics are those of compose's `allOf` over core's budgets, for a whole fleet: a
 * reservation charges `cost` on every member, or — when one lacks room — nothing, and
 * `tryAcquireDetailed` names the first member (in order) without room, with `retryAfterMs`
 * when that member refills on a period, or `exceedsCapacity: true` when what it is charged
 * is above its capacity (waiting cannot help). Each member keeps its own lease record (the
 * same id, the same deadline), so expiry (every member refunds once), idempotent retries,
 * epochs and refills from the server's clock, fencing and token debt work per member exactly
 * as they do for the member alone. A token member is charged an estimate; `commit(used)`
 * records `used` as its usage, `commitEach` records more (owed as debt).
 *
 * The count API is the members' pools: `tryReserve(cost)` reserves `cost` through every
 * member's count API or none; `release(cost)` returns up to `cost` to each, clamped to what
 * each holds (or, if a member is `strict` and holds less, refused whole with `OVER_RELEASE`).
 *
 * Members must be reachable by one script: one client and, on a Redis Cluster client, one
 * hash slot. The all-of keeps no state of its own: any process can build the same one.
 * Failures reject (`BACKEND`, `TIMEOUT`), after undoing a lost reservation as a member does.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { RedisAllOf, RedisBudget, RedisTokenBudget } from '@budgetry/redis';
 *
 * const redis = new Redis();
 * const requests = new RedisBudget(600, { redis, name: 'rpm', refillEveryMs: 60_000 });
 * const tokens = new RedisTokenBudget(90_000, { redis, name: 'tpm', refillEveryMs: 60_000 });
 * const gate = new RedisAllOf({ requests, tokens });
 * const decision = await gate.tryAcquireDetailed(1_500);
 * if (decision.ok) {
 *   await decision.permit.commitEach({ requests: 1, tokens: 1_240 }); // one script, both members
 * } else {
 *   console.log(decision.deniedBy, decision.retryAfterMs); // 'tokens' 12000, say
 * }
 * redis.disconnect();
 * ```
 */
export class RedisAllOf<K extends string | number = string>
  implements PermitBudgetGuard, PermitOwner<K>
{
  /**
   * Asynchronous, pool count release, partial commit (unless some member has a fixed charge,
   * as compose's `allOf`); no retry hint (a denial carries `retryAfterMs` instead), no epochs
   * of its own, not schedulable.
   */
  readonly capabilities: BudgetCapabilities;
  /** Member keys (record keys, or array indices), in the order they are checked. */
  readonly keys: readonly K[];
  /** The members, in the same order. */
  readonly members: readonly RedisAllOfMember[];
  /** The smallest capacity among members charged the cost: no larger cost can be granted. */
  readonly capacity: number;
  /** Each member's fixed charge, or −1 where it is charged the cost. */
  private readonly fixed: readonly number[];
  private readonly parts: readonly MemberPart[];
  private readonly runner: ScriptRunner;
  private readonly leaseMs: number;
  private readonly clientId = randomBytes(9).toString('base64url');
  private seq = 0;

  /**
   * @param members - an array or a record of `RedisBudget` and `RedisTokenBudget`, none twice.
   * @param options - the lease length and the time limit.
   * @throws BudgetError `INVALID_ARGUMENT` for no members, a value that is not one of those
   * budgets, a budget given twice, members on different clients or (on a Cluster client) in
   * different slots, or bad options — naming the member.
   */
  constructor(
    members: readonly RedisAllOfMember[] | Readonly<Record<K, RedisAllOfMember>>,
    options: RedisAllOfOptions<K> = {},
  ) {
    const list: MemberList<K> = memberListOf<K>(members);
    if (typeof options !== 'object' || options === null) {
      throw invalid('RedisAllOf options must be an object', {});
    }
    this.keys = list.keys;
    this.parts = list.parts;
    this.members = list.parts.map((p) => p.budget);
    this.fixed = fixedCharges(list.keys, options.charge);
    const charged = this.members.filter((_, i) => this.fixed[i]! < 0);
    this.capacity = Math.min(Number.MAX_SAFE_INTEGER, ...charged.map((m) => m.capacity));
    this.capabilities = Object.freeze({
      sync: false,
      countRelease: true,
      partialCommit: charged.length === this.members.length,
      retryHint: false,
      refill: undefined,
      schedulable: false,
    });
    const o = list.parts.map((p) => p.core.o);
    this.leaseMs = checkMs(shortest(options, o, 'leaseMs'), 'leaseMs', false);
    const timeoutMs = shortest(options, o, 'timeoutMs');
    checkMs(timeoutMs, 'timeoutMs', true);
    const label = `allOf(${o.map((x) => x.name).join(', ')})`;
    const keys = list.parts.flatMap((p) => p.keys);
    const config = [String(list.parts.length), ...list.parts.flatMap((p) => p.config)];
    // Member i's six configuration arguments start at 1 + 6i; its period is the fourth.
    const calendars = list.parts.flatMap((p, i) =>
      p.marks === undefined ? [] : [{ at: 1 + 6 * i + 3, marks: p.marks }],
    );
    const maxBatch = checkBatch(shortest(options, o, 'maxBatch'));
    this.runner = new ScriptRunner(
      list.client,
      ALL_OF_SCRIPT,
      keys,
      config,
      timeoutMs,
      label,
      calendars,
      maxBatch,
    );
  }

  /**
   * Reserve `cost` units on every member as one leased permit.
   *
   * @param cost - a non-negative safe integer.
   * @param options - this permit's lease length.
   * @returns the permit, or `null` when a member lacked room (nothing held).
   * @throws BudgetError `INVALID_AMOUNT` before anything is sent; `BACKEND` / `TIMEOUT` when
   * Redis did not answer (`details.undone` says whether the reservation was undone).
   */
  async tryAcquire(cost: number, options?: AcquireOptions): Promise<RedisAllOfPermit<K> | null> {
    const d = await this.tryAcquireDetailed(cost, options);
    return d.ok ? d.permit : null;
  }

  /**
   * {@link RedisAllOf.tryAcquire}, saying which member denied.
   *
   * @param cost - a non-negative safe integer.
   * @param options - this permit's lease length.
   * @returns the permit, or the first member without room and, when that member refills on a
   * period, `retryAfterMs` until its next epoch (server time); `exceedsCapacity: true` instead
   * of a hint when the member's charge is above its capacity (no refill can admit it).
   */
  async tryAcquireDetailed(
    cost: number,
    options?: AcquireOptions,
  ): Promise<Decision<K, RedisAllOfPermit<K>>> {
    assertAmount(cost, 'cost');
    const ms = options?.leaseMs === undefined ? this.leaseMs : options.leaseMs;
    checkMs(ms, 'leaseMs', false);
    const id = this.nextId();
    const v = await this.request('acq', id, cost, ms);
    if (v[0] === 1) {
      const n = this.keys.length;
      const epochs = v[0] === 1 && v.length >= n + 2 ? v.slice(2, n + 2) : this.keys.map(() => 0);
      const deadline = (v[1] ?? 0) > 0 ? v[1] : undefined;
      return { ok: true, permit: new RedisAllOfPermit(this, id, cost, epochs, deadline) };
    }
    const at = (v[1] ?? 1) - 1;
    const next = v[3] ?? -1;
    const deniedBy = this.keys[at]!;
    if (this.chargeOf(at, cost) > this.members[at]!.capacity) {
      return { ok: false, deniedBy, exceedsCapacity: true };
    }
    return next >= 0 ? { ok: false, deniedBy, retryAfterMs: next } : { ok: false, deniedBy };
  }

  /**
   * Reserve `cost` through every member's count API, or through none.
   *
   * @param cost - a non-negative safe integer.
   * @returns `true` when every member reserved.
   * @throws BudgetError as {@link RedisAllOf.tryAcquire}.
   */
  async tryReserve(cost: number): Promise<boolean> {
    assertAmount(cost, 'cost');
    const v = await this.request('res', this.nextId(), cost, 0);
    return v[0] === 1;
  }

  /**
   * Return `cost` units to every member's count API, each clamped to what it holds (the rest
   * counted in its `overReleased`). If a `strict` member holds less, nothing is returned to
   * any member and the call rejects with `OVER_RELEASE`, naming it.
   *
   * @param cost - a non-negative safe integer.
   */
  async release(cost: number): Promise<void> {
    assertAmount(cost, 'cost');
    const strict = this.parts.map((p) => (p.core.o.strict ? '1' : '0')).join('');
    const args = [this.nextId(), String(cost), strict, ...chargeArgsFor(this.fixed, cost)];
    const v = await this.call('rel', args);
    if (v[0] === -1) {
      const member = this.keys[(v[1] ?? 1) - 1]!;
      throw new BudgetError({
        code: 'OVER_RELEASE',
        message: `release(${cost}) exceeds the ${v[2] ?? 0} units member ${JSON.stringify(member)} holds through tryReserve; nothing was released`,
        details: { member, cost, held: v[2] ?? 0 },
      });
    }
  }

  /** Units every member can grant right now (the smallest member's room), in one call. */
  async available(): Promise<number> {
    const all = await this.snapshot();
    // A member with a fixed charge bounds nothing, unless it cannot take its charge.
    const room = this.keys.map((k, i) => {
      const { available } = all[k];
      const f = this.fixed[i]!;
      return f < 0 || available >= f ? (f < 0 ? available : Number.MAX_SAFE_INTEGER) : 0;
    });
    return Math.min(Number.MAX_SAFE_INTEGER, ...room);
  }

  /** @internal What member `i` is charged for `cost`: its fixed charge, or the cost (0: nothing). */
  chargeOf(i: number, cost: number): number {
    return chargeFor(this.fixed[i]!, cost);
  }

  /** Every member's counters, read in one script call (one consistent moment). */
  async snapshot(): Promise<Readonly<Record<K, RedisAllOfMemberSnapshot>>> {
    const v = await this.call('get', []);
    // No prototype: a member keyed '__proto__' is a key like any other.
    const out = Object.create(null) as Record<K, RedisAllOfMemberSnapshot>;
    this.parts.forEach((p, i) => {
      const r = (j: number): number => v[i * GET_WIDTH + j] ?? 0;
      const net = r(0);
      out[this.keys[i]!] = {
        capacity: p.budget.capacity,
        available: Math.max(net, 0),
        debt: net < 0 ? -net : 0,
        held: r(1),
        countHeld: r(2),
        epoch: r(3),
        overReleased: r(5),
        expiredLeases: r(7),
        expiredUnits: r(8),
        leases: r(9),
        serverTime: r(10),
        nextRefillAt: r(11) < 0 ? undefined : r(11),
        scriptReloads: this.runner.stats.scriptReloads,
      };
    });
    return out;
  }

  /**
   * Settle every expired lease of every member (each member's own leases too), refunding each
   * once.
   *
   * @returns what came back, summed over the members (a permit's lease counts once per member).
   */
  async reclaimExpired(): Promise<{ leases: number; units: number; refunded: number }> {
    let leases = 0;
    let units = 0;
    let refunded = 0;
    for (;;) {
      const reply = await this.runner.run('swp', [String(SWEEP_BATCH)]);
      let most = 0;
      for (let i = 0; i < this.parts.length; i++) {
        const [swept = 0, u = 0, back = 0] = reply.slice(i * 5, i * 5 + 3);
        leases += swept;
        units += u;
        refunded += back;
        most = Math.max(most, swept);
      }
      if (most < SWEEP_BATCH) return { leases, units, refunded };
    }
  }

  /** @internal Whether member `i` is a token budget. */
  isToken(i: number): boolean {
    return this.parts[i]?.token === true;
  }

  /** @internal Settles permit `id` on every member. */
  async settle(
    id: string,
    how: 'r' | 'c',
    cost: number,
    amounts: readonly number[],
  ): Promise<MemberSettle[]> {
    const v = await this.call('set', [id, how, String(cost), ...amounts.map(String)]);
    return this.parts.map((_, i) => {
      const r = v.slice(i * 4, i * 4 + 4);
      return [r[0] ?? 0, r[1] ?? 0, r[2] ?? 0, r[3] ?? 0] as const;
    });
  }

  /** @internal Renews permit `id` on every member: the new deadline, or undefined. */
  async renew(id: string, leaseMs: number | undefined): Promise<number | undefined> {
    const ms = leaseMs === undefined ? this.leaseMs : leaseMs;
    checkMs(ms, 'leaseMs', false);
    const v = await this.call('ren', [id, String(ms)]);
    const ok = this.parts.every((_, i) => v[i * 2] === 1);
    return ok ? v[1] : undefined;
  }

  private nextId(): string {
    this.seq++;
    return `${this.clientId}.a${this.seq.toString(36)}`;
  }

  /** Runs `op`; reports expired leases to each member's observer; the operation's values. */
  private async call(op: string, args: readonly string[]): Promise<number[]> {
    let reply: number[];
    try {
      reply = await this.runner.run(op, args);
    } catch (error) {
      throw memberNamed(error, this.keys, this.parts);
    }
    const n = this.parts.length;
    this.parts.forEach((p, i) => {
      const [swept = 0, units = 0, refunded = 0] = reply.slice(i * 5, i * 5 + 3);
      if (swept > 0) {
        p.core.emit(() => ({ type: 'leak', budget: p.core.o.name, amount: units, refunded }));
      }
    });
    return reply.slice(n * 5);
  }

  /**
   * A request for units (`acq` or `res`, id `id`). When it fails without an answer, an
   * abandon follows it on the same connection: a lease it took is released, a request still
   * on its way is refused when it arrives; `details.undone` says nothing is held.
   */
  private async request(op: string, id: string, cost: number, ms: number): Promise<number[]> {
    try {
      const charges = chargeArgsFor(this.fixed, cost);
      const v = await this.call(op, [id, String(cost), String(ms), ...charges]);
      // Seen before (a copy re-sent after a reconnect): granted if the first one was.
      if (v[0] === 2) return v[1] === 1 ? [1, 0] : [0, 1, 0, -1];
      return v;
    } catch (error) {
      if (
        !BudgetError.isInstance(error) ||
        (error.code !== 'BACKEND' && error.code !== 'TIMEOUT')
      ) {
        throw error;
      }
      let undone: boolean;
      try {
        const codes = await this.call('abt', [id]);
        undone = codes.every((c) => c !== -1);
      } catch {
        throw error;
      }
      throw new BudgetError({
        code: error.code,
        message: `${error.message}${undone ? ' (undone: nothing is held)' : ' (it reached Redis: its units are held through the count API)'}`,
        details: { ...error.details, undone },
        cause: error.cause ?? error,
      });
    }
  }
}
