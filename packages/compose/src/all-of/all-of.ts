import type { BudgetCapabilities } from '@budgetry/core';
import {
  assertAmount,
  type BudgetError,
  type BudgetPermit,
  checkUsed,
  type Decision,
  type PermitBudgetGuard,
  PermitCode,
  type PermitState,
  permitStateOf,
  retryAfterOf,
  type SyncBudgetGuard,
  type SyncBudgetPermit,
  SyncBudgetPermitBase,
  SyncGuardBase,
} from '@budgetry/core';
import { combined } from '../internal/capabilities.js';
import { CountLedger } from '../internal/count-ledger.js';
import { acceptMember, isSyncGuard } from '../internal/member-kind.js';
import {
  type AnyMember,
  describe,
  invalid,
  type KeyOf,
  type MemberKey,
  type Members,
  memberFailure,
  ownValue,
  type SyncMember,
  settleEach,
  toMemberList,
} from '../internal/member-list.js';

/**
 * Options for {@link allOf}.
 *
 * @example
 * ```ts
 * import { AtomicBudget, AtomicTokenBudget } from '@budgetry/core';
 * import { type AllOfOptions, allOf } from '@budgetry/compose';
 *
 * // One row per request, whatever its token estimate.
 * const options: AllOfOptions<'rows' | 'tokens'> = { charge: { rows: 1 } };
 * const gate = allOf({ rows: new AtomicBudget(100), tokens: new AtomicTokenBudget(50_000) }, options);
 * gate.tryAcquireSync(1_200)?.releaseSync(); // took 1 row and 1 200 tokens, then gave them back
 * ```
 */
export interface AllOfOptions<K extends MemberKey> {
  /**
   * A fixed charge for some members, whatever the reserved cost: `{ rows: 1 }` makes
   * `tryAcquire(1_200)` take one row and 1 200 from every other member. A reservation of
   * cost 0 charges nobody. Members not listed are charged the cost itself. With fixed
   * charges, a count-API `release(cost)` must match one earlier `tryReserve(cost)`; other
   * releases are counted in `overReleased()` and change nothing.
   */
  charge?: Partial<Record<K, number>>;
}

const { held: HELD, released: RELEASED, committed: COMMITTED } = PermitCode;
const noParts: never[] = [];

/** @internal Fixed charges as an array: -1 means "the reserved cost". */
function chargesOf(keys: readonly MemberKey[], charge: unknown): number[] {
  if (charge !== undefined && (typeof charge !== 'object' || charge === null)) {
    throw invalid(`option charge must be a record of amounts, got ${describe(charge)}`, { charge });
  }
  const table = (charge ?? {}) as Record<string, unknown>;
  for (const name of Object.keys(table)) {
    if (!keys.some((k) => String(k) === name)) {
      throw invalid(`option charge names ${JSON.stringify(name)}, which is not a member`, {
        member: name,
      });
    }
  }
  return keys.map((k) => {
    const fixed = ownValue(table, String(k));
    if (fixed === undefined) return -1;
    assertAmount(fixed, `charge.${String(k)}`);
    return fixed;
  });
}

/** Whether a permit over `parts` can commit part of `cost` on every member. */
function partialOk(
  caps: BudgetCapabilities,
  parts: readonly { readonly cost: number }[],
  cost: number,
): boolean {
  return caps.partialCommit && parts.every((p) => p.cost === cost);
}

function settleError(errors: unknown[], keys: readonly MemberKey[], at: number[]): void {
  if (errors.length > 0) throw memberFailure(errors[0], keys[at[0]!]!);
}

/**
 * A permit across every member of a synchronous {@link allOf}: settling it settles each
 * member's permit exactly once.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import { allOf } from '@budgetry/compose';
 *
 * const permit = allOf({ a: new AtomicBudget(5), b: new AtomicBudget(5) }).tryAcquireSync(2);
 * permit?.part('a')?.cost; // 2
 * permit?.releaseSync(); // both members get 2 back, once
 * ```
 */
export class SyncAllOfPermit<K extends MemberKey = MemberKey> extends SyncBudgetPermitBase {
  private stateCode: number = HELD;

  /** @internal */
  constructor(
    private readonly owner: SyncAllOf<K>,
    private readonly parts: readonly SyncBudgetPermit[],
    readonly cost: number,
  ) {
    super();
  }

  /** The epoch of the first member's permit (each member fences its own part). */
  get epoch(): number {
    return this.parts[0]?.epoch ?? 0;
  }
  get state(): PermitState {
    return permitStateOf(this.stateCode);
  }

  /**
   * The permit a member issued for this reservation, for example a token permit whose
   * `reservation` is to be reconciled with usage.
   *
   * @param member - the member's key.
   * @returns its permit, or `undefined` for an unknown key or a zero-cost permit.
   */
  part(member: K): SyncBudgetPermit | undefined {
    return this.parts[this.owner.indexOf(member)];
  }

  releaseSync(): boolean {
    return this.settle(RELEASED);
  }
  /**
   * Keep `used` units spent on every member (default all) and return the rest, each member in
   * its own epoch. Partial commit needs every member to declare it and every member to hold
   * the permit's cost (no fixed charges, not {@link SyncAllOf.tryAcquireEachSync}); otherwise
   * a `used` other than the whole cost is refused, changing nothing.
   */
  commitSync(used?: number): boolean {
    if (used !== undefined && checkUsed(used, this.cost) !== this.cost) {
      if (!partialOk(this.owner.capabilities, this.parts, this.cost)) this.wholeCommit(used);
      return this.settle(COMMITTED, used);
    }
    return this.settle(COMMITTED);
  }

  private settle(to: number, used?: number): boolean {
    if (this.stateCode !== HELD) return false;
    this.stateCode = to;
    // Every part is settled even if one throws: a failing member must not strand the others.
    const errors: unknown[] = [];
    const at: number[] = [];
    const parts = this.parts;
    for (let i = 0; i < parts.length; i++) {
      try {
        if (to === RELEASED) parts[i]!.releaseSync();
        else parts[i]!.commitSync(used);
      } catch (error) {
        errors.push(error);
        at.push(i);
      }
    }
    settleError(errors, this.owner.keys, at);
    return true;
  }
}

/**
 * All-of over synchronous members: one reservation that charges every member or none. It is
 * itself a {@link SyncBudgetGuard}, so it nests in other combinators. Build it with
 * {@link allOf}.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import { allOf } from '@budgetry/compose';
 *
 * const both = allOf([new AtomicBudget(10), new AtomicBudget(20)]);
 * if (both.tryReserveSync(5)) both.releaseSync(5);
 * ```
 */
export class SyncAllOf<K extends MemberKey = MemberKey>
  extends SyncGuardBase<SyncAllOfPermit<K>>
  implements SyncBudgetGuard
{
  /** What the members all declare, for uniform charges; synchronous, with a retry hint. */
  readonly capabilities: BudgetCapabilities;
  /** Member keys, in the order they are charged. */
  readonly keys: readonly K[];
  /** The members, in the order they are charged (token budgets behind a guard view). */
  readonly members: readonly SyncBudgetGuard[];
  private readonly fixed: number[];
  /** The first two members when there are exactly two charged the cost: the headline shape. */
  private readonly first: SyncBudgetGuard | undefined;
  private readonly second: SyncBudgetGuard | undefined;
  private countHeld = 0;
  private overReleasedUnits = 0;
  /** How far a pair reservation got, for rollback if a member throws. */
  private step = 0;
  /** With fixed charges: count reservations per cost, so each release matches one. */
  private readonly byCost: Map<number, number> | undefined;

  /** @internal Use {@link allOf}. */
  constructor(keys: K[], members: SyncBudgetGuard[], fixed: number[]) {
    super();
    this.capabilities = combined(members, { sync: true, uniform: fixed.every((f) => f < 0) });
    this.keys = keys;
    this.members = members;
    this.fixed = fixed;
    // Two plain members (rows + tokens) get a loop-free path: direct field calls inline well.
    const pair = members.length === 2 && fixed[0]! < 0 && fixed[1]! < 0;
    this.first = pair ? members[0] : undefined;
    this.second = pair ? members[1] : undefined;
    this.byCost = fixed.some((f) => f >= 0) ? new Map() : undefined;
  }

  /** The smallest capacity among members charged the reserved cost. */
  get capacity(): number {
    let c = Number.MAX_SAFE_INTEGER;
    for (let i = 0; i < this.members.length; i++) {
      if (this.fixed[i]! < 0) c = Math.min(c, this.members[i]!.capacity);
    }
    return c;
  }

  /** The largest cost every member could take right now. */
  available(): number {
    let a = Number.MAX_SAFE_INTEGER;
    for (let i = 0; i < this.members.length; i++) {
      const m = this.members[i]!;
      const f = this.fixed[i]!;
      if (f < 0) a = Math.min(a, m.available());
      else if (m.available() < f) return 0;
    }
    return a;
  }

  /** Units held through the count API. */
  held(): number {
    return this.countHeld;
  }

  /** Units the count API was asked to release beyond what it held (ignored). */
  overReleased(): number {
    return this.overReleasedUnits;
  }

  /** @internal */
  indexOf(key: K): number {
    return this.keys.indexOf(key);
  }

  /**
   * Reserve `cost` on every member, or on none.
   *
   * @param cost - a non-negative safe integer.
   * @returns `true` when every member reserved; `false` when one denied (nothing held).
   * @throws BudgetError when a member throws, after rolling back what was charged.
   */
  tryReserveSync(cost: number): boolean {
    if (!Number.isSafeInteger(cost) || cost < 0) assertAmount(cost, 'cost');
    if (cost === 0) return true;
    const first = this.first;
    if (first !== undefined) return this.reservePair(first, this.second!, cost);
    const ms = this.members;
    const fixed = this.fixed;
    const n = ms.length;
    let i = 0;
    try {
      for (; i < n; i++) {
        const f = fixed[i]!;
        if (!ms[i]!.tryReserveSync(f < 0 ? cost : f)) break;
      }
    } catch (error) {
      this.unreserve(i, cost);
      throw memberFailure(error, this.keys[i]!);
    }
    if (i < n) {
      this.unreserve(i, cost);
      return false;
    }
    this.countHeld += cost;
    if (this.byCost !== undefined) this.byCost.set(cost, (this.byCost.get(cost) ?? 0) + 1);
    return true;
  }

  /**
   * Return `cost` units reserved with {@link SyncAllOf.tryReserveSync} to every member.
   * Units beyond what the count API holds are ignored and counted in `overReleased()`.
   *
   * @param cost - a non-negative safe integer.
   */
  releaseSync(cost: number): void {
    if (!Number.isSafeInteger(cost) || cost < 0) assertAmount(cost, 'cost');
    let accepted = cost;
    const byCost = this.byCost;
    if (byCost !== undefined) {
      // A fixed charge was taken once per reservation, so only a release matching one
      // reservation can return it; anything else would free a row that is still in use.
      const count = byCost.get(cost) ?? 0;
      if (count === 0 || cost === 0) {
        this.overReleasedUnits += cost;
        return;
      }
      if (count === 1) byCost.delete(cost);
      else byCost.set(cost, count - 1);
    } else if (cost > this.countHeld) {
      accepted = this.countHeld;
      this.overReleasedUnits += cost - accepted;
    }
    if (accepted === 0) return;
    this.countHeld -= accepted;
    const first = this.first;
    if (first !== undefined) {
      this.releasePair(first, this.second!, accepted);
      return;
    }
    const ms = this.members;
    const fixed = this.fixed;
    let i = 0;
    try {
      for (; i < ms.length; i++) {
        const f = fixed[i]!;
        ms[i]!.releaseSync(f < 0 ? accepted : f);
      }
    } catch (error) {
      // Release the rest before reporting: a failing member must not strand the others.
      for (let j = i + 1; j < ms.length; j++) {
        const f = fixed[j]!;
        try {
          ms[j]!.releaseSync(f < 0 ? accepted : f);
        } catch {
          // The first failure is the one reported.
        }
      }
      throw memberFailure(error, this.keys[i]!);
    }
  }

  /**
   * Reserve `cost` on every member as one permit.
   *
   * @param cost - a non-negative safe integer.
   * @returns the permit, or `null` when a member denied (nothing held).
   * @throws BudgetError when a member throws, after rolling back what was charged.
   */
  tryAcquireSync(cost: number): SyncAllOfPermit<K> | null {
    const r = this.acquire(cost);
    return typeof r === 'number' ? null : r;
  }

  /**
   * {@link SyncAllOf.tryAcquireSync}, saying which member denied.
   *
   * @param cost - a non-negative safe integer.
   * @returns the permit, or the denying member and, when it knows, `retryAfterMs`.
   */
  tryAcquireDetailedSync(cost: number): Decision<K, SyncAllOfPermit<K>> {
    const r = this.acquire(cost);
    if (typeof r !== 'number') return { ok: true, permit: r };
    return denial(this.keys[r]!, this.members[r]!, this.chargeOf(r, cost));
  }

  /**
   * Reserve a different amount on each member, all or nothing: the general form of
   * {@link SyncAllOf.tryAcquireDetailedSync} (fixed charges do not apply).
   *
   * @param costs - per member: an array in member order, or a record by member key; a
   * member left out of a record is charged 0.
   * @returns the permit (its `cost` is the sum; `part(key).cost` is each member's), or the
   * denying member and, when it knows, `retryAfterMs`.
   * @throws BudgetError `INVALID_ARGUMENT` / `INVALID_AMOUNT` for bad costs, before anything
   * is charged.
   */
  tryAcquireEachSync(
    costs: readonly number[] | Partial<Record<K, number>>,
  ): Decision<K, SyncAllOfPermit<K>> {
    const charges = costVectorOf(this.keys, costs);
    const r = this.acquireVector(charges, sum(charges));
    if (typeof r !== 'number') return { ok: true, permit: r };
    return denial(this.keys[r]!, this.members[r]!, charges[r]!);
  }

  /** {@inheritDoc SyncAllOf.tryAcquireEachSync} */
  async tryAcquireEach(
    costs: readonly number[] | Partial<Record<K, number>>,
  ): Promise<Decision<K, SyncAllOfPermit<K>>> {
    return this.tryAcquireEachSync(costs);
  }

  /**
   * How long until `cost` could be reserved on every member, when their schedules know.
   *
   * @param cost - the units wanted.
   * @returns 0 when it fits now, the longest member wait, or `undefined` when a member that
   * cannot take it now gives no hint.
   */
  retryAfterMs(cost: number): number | undefined {
    assertAmount(cost, 'cost');
    let wait = 0;
    for (let i = 0; i < this.members.length; i++) {
      const m = this.members[i]!;
      const c = this.chargeOf(i, cost);
      if (m.available() >= c) continue;
      const ms = retryAfterOf(m, c);
      if (ms === undefined) return undefined;
      wait = Math.max(wait, ms);
    }
    return wait;
  }

  /** {@inheritDoc SyncAllOf.tryAcquireDetailedSync} */
  async tryAcquireDetailed(cost: number): Promise<Decision<K, SyncAllOfPermit<K>>> {
    return this.tryAcquireDetailedSync(cost);
  }

  private reservePair(a: SyncBudgetGuard, b: SyncBudgetGuard, cost: number): boolean {
    try {
      return this.reservePairUnguarded(a, b, cost);
    } catch (error) {
      throw this.pairFailure(error, this.step, cost);
    }
  }

  private reservePairUnguarded(a: SyncBudgetGuard, b: SyncBudgetGuard, cost: number): boolean {
    this.step = 0;
    if (!a.tryReserveSync(cost)) return false;
    this.step = 1;
    if (!b.tryReserveSync(cost)) {
      this.step = 2;
      a.releaseSync(cost);
      return false;
    }
    this.countHeld += cost;
    return true;
  }

  private pairFailure(error: unknown, step: number, cost: number): BudgetError {
    if (step === 1) this.unreserve(1, cost);
    return memberFailure(error, this.keys[step === 1 ? 1 : 0]!);
  }

  private releasePair(a: SyncBudgetGuard, b: SyncBudgetGuard, cost: number): void {
    try {
      this.releasePairUnguarded(a, b, cost);
    } catch (error) {
      const failed = this.step;
      if (failed === 0) {
        try {
          b.releaseSync(cost);
        } catch {
          // The first failure is the one reported.
        }
      }
      throw memberFailure(error, this.keys[failed]!);
    }
  }

  private releasePairUnguarded(a: SyncBudgetGuard, b: SyncBudgetGuard, cost: number): void {
    this.step = 0;
    a.releaseSync(cost);
    this.step = 1;
    b.releaseSync(cost);
  }

  private chargeOf(i: number, cost: number): number {
    const f = this.fixed[i]!;
    return f < 0 || cost === 0 ? cost : f;
  }

  /** Returns the permit, or the index of the member that denied. */
  private acquire(cost: number): SyncAllOfPermit<K> | number {
    if (!Number.isSafeInteger(cost) || cost < 0) assertAmount(cost, 'cost');
    if (cost === 0) return new SyncAllOfPermit(this, noParts, 0);
    return this.acquireVector(
      this.fixed.map((f) => (f < 0 ? cost : f)),
      cost,
    );
  }

  /** Acquires `charges[i]` on member `i`; returns the permit or the denying index. */
  private acquireVector(charges: readonly number[], cost: number): SyncAllOfPermit<K> | number {
    const ms = this.members;
    const n = ms.length;
    const parts: SyncBudgetPermit[] = [];
    let i = 0;
    try {
      for (; i < n; i++) {
        const p = ms[i]!.tryAcquireSync(charges[i]!);
        if (p === null) break;
        parts.push(p);
      }
    } catch (error) {
      releaseAll(parts);
      throw memberFailure(error, this.keys[i]!);
    }
    if (i < n) {
      releaseAll(parts);
      return i;
    }
    return new SyncAllOfPermit(this, parts, cost);
  }

  private unreserve(upTo: number, cost: number): void {
    for (let j = 0; j < upTo; j++) {
      const f = this.fixed[j]!;
      try {
        this.members[j]!.releaseSync(f < 0 ? cost : f);
      } catch {
        // The original denial or failure is what the caller needs; a member that also fails
        // to roll back is already broken and will fail its next call too.
      }
    }
  }
}

/** @internal Per-member costs from an array or a record, validated in full. */
function costVectorOf(keys: readonly MemberKey[], costs: unknown): number[] {
  if (typeof costs !== 'object' || costs === null) {
    throw invalid(`costs must be an array or a record of amounts, got ${describe(costs)}`, {});
  }
  if (Array.isArray(costs)) {
    if (costs.length !== keys.length) {
      throw invalid(`costs has ${costs.length} entries for ${keys.length} members`, {});
    }
    return costs.map((c: unknown, i) => {
      assertAmount(c, `costs[${i}]`);
      return c;
    });
  }
  const table = costs as Record<string, unknown>;
  for (const name of Object.keys(table)) {
    if (!keys.some((k) => String(k) === name)) {
      throw invalid(`costs names ${JSON.stringify(name)}, which is not a member`, { member: name });
    }
  }
  return keys.map((k) => {
    // Only an absent member is charged 0; a null is a bad amount like any other.
    const given = ownValue(table, String(k));
    const c = given === undefined ? 0 : given;
    assertAmount(c, `costs.${String(k)}`);
    return c;
  });
}

function sum(values: readonly number[]): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

function releaseAll(parts: readonly SyncBudgetPermit[]): void {
  for (const p of parts) {
    try {
      p.releaseSync();
    } catch {
      // See SyncAllOf.unreserve: the first failure is the one reported.
    }
  }
}

function denial<K>(
  key: K,
  member: unknown,
  cost: number,
): { ok: false; deniedBy: K; retryAfterMs?: number } {
  const retryAfterMs = retryAfterOf(member, cost);
  return retryAfterMs === undefined
    ? { ok: false, deniedBy: key }
    : { ok: false, deniedBy: key, retryAfterMs };
}

/**
 * A permit across every member of an asynchronous {@link allOf}: settling it settles each
 * member's permit exactly once.
 *
 * @example
 * ```ts
 * import { AtomicBudget, type PermitBudgetGuard } from '@budgetry/core';
 * import { allOf } from '@budgetry/compose';
 *
 * const remote: PermitBudgetGuard = new AtomicBudget(10); // stands for a remote guard
 * const permit = await allOf({ remote, local: new AtomicBudget(5) }).tryAcquire(3);
 * await permit?.release();
 * ```
 */
export class AllOfPermit<K extends MemberKey = MemberKey> implements BudgetPermit {
  private stateCode: number = HELD;

  /** @internal */
  constructor(
    private readonly owner: AllOf<K>,
    private readonly parts: readonly BudgetPermit[],
    readonly cost: number,
  ) {}

  /** The epoch of the first member's permit (each member fences its own part). */
  get epoch(): number {
    return this.parts[0]?.epoch ?? 0;
  }
  get state(): PermitState {
    return permitStateOf(this.stateCode);
  }

  /**
   * The permit a member issued for this reservation.
   *
   * @param member - the member's key.
   * @returns its permit, or `undefined` for an unknown key or a zero-cost permit.
   */
  part(member: K): BudgetPermit | undefined {
    return this.parts[this.owner.keys.indexOf(member)];
  }

  release(): Promise<boolean> {
    return this.settle(RELEASED);
  }
  /** See {@link SyncAllOfPermit.commitSync}: partial where every member declares it. */
  async commit(used?: number): Promise<boolean> {
    if (used !== undefined && checkUsed(used, this.cost) !== this.cost) {
      if (!partialOk(this.owner.capabilities, this.parts, this.cost)) {
        throw invalid(`this all-of permit commits all of its ${this.cost} units or none`, {
          cost: this.cost,
          used,
        });
      }
      return this.settle(COMMITTED, used);
    }
    return this.settle(COMMITTED);
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await this.settle(RELEASED);
  }

  private async settle(to: number, used?: number): Promise<boolean> {
    if (this.stateCode !== HELD) return false;
    this.stateCode = to;
    const results = await settleEach(this.parts, (p) =>
      to === RELEASED ? p.release() : p.commit(used),
    );
    const errors: unknown[] = [];
    const at: number[] = [];
    results.forEach((r, i) => {
      if (r.status === 'rejected') {
        errors.push(r.reason);
        at.push(i);
      }
    });
    settleError(errors, this.owner.keys, at);
    return true;
  }
}

/**
 * All-of over members of which at least one is asynchronous (a remote guard, say): one
 * reservation that charges every member or none. Members are charged one after another in
 * order and rolled back through their permits, so epoch fencing holds for the rollback too.
 * Build it with {@link allOf}.
 *
 * @example
 * ```ts
 * import { AtomicBudget, type PermitBudgetGuard } from '@budgetry/core';
 * import { allOf } from '@budgetry/compose';
 *
 * const remote: PermitBudgetGuard = new AtomicBudget(10); // stands for a remote guard
 * const both = allOf({ remote, local: new AtomicBudget(5) });
 * const decision = await both.tryAcquireDetailed(6);
 * if (!decision.ok) console.log(decision.deniedBy); // 'local'
 * ```
 */
export class AllOf<K extends MemberKey = MemberKey> implements PermitBudgetGuard {
  /**
   * Partial commit when every member has it and charges are uniform; its count API keeps a
   * permit per reservation, so a release must match one (no pool release).
   */
  readonly capabilities: BudgetCapabilities;
  /** Member keys, in the order they are charged. */
  readonly keys: readonly K[];
  /** The members, in the order they are charged (token budgets behind a guard view). */
  readonly members: readonly PermitBudgetGuard[];
  private readonly fixed: number[];
  private readonly ledger = new CountLedger<AllOfPermit<K>>();

  /** @internal Use {@link allOf}. */
  constructor(keys: K[], members: PermitBudgetGuard[], fixed: number[]) {
    const uniform = fixed.every((f) => f < 0);
    this.capabilities = Object.freeze({
      ...combined(members, { sync: false, uniform }),
      countRelease: false,
      retryHint: false,
    });
    this.keys = keys;
    this.members = members;
    this.fixed = fixed;
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
   * Reserve `cost` on every member as one permit.
   *
   * @param cost - a non-negative safe integer.
   * @returns the permit, or `null` when a member denied (nothing held).
   */
  async tryAcquire(cost: number): Promise<AllOfPermit<K> | null> {
    const r = await this.acquire(cost);
    return typeof r === 'number' ? null : r;
  }

  /**
   * {@link AllOf.tryAcquire}, saying which member denied.
   *
   * @param cost - a non-negative safe integer.
   * @returns the permit, or the denying member and, when it knows, `retryAfterMs`.
   */
  async tryAcquireDetailed(cost: number): Promise<Decision<K, AllOfPermit<K>>> {
    const r = await this.acquire(cost);
    if (typeof r !== 'number') return { ok: true, permit: r };
    const f = this.fixed[r]!;
    return denial(this.keys[r]!, this.members[r]!, f < 0 || cost === 0 ? cost : f);
  }

  /**
   * Count API over permits: reserve `cost` on every member.
   *
   * @param cost - a non-negative safe integer.
   * @returns `true` when every member reserved.
   */
  async tryReserve(cost: number): Promise<boolean> {
    return this.ledger.keep(cost, await this.tryAcquire(cost));
  }

  /**
   * Release one count reservation of exactly `cost`; without one, the call is counted in
   * `overReleased()` and changes nothing.
   *
   * @param cost - a non-negative safe integer.
   */
  async release(cost: number): Promise<void> {
    assertAmount(cost, 'cost');
    await this.ledger.take(cost)?.release();
  }

  /**
   * Reserve a different amount on each member, all or nothing (fixed charges do not apply).
   *
   * @param costs - per member: an array in member order, or a record by member key; a
   * member left out of a record is charged 0.
   * @returns the permit (its `cost` is the sum), or the denying member and `retryAfterMs`.
   */
  async tryAcquireEach(
    costs: readonly number[] | Partial<Record<K, number>>,
  ): Promise<Decision<K, AllOfPermit<K>>> {
    const charges = costVectorOf(this.keys, costs);
    const r = await this.acquireVector(charges, sum(charges));
    if (typeof r !== 'number') return { ok: true, permit: r };
    return denial(this.keys[r]!, this.members[r]!, charges[r]!);
  }

  private async acquire(cost: number): Promise<AllOfPermit<K> | number> {
    assertAmount(cost, 'cost');
    if (cost === 0) return new AllOfPermit(this, noParts, 0);
    return this.acquireVector(
      this.fixed.map((f) => (f < 0 ? cost : f)),
      cost,
    );
  }

  private async acquireVector(
    charges: readonly number[],
    cost: number,
  ): Promise<AllOfPermit<K> | number> {
    const parts: BudgetPermit[] = [];
    let i = 0;
    try {
      for (; i < this.members.length; i++) {
        const p = await this.members[i]!.tryAcquire(charges[i]!);
        if (p === null) break;
        parts.push(p);
      }
    } catch (error) {
      await settleEach(parts, (p) => p.release());
      throw memberFailure(error, this.keys[i]!);
    }
    if (i < this.members.length) {
      await settleEach(parts, (p) => p.release());
      return i;
    }
    return new AllOfPermit(this, parts, cost);
  }
}

/**
 * One reservation across several budgets, all or nothing: a row guard *and* a token budget,
 * requests-per-minute *and* a concurrency limit. Members are charged in order; if one denies
 * or throws, every member already charged is rolled back exactly once, and a detailed
 * reservation says which member denied and, where its refill schedule knows, when to retry.
 *
 * When to use: a dispatch must fit several limits at once and the cost is one number (or a
 * number plus fixed charges, via `charge`). Members may be guards or token budgets (a token
 * budget is charged an estimate; reconcile it through `permit.part(key)`), named by record
 * key or array index. Over synchronous members the result is a {@link SyncAllOf} with an
 * allocation-free count API; otherwise an {@link AllOf}. For per-dimension costs and
 * reconciliation with measured usage, use the {@link coordinator}.
 *
 * @param members - an array or record of guards and token budgets, none given twice.
 * @param options - fixed charges for some members.
 * @returns the combined guard.
 * @throws BudgetError `INVALID_ARGUMENT` for no members, a member given twice, a value that
 * is not a budget, or a bad `charge`.
 *
 * @example
 * ```ts
 * import { AtomicBudget, AtomicTokenBudget } from '@budgetry/core';
 * import { allOf } from '@budgetry/compose';
 *
 * const rows = new AtomicBudget(10_000);
 * const tokens = new AtomicTokenBudget(100_000);
 * const both = allOf({ rows, tokens }, { charge: { rows: 1 } });
 * const decision = both.tryAcquireDetailedSync(1_200); // 1 row and 1 200 tokens
 * if (decision.ok) {
 *   decision.permit.releaseSync();
 * } else {
 *   console.log(decision.deniedBy, decision.retryAfterMs);
 * }
 * ```
 */
export function allOf<const T extends Members<SyncMember>>(
  members: T,
  options?: AllOfOptions<KeyOf<T>>,
): SyncAllOf<KeyOf<T>>;
export function allOf<const T extends Members<AnyMember>>(
  members: T,
  options?: AllOfOptions<KeyOf<T>>,
): AllOf<KeyOf<T>> | SyncAllOf<KeyOf<T>>;
export function allOf(
  members: Members<AnyMember>,
  options: AllOfOptions<MemberKey> = {},
): AllOf | SyncAllOf {
  if (typeof options !== 'object' || options === null) {
    throw invalid(`allOf options must be an object, got ${describe(options)}`, {});
  }
  const list = toMemberList(members, 'allOf', acceptMember);
  const fixed = chargesOf(list.keys, options.charge);
  if (list.budgets.every(isSyncGuard)) {
    return new SyncAllOf(list.keys, list.budgets as SyncBudgetGuard[], fixed);
  }
  return new AllOf(list.keys, list.budgets, fixed);
}
