import {
  assertAmount,
  type BudgetCapabilities,
  type Decision,
  type SyncBudgetGuard,
  type SyncBudgetPermit,
  SyncGuardBase,
} from '@budgetry/core';
import { combined } from '../internal/capabilities.js';
import { allOfCeiling, type CeilingReading, ceilingKey } from '../internal/ceiling.js';
import { saturatingAdd } from '../internal/count-ledger.js';
import { denial } from '../internal/denial.js';
import { type MemberKey, memberFailure } from '../internal/member-list.js';
import { costVectorOf, FixedTally, totalOf } from './costs.js';
import {
  type CoreCounter,
  type CountMembers,
  corePosition,
  countMembersOf,
  pairFailure,
  releaseEach,
  releaseEvery,
  reserveEach,
  reserveProbed,
  unrecorded,
} from './count-loops.js';
import {
  chargeOf,
  commonAvailable,
  longestWait,
  noParts,
  releaseAll,
  smallestCapacity,
} from './parts.js';
import { reserveProbedPair } from './rollback.js';
import { SyncAllOfPermit } from './sync-permit.js';

const isSafe = Number.isSafeInteger;

/**
 * All-of over synchronous members: one reservation that charges every member or none. It is
 * itself a {@link SyncBudgetGuard}, so it nests in other combinators. Build it with
 * {@link allOf}.
 *
 * When a member throws while being charged through the count API, the members before it are
 * rolled back, and so is that member if it had charged before throwing: if its availability,
 * read just before the call, fell by exactly its charge. Otherwise it is taken as uncharged,
 * so nothing is ever returned to a member that did not take it. Core's `AtomicBudget`,
 * `AtomicTokenBudget` (behind its guard view) and `TokenBucket` throw only before changing
 * anything, so theirs is not read (decided when allOf is built: a method replaced on such a
 * member later is taken at the same word). A member that throws from `tryAcquireSync` after
 * issuing its permit keeps that permit's units: nobody holds the handle (core budgets' leak
 * backstop returns them when it is collected). A frozen all-of cannot write down what its
 * count API holds as one pool: it refuses with `BACKEND`, charging and releasing nothing
 * (permits, and reservations kept one by one, still work: see `releaseSync`).
 *
 * Over core's `AtomicBudget`s and `AtomicTokenBudget`s, the count API changes the members'
 * counts in place when each says its own method would do only that (nobody observing it, no
 * refill schedule, the method not replaced on the instance); otherwise every member is charged
 * through its own method, in member order, with the results described here.
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
  /**
   * The members, in the order they are charged (token budgets behind a guard view). A view
   * allOf made for a core `AtomicTokenBudget` is not called by the count API, which goes to
   * the budget itself: replacing methods on such a view changes nothing.
   */
  readonly members: readonly SyncBudgetGuard[];
  private readonly fixed: number[];
  /** A pair of members of which one may throw after charging: its availability is read first. */
  private readonly probedPair: boolean;
  /** @internal The members as the count loops see them (see `CountMembers`). */
  protected readonly loops: CountMembers;
  /** Every member fails clean and is charged the cost: the tight loops, nothing read first. */
  private readonly clean: boolean;
  /** @internal Uniform charges: units held through the count API, saturating at 2^53 − 1. */
  protected countHeld = 0;
  private overReleasedUnits = 0;
  /**
   * Count reservations per cost, so each release matches one: with fixed charges, or a
   * member whose count API is not one pool (it does not declare `countRelease`).
   */
  private readonly tally: FixedTally | undefined;
  /**
   * The headline shape's two positions: members that are one or two core budgets charged the
   * cost (a filler second for one), changed in place by the count API itself; else undefined.
   */
  private readonly coreA: CoreCounter | undefined;
  private readonly coreB: CoreCounter | undefined;
  /** Two other members that fail clean and are charged the cost: their own count API. */
  private readonly cleanPair: boolean;

  /** @internal Use {@link allOf}. */
  constructor(
    keys: K[],
    members: SyncBudgetGuard[],
    fixed: number[],
    loops: CountMembers = countMembersOf(keys, members, fixed),
  ) {
    super();
    this.capabilities = combined(members, { sync: true, uniform: fixed.every((f) => f < 0) });
    this.keys = keys;
    this.members = members;
    this.fixed = fixed;
    this.loops = loops;
    const clean = !loops.probes.some((p) => p);
    this.clean = clean && fixed.every((f) => f < 0);
    this.probedPair = members.length === 2 && !clean && fixed[0]! < 0 && fixed[1]! < 0;
    this.tally = this.capabilities.countRelease ? undefined : new FixedTally();
    const core =
      this.tally === undefined && loops.core !== undefined && loops.core.length <= 2
        ? loops.core
        : undefined;
    this.coreA = core && corePosition(core, 0);
    this.coreB = core && corePosition(core, 1);
    this.cleanPair = core === undefined && members.length === 2 && this.clean;
  }

  /** The smallest capacity among members charged the reserved cost. */
  get capacity(): number {
    return smallestCapacity(this.members, this.fixed);
  }

  /** @internal The largest cost this all-of could ever grant (see `allOfCeiling`). */
  [ceilingKey](of: CeilingReading): number {
    return allOfCeiling(this.members, this.fixed, of);
  }

  /** The largest cost every member could take right now. */
  available(): number {
    return commonAvailable(this.members, this.fixed);
  }

  /**
   * Units held through the count API, at most 2^53 − 1. Kept per reservation (fixed charges,
   * or a member that is not one pool) this is exact at any size (a cost no member is charged
   * is bounded by no capacity) and reads 2^53 − 1 while the true total is larger. Otherwise,
   * units past 2^53 − 1 outstanding (possible only
   * through members that keep no bound on what a count reservation holds, such as rate
   * limiters, or reservations a `reset` refill made members forget) are taken as spent, as
   * core's token bucket does: a later release of them is an over-release.
   */
  held(): number {
    return this.tally === undefined ? this.countHeld : this.tally.held;
  }

  /** Units the count API was asked to release beyond what it held (ignored), at most 2^53 − 1. */
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
   * @throws BudgetError when a member throws, after rolling back what was charged (see the
   * class notes for a member that throws after charging).
   */
  tryReserveSync(cost: number): boolean {
    const a = this.coreA;
    // Both positions are asked before either changes (see `CoreAllOf`); a frozen one throws.
    if (a !== undefined && isSafe(cost) && cost > 0 && a.countFits(cost)) {
      const b = this.coreB!;
      if (b.countFits(cost)) {
        let k = 0;
        try {
          a.countTake(cost);
          k = 1;
          b.countTake(cost);
          k = 2;
          // Inside the try: an all-of whose state was made read-only undoes the takes.
          this.countHeld = saturatingAdd(this.countHeld, cost);
        } catch {
          if (k === 2) b.countGive(cost);
          if (k !== 0) a.countGive(cost);
          return this.countGeneral(false, cost);
        }
        return true;
      }
    }
    return this.countGeneral(false, cost);
  }

  /**
   * Return `cost` units reserved with {@link SyncAllOf.tryReserveSync} to every member.
   * Units beyond what the count API holds are ignored and counted in `overReleased()`. When
   * the all-of does not declare `countRelease` (fixed charges, or a member such as an any-of
   * whose count API returns only whole reservations), `cost` must match one reservation:
   * any other release is ignored and counted, so no member is handed a release it cannot
   * honour while the others take theirs back.
   *
   * @param cost - a non-negative safe integer.
   * @throws BudgetError from the first member that failed, after every other member was
   * released: `BACKEND` naming it, or the member's own `BudgetError` as it threw it. The
   * release counts as done (the count API cannot tell a retry from the release of another
   * reservation): that member's share is as it left it; release it on the member directly if
   * it did not return it.
   */
  releaseSync(cost: number): void {
    const a = this.coreA;
    if (
      a !== undefined &&
      isSafe(cost) &&
      cost > 0 &&
      cost <= this.countHeld &&
      a.countHolds(cost)
    ) {
      const b = this.coreB!;
      if (b.countHolds(cost)) {
        let k = 0;
        try {
          a.countGive(cost);
          k = 1;
          b.countGive(cost);
          k = 2;
          this.countHeld -= cost;
        } catch {
          if (k === 2) b.countTake(cost);
          if (k !== 0) a.countTake(cost);
          this.countGeneral(true, cost);
        }
        return;
      }
    }
    this.countGeneral(true, cost);
  }

  /**
   * @internal The count API through the members' own methods, both ways (`release` false:
   * {@link SyncAllOf.tryReserveSync}, returning whether it reserved; true:
   * {@link SyncAllOf.releaseSync}), for every shape and cost, with the errors and denials the
   * members give. A pair of members that fail clean (not core budgets) is reserved here by
   * their own count API in turn, and released by the general loop.
   */
  protected countGeneral(release: boolean, cost: number): boolean {
    if (!isSafe(cost) || cost < 0) assertAmount(cost, 'cost');
    const loops = this.loops;
    if (release) {
      if (cost === 0) return true;
      let accepted = cost;
      const tally = this.tally;
      if (tally !== undefined) {
        // A fixed charge was taken once per reservation, and a member that is not one pool
        // returns whole reservations only: a release must match one, or it would free units
        // still in use, or leave a member holding what the others gave back.
        if (!tally.remove(cost)) {
          this.record(this.countHeld, cost, null);
          return true;
        }
      } else {
        if (cost > this.countHeld) accepted = this.countHeld;
        this.record(this.countHeld - accepted, cost - accepted, null);
      }
      if (accepted === 0) return true;
      if (this.clean) releaseEach(loops, accepted);
      else releaseEvery(loops, accepted);
      return true;
    }
    if (cost === 0) return true;
    if (this.cleanPair) {
      // Two members that fail clean, charged the cost: their own count API, in turn.
      const first = loops.calls[0]!;
      let step = 0;
      try {
        if (!first.tryReserveSync(cost)) return false;
        step = 1;
        if (!loops.calls[1]!.tryReserveSync(cost)) {
          step = 2;
          first.releaseSync(cost);
          return false;
        }
      } catch (error) {
        throw pairFailure(loops, error, step, cost);
      }
    } else if (this.probedPair) {
      if (!reserveProbedPair(this.members, this.keys, cost)) return false;
    } else if (!(this.clean ? reserveEach(loops, cost) : reserveProbed(loops, cost))) {
      return false;
    }
    if (this.tally !== undefined) {
      this.tally.add(cost);
      return true;
    }
    this.record(saturatingAdd(this.countHeld, cost), 0, cost);
    return true;
  }

  /**
   * Writes down what the count API holds and `over` more units over-released, both or neither.
   * Read-only state (a frozen all-of): the `reserved` units go back (`unrecorded`).
   */
  private record(held: number, over: number, reserved: number | null): void {
    const before = this.overReleasedUnits;
    try {
      if (over > 0) this.overReleasedUnits = saturatingAdd(before, over);
      this.countHeld = held;
    } catch (error) {
      if (this.overReleasedUnits !== before) this.overReleasedUnits = before;
      throw unrecorded(this.loops, reserved, error);
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
    return denial(this.keys[r]!, this.members[r]!, chargeOf(this.fixed, r, cost));
  }

  /**
   * Reserve a different amount on each member, all or nothing: the general form of
   * {@link SyncAllOf.tryAcquireDetailedSync} (fixed charges do not apply).
   *
   * @param costs - per member: an array in member order, or a record by member key; a
   * member left out of a record is charged 0.
   * @returns the permit (its `cost` is the sum; `part(key).cost` is each member's), or the
   * denying member and, when it knows, `retryAfterMs`.
   * @throws BudgetError `INVALID_ARGUMENT` / `INVALID_AMOUNT` for bad costs, or costs that sum
   * to more than 2^53 − 1, before anything is charged.
   */
  tryAcquireEachSync(
    costs: readonly number[] | Partial<Record<K, number>>,
  ): Decision<K, SyncAllOfPermit<K>> {
    const charges = costVectorOf(this.keys, costs);
    const r = this.acquireVector(charges, totalOf(charges));
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
   * cannot take it now cannot say when (a waiting line with anyone in it, though it has room).
   */
  retryAfterMs(cost: number): number | undefined {
    assertAmount(cost, 'cost');
    return longestWait(this.members, this.fixed, cost);
  }

  /** {@inheritDoc SyncAllOf.tryAcquireDetailedSync} */
  async tryAcquireDetailed(cost: number): Promise<Decision<K, SyncAllOfPermit<K>>> {
    return this.tryAcquireDetailedSync(cost);
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
}
