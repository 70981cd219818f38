import type { BudgetCapabilities, Decision } from '@budgetry/core';
import {
  assertAmount,
  type BudgetPermit,
  type PermitBudgetGuard,
  type PermitState,
  retryAfterOf,
  type SyncBudgetGuard,
  type SyncBudgetPermit,
  SyncBudgetPermitBase,
  SyncGuardBase,
} from '@budgetry/core';
import { combined } from '../internal/capabilities.js';
import { CountLedger } from '../internal/count-ledger.js';
import { acceptMember, isSyncGuard } from '../internal/member-kind.js';
import type { AnyMember, SyncMember } from '../internal/member-list.js';
import {
  describe,
  invalid,
  type KeyOf,
  type MemberKey,
  type Members,
  memberFailure,
  toMemberList,
} from '../internal/member-list.js';

/**
 * Which member an any-of tries first: `priority` is the order given; `least-utilized` is the
 * member with the largest share of its capacity available (synchronous members only).
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import { type AnyOfStrategy, anyOf } from '@budgetry/compose';
 *
 * const strategy: AnyOfStrategy = process.env.SPREAD_LOAD ? 'least-utilized' : 'priority';
 * const pool = anyOf([new AtomicBudget(10), new AtomicBudget(10)], { strategy });
 * pool.tryAcquireSync(3)?.releaseSync();
 * ```
 */
export type AnyOfStrategy = 'priority' | 'least-utilized';

/**
 * Options for {@link anyOf}.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import { type AnyOfOptions, anyOf } from '@budgetry/compose';
 *
 * const options: AnyOfOptions = { strategy: 'least-utilized' };
 * const workers = anyOf([new AtomicBudget(4), new AtomicBudget(4)], options);
 * const permit = workers.tryAcquireSync(1); // the worker with the largest free share
 * console.log(permit?.member);
 * ```
 */
export interface AnyOfOptions {
  /** Which member is tried first (default `'priority'`). */
  strategy?: AnyOfStrategy;
}

/**
 * A permit from one member of an any-of, saying which.
 *
 * @example
 * ```ts
 * import { AtomicBudget, type PermitBudgetGuard } from '@budgetry/core';
 * import { type AnyOfPermit, anyOf } from '@budgetry/compose';
 *
 * const primary: PermitBudgetGuard = new AtomicBudget(0); // stands for an exhausted remote key
 * const keys = anyOf({ primary, fallback: new AtomicBudget(10) });
 * const permit: AnyOfPermit<'primary' | 'fallback'> | null = await keys.tryAcquire(1);
 * if (permit) console.log(permit.member, permit.inner.cost); // 'fallback' 1
 * ```
 */
export interface AnyOfPermit<K extends MemberKey = MemberKey> extends BudgetPermit {
  /** The member that was charged. */
  readonly member: K;
  /** That member's own permit. */
  readonly inner: BudgetPermit;
}

/**
 * An {@link AnyOfPermit} from a synchronous any-of.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import { anyOf, type SyncAnyOfPermit } from '@budgetry/compose';
 *
 * const pool = anyOf({ a: new AtomicBudget(1), b: new AtomicBudget(1) });
 * {
 *   using permit: SyncAnyOfPermit<'a' | 'b'> | null = pool.tryAcquireSync(1);
 *   console.log(permit?.member); // 'a'
 * } // released here, to member a
 * ```
 */
export interface SyncAnyOfPermit<K extends MemberKey = MemberKey>
  extends AnyOfPermit<K>,
    SyncBudgetPermit {
  readonly inner: SyncBudgetPermit;
}

class SyncAnyOfPermitImpl<K extends MemberKey>
  extends SyncBudgetPermitBase
  implements SyncAnyOfPermit<K>
{
  constructor(
    readonly member: K,
    readonly inner: SyncBudgetPermit,
  ) {
    super();
  }
  get cost(): number {
    return this.inner.cost;
  }
  get epoch(): number {
    return this.inner.epoch;
  }
  get state(): PermitState {
    return this.inner.state;
  }
  releaseSync(): boolean {
    return this.inner.releaseSync();
  }
  commitSync(used?: number): boolean {
    return this.inner.commitSync(used);
  }
}

class AnyOfPermitImpl<K extends MemberKey> implements AnyOfPermit<K> {
  constructor(
    readonly member: K,
    readonly inner: BudgetPermit,
  ) {}
  get cost(): number {
    return this.inner.cost;
  }
  get epoch(): number {
    return this.inner.epoch;
  }
  get state(): PermitState {
    return this.inner.state;
  }
  release(): Promise<boolean> {
    return this.inner.release();
  }
  commit(used?: number): Promise<boolean> {
    return this.inner.commit(used);
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await this.inner.release();
  }
}

/**
 * A denial from an any-of: every member denied; the soonest retry any of them knows.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import { type AnyOfDecision, anyOf, type SyncAnyOfPermit } from '@budgetry/compose';
 *
 * type Region = 'east' | 'west';
 * const pool = anyOf({ east: new AtomicBudget(1), west: new AtomicBudget(1) });
 * const d: AnyOfDecision<Region, SyncAnyOfPermit<Region>> = pool.tryAcquireDetailedSync(2);
 * if (!d.ok) console.log(d.deniedBy); // ['east', 'west']
 * ```
 */
export type AnyOfDecision<K, P> = Decision<readonly K[], P>;

/**
 * Any-of over synchronous members: the first member that admits is charged, and only it.
 * Build it with {@link anyOf}.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import { anyOf } from '@budgetry/compose';
 *
 * const pool = anyOf([new AtomicBudget(1), new AtomicBudget(1)]);
 * pool.tryAcquireSync(1)?.member; // 0
 * pool.tryAcquireSync(1)?.member; // 1
 * ```
 */
export class SyncAnyOf<K extends MemberKey = MemberKey>
  extends SyncGuardBase<SyncAnyOfPermit<K>>
  implements SyncBudgetGuard
{
  /**
   * Partial commit when every member has it (a permit is one member's); its count API keeps a
   * reservation per cost, so a release must match one (no pool release).
   */
  readonly capabilities: BudgetCapabilities;
  /** Member keys, in priority order. */
  readonly keys: readonly K[];
  /** The members, in priority order. */
  readonly members: readonly SyncBudgetGuard[];
  /** Which member is tried first. */
  readonly strategy: AnyOfStrategy;
  private readonly ledger = new CountLedger<number>();

  /** @internal Use {@link anyOf}. */
  constructor(keys: K[], members: SyncBudgetGuard[], strategy: AnyOfStrategy) {
    super();
    this.capabilities = Object.freeze({
      ...combined(members, { sync: true, uniform: true }),
      countRelease: false,
    });
    this.keys = keys;
    this.members = members;
    this.strategy = strategy;
  }

  /** The largest member capacity. */
  get capacity(): number {
    return Math.max(...this.members.map((m) => m.capacity));
  }

  /** The largest cost some member could take right now. */
  available(): number {
    let a = 0;
    for (const m of this.members) a = Math.max(a, m.available());
    return a;
  }

  /** Units held through the count API. */
  held(): number {
    return this.ledger.held;
  }

  /** Units the count API was asked to release without a matching reservation (ignored). */
  overReleased(): number {
    return this.ledger.overReleased;
  }

  /**
   * Reserve `cost` on the first member that admits it.
   *
   * @param cost - a non-negative safe integer.
   * @returns `true` when some member reserved it.
   */
  tryReserveSync(cost: number): boolean {
    assertAmount(cost, 'cost');
    const order = this.order(cost);
    for (const i of order) {
      let ok: boolean;
      try {
        ok = this.members[i]!.tryReserveSync(cost);
      } catch (error) {
        throw memberFailure(error, this.keys[i]!);
      }
      if (ok) {
        this.ledger.push(cost, i);
        return true;
      }
    }
    return false;
  }

  /**
   * Release one count reservation of exactly `cost` to the member that took it; without one,
   * the call is counted in `overReleased()` and changes nothing.
   *
   * @param cost - a non-negative safe integer.
   */
  releaseSync(cost: number): void {
    assertAmount(cost, 'cost');
    const i = this.ledger.take(cost);
    if (i !== undefined) this.members[i]!.releaseSync(cost);
  }

  /**
   * Reserve `cost` on the first member that admits it, as a permit naming that member.
   *
   * @param cost - a non-negative safe integer.
   * @returns the permit, or `null` when every member denied (none charged).
   */
  tryAcquireSync(cost: number): SyncAnyOfPermit<K> | null {
    assertAmount(cost, 'cost');
    for (const i of this.order(cost)) {
      let p: SyncBudgetPermit | null;
      try {
        p = this.members[i]!.tryAcquireSync(cost);
      } catch (error) {
        throw memberFailure(error, this.keys[i]!);
      }
      if (p !== null) return new SyncAnyOfPermitImpl(this.keys[i]!, p);
    }
    return null;
  }

  /**
   * {@link SyncAnyOf.tryAcquireSync}, with the soonest retry any member knows on denial.
   *
   * @param cost - a non-negative safe integer.
   * @returns the permit, or every member's key in `deniedBy` and, when known, `retryAfterMs`.
   */
  tryAcquireDetailedSync(cost: number): AnyOfDecision<K, SyncAnyOfPermit<K>> {
    const permit = this.tryAcquireSync(cost);
    if (permit !== null) return { ok: true, permit };
    return anyDenial(this.keys, this.members, cost);
  }

  /**
   * The soonest time some member could take `cost`, when their schedules know.
   *
   * @param cost - the units wanted.
   * @returns milliseconds, or `undefined` when no member gives a hint.
   */
  retryAfterMs(cost: number): number | undefined {
    assertAmount(cost, 'cost');
    if (this.available() >= cost) return 0;
    return soonest(this.members, cost);
  }

  /** {@inheritDoc SyncAnyOf.tryAcquireDetailedSync} */
  async tryAcquireDetailed(cost: number): Promise<AnyOfDecision<K, SyncAnyOfPermit<K>>> {
    return this.tryAcquireDetailedSync(cost);
  }

  private order(cost: number): number[] {
    const idx = this.members.map((_, i) => i);
    if (this.strategy === 'priority') return idx;
    // Largest free share first; ties keep priority order (sort is stable).
    const share = this.members.map((m) =>
      m.capacity === 0 ? (cost === 0 ? 1 : 0) : m.available() / m.capacity,
    );
    return idx.sort((a, b) => share[b]! - share[a]!);
  }
}

function soonest(members: readonly unknown[], cost: number): number | undefined {
  let best: number | undefined;
  for (const m of members) {
    const ms = retryAfterOf(m, cost);
    if (ms !== undefined && (best === undefined || ms < best)) best = ms;
  }
  return best;
}

function anyDenial<K>(
  keys: readonly K[],
  members: readonly unknown[],
  cost: number,
): { ok: false; deniedBy: readonly K[]; retryAfterMs?: number } {
  const retryAfterMs = soonest(members, cost);
  return retryAfterMs === undefined
    ? { ok: false, deniedBy: keys }
    : { ok: false, deniedBy: keys, retryAfterMs };
}

/**
 * Any-of over members of which at least one is asynchronous: members are tried one after
 * another in priority order. Build it with {@link anyOf}.
 *
 * @example
 * ```ts
 * import { AtomicBudget, type PermitBudgetGuard } from '@budgetry/core';
 * import { anyOf } from '@budgetry/compose';
 *
 * const primary: PermitBudgetGuard = new AtomicBudget(1); // stands for a remote guard
 * const permit = await anyOf({ primary, fallback: new AtomicBudget(5) }).tryAcquire(3);
 * console.log(permit?.member); // 'fallback'
 * ```
 */
export class AnyOf<K extends MemberKey = MemberKey> implements PermitBudgetGuard {
  /** See {@link SyncAnyOf.capabilities}; asynchronous. */
  readonly capabilities: BudgetCapabilities;
  /** Member keys, in priority order. */
  readonly keys: readonly K[];
  /** The members, in priority order. */
  readonly members: readonly PermitBudgetGuard[];
  private readonly ledger = new CountLedger<AnyOfPermit<K>>();

  /** @internal Use {@link anyOf}. */
  constructor(keys: K[], members: PermitBudgetGuard[]) {
    this.capabilities = Object.freeze({
      ...combined(members, { sync: false, uniform: true }),
      countRelease: false,
      retryHint: false,
    });
    this.keys = keys;
    this.members = members;
  }

  /** Units held through the count API. */
  held(): number {
    return this.ledger.held;
  }

  /**
   * Reserve `cost` on the first member that admits it, as a permit naming that member.
   *
   * @param cost - a non-negative safe integer.
   * @returns the permit, or `null` when every member denied (none charged).
   */
  async tryAcquire(cost: number): Promise<AnyOfPermit<K> | null> {
    assertAmount(cost, 'cost');
    for (let i = 0; i < this.members.length; i++) {
      let p: BudgetPermit | null;
      try {
        p = await this.members[i]!.tryAcquire(cost);
      } catch (error) {
        throw memberFailure(error, this.keys[i]!);
      }
      if (p !== null) return new AnyOfPermitImpl(this.keys[i]!, p);
    }
    return null;
  }

  /**
   * {@link AnyOf.tryAcquire}, with the soonest retry any member knows on denial.
   *
   * @param cost - a non-negative safe integer.
   * @returns the permit, or every member's key in `deniedBy` and, when known, `retryAfterMs`.
   */
  async tryAcquireDetailed(cost: number): Promise<AnyOfDecision<K, AnyOfPermit<K>>> {
    const permit = await this.tryAcquire(cost);
    if (permit !== null) return { ok: true, permit };
    return anyDenial(this.keys, this.members, cost);
  }

  /**
   * Count API over permits: reserve `cost` on the first member that admits it.
   *
   * @param cost - a non-negative safe integer.
   * @returns `true` when some member reserved it.
   */
  async tryReserve(cost: number): Promise<boolean> {
    return this.ledger.keep(cost, await this.tryAcquire(cost));
  }

  /**
   * Release one count reservation of exactly `cost`; without one, nothing changes.
   *
   * @param cost - a non-negative safe integer.
   */
  async release(cost: number): Promise<void> {
    assertAmount(cost, 'cost');
    await this.ledger.take(cost)?.release();
  }
}

/**
 * The first of several budgets that admits a reservation, and only that one: a primary API
 * key with fallbacks, a pool of workers, regional quotas. The permit says which member it
 * charged; a denial charges none and gives the soonest `retryAfterMs` any member knows.
 *
 * When to use: any one of several budgets may pay for the work. Members are tried in the
 * order given, or with `strategy: 'least-utilized'` (synchronous members) the one with the
 * largest free share first, which spreads load. Over synchronous members the result is a
 * {@link SyncAnyOf}; otherwise an {@link AnyOf}.
 *
 * @param members - an array or record of guards and token budgets, none given twice.
 * @param options - the strategy.
 * @returns the combined guard.
 * @throws BudgetError `INVALID_ARGUMENT` for no members, a member given twice, a value that
 * is not a budget, an unknown strategy, or `least-utilized` over asynchronous members.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import { anyOf } from '@budgetry/compose';
 *
 * const keys = anyOf({ primary: new AtomicBudget(100), fallback: new AtomicBudget(50) });
 * const permit = keys.tryAcquireSync(80);
 * console.log(permit?.member); // 'primary'
 * permit?.releaseSync();
 * ```
 */
export function anyOf<const T extends Members<SyncMember>>(
  members: T,
  options?: AnyOfOptions,
): SyncAnyOf<KeyOf<T>>;
export function anyOf<const T extends Members<AnyMember>>(
  members: T,
  options?: AnyOfOptions,
): AnyOf<KeyOf<T>> | SyncAnyOf<KeyOf<T>>;
export function anyOf(members: Members<AnyMember>, options: AnyOfOptions = {}): AnyOf | SyncAnyOf {
  if (typeof options !== 'object' || options === null) {
    throw invalid(`anyOf options must be an object, got ${describe(options)}`, {});
  }
  const strategy = options.strategy ?? 'priority';
  if (strategy !== 'priority' && strategy !== 'least-utilized') {
    throw invalid(
      `option strategy must be 'priority' or 'least-utilized', got ${String(strategy)}`,
      {
        strategy,
      },
    );
  }
  const list = toMemberList(members, 'anyOf', acceptMember);
  if (list.budgets.every(isSyncGuard)) {
    return new SyncAnyOf(list.keys, list.budgets as SyncBudgetGuard[], strategy);
  }
  if (strategy !== 'priority') {
    throw invalid("strategy 'least-utilized' needs synchronous members", { strategy });
  }
  return new AnyOf(list.keys, list.budgets);
}
