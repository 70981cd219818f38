import {
  assertAmount,
  type BudgetCapabilities,
  type SyncBudgetGuard,
  type SyncBudgetPermit,
  SyncGuardBase,
} from '@budgetry/core';
import { combined } from '../internal/capabilities.js';
import { anyOfCeiling, type CeilingReading, ceilingKey } from '../internal/ceiling.js';
import {
  CountLedger,
  type CountReading,
  chargedBy,
  ResetEpochs,
  readCount,
  returnedBy,
  stillLive,
} from '../internal/count-ledger.js';
import { failsClean } from '../internal/member-kind.js';
import { type MemberKey, memberFailure } from '../internal/member-list.js';
import type { AnyOfStrategy } from './any-of.js';
import { type AnyOfDecision, anyDenial, soonestWait } from './denial.js';
import { type SyncAnyOfPermit, SyncAnyOfPermitImpl } from './permits.js';

/** A count reservation: the member that took it, and its epoch then. */
interface CountEntry {
  readonly member: number;
  readonly epoch: number | undefined;
}

/**
 * Any-of over synchronous members: the first member that admits is charged, and only it.
 * Build it with {@link anyOf}.
 *
 * A member that throws while taking a count reservation is released again if it had charged
 * before throwing (its availability, read just before the call, fell by exactly the cost), and
 * the error is thrown; a member that throws from `tryAcquireSync` after issuing its permit
 * keeps that permit's units (nobody holds the handle; core budgets' leak backstop returns them
 * when it is collected).
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
  private readonly epochs: ResetEpochs;
  private readonly ledger: CountLedger<CountEntry>;
  /** Per member: it throws only before changing anything, so a failure needs no reading. */
  private readonly clean: readonly boolean[];

  /** @internal Use {@link anyOf}. */
  constructor(keys: K[], members: SyncBudgetGuard[], strategy: AnyOfStrategy) {
    super();
    this.capabilities = Object.freeze({
      ...combined(members, { sync: true, uniform: true }),
      countRelease: false,
    });
    this.keys = keys;
    this.members = members;
    this.clean = members.map(failsClean);
    this.strategy = strategy;
    const epochs = new ResetEpochs(members);
    this.epochs = epochs;
    // A member under `reset` forgets its count reservations at a refill: so does the record.
    this.ledger = new CountLedger(
      epochs.any
        ? {
            epochs: () => epochs.now(),
            live: (e, now) => stillLive(e.epoch, now, e.member),
            discard: () => {},
          }
        : undefined,
    );
  }

  /** The largest member capacity. */
  get capacity(): number {
    return Math.max(...this.members.map((m) => m.capacity));
  }

  /** @internal The largest cost this any-of could ever grant (see `anyOfCeiling`). */
  [ceilingKey](of: CeilingReading): number {
    return anyOfCeiling(this.members, of);
  }

  /** The largest cost some member could take right now. */
  available(): number {
    let a = 0;
    for (const m of this.members) a = Math.max(a, m.available());
    return a;
  }

  /**
   * Units held through the count API, summed over the members and exact at any size; reads
   * at most 2^53 − 1. Reservations a member forgot at a `reset` refill no longer count.
   */
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
   * @throws BudgetError `BACKEND` naming a member that threw, after releasing what it had
   * charged (see the class notes).
   */
  tryReserveSync(cost: number): boolean {
    assertAmount(cost, 'cost');
    for (const i of this.order(cost)) {
      const m = this.members[i]!;
      let before = Number.NaN;
      let ok: boolean;
      // Read before the reservation: a refill boundary passing during the call makes the
      // epoch read after it the next one, though the units may have been charged (and since
      // forgotten) in this one. The earlier epoch is the safe stamp: at worst a reservation
      // of the new epoch is not returned by a count release before the member's next refill;
      // stamped with the new epoch, a release could return units another caller holds.
      const epoch = this.epochs.stamp(i);
      try {
        if (!this.clean[i]) before = m.available();
        ok = m.tryReserveSync(cost);
      } catch (error) {
        if (!this.clean[i] && chargedBy(m, cost, before)) rollBack(m, cost);
        throw memberFailure(error, this.keys[i]!);
      }
      if (ok) {
        this.ledger.push(cost, { member: i, epoch });
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
   * @throws BudgetError `BACKEND` naming the member when its release throws (or the member's
   * own `BudgetError`). Unless the member took the release as done before throwing (its
   * availability rose, or its own `held()` fell, as an all-of's does once its other members
   * took their units back), the reservation stays recorded and this any-of's `held()` is
   * unchanged, so releasing `cost` again retries it. When `held()` fell, the reservation is
   * gone: release again and another reservation of `cost` would be given back.
   */
  releaseSync(cost: number): void {
    assertAmount(cost, 'cost');
    const entry = this.ledger.take(cost);
    if (entry === undefined) return;
    const m = this.members[entry.member]!;
    let before: CountReading | undefined;
    try {
      if (!this.clean[entry.member]) before = readCount(m);
      m.releaseSync(cost);
    } catch (error) {
      if (before === undefined || !returnedBy(m, before)) this.ledger.push(cost, entry);
      throw memberFailure(error, this.keys[entry.member]!);
    }
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
   * @returns 0 when some member would take it now, else milliseconds, or `undefined` when no
   * member can say (a waiting line with anyone in line cannot, though it has room).
   */
  retryAfterMs(cost: number): number | undefined {
    assertAmount(cost, 'cost');
    return soonestWait(this.members, cost);
  }

  /** {@inheritDoc SyncAnyOf.tryAcquireDetailedSync} */
  async tryAcquireDetailed(cost: number): Promise<AnyOfDecision<K, SyncAnyOfPermit<K>>> {
    return this.tryAcquireDetailedSync(cost);
  }

  private order(cost: number): number[] {
    const idx = this.members.map((_, i) => i);
    if (this.strategy === 'priority') return idx;
    // Largest free share first; ties keep priority order (sort is stable).
    const share = this.members.map((m, i) => {
      try {
        return m.capacity === 0 ? (cost === 0 ? 1 : 0) : m.available() / m.capacity;
      } catch (error) {
        throw memberFailure(error, this.keys[i]!);
      }
    });
    return idx.sort((a, b) => share[b]! - share[a]!);
  }
}

/** Returns what a member that threw had charged; a second failure is already reported. */
function rollBack(member: SyncBudgetGuard, cost: number): void {
  try {
    member.releaseSync(cost);
  } catch {
    // The member's first failure is the one reported; it is broken and will fail again.
  }
}
