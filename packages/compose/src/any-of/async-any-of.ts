import {
  assertAmount,
  type BudgetCapabilities,
  type BudgetPermit,
  type PermitBudgetGuard,
} from '@budgetry/core';
import { combined } from '../internal/capabilities.js';
import { anyOfCeiling, type CeilingReading, ceilingKey } from '../internal/ceiling.js';
import {
  CountLedger,
  discardPermit,
  type Fence,
  ResetEpochs,
  stillLive,
} from '../internal/count-ledger.js';
import { type MemberKey, memberFailure } from '../internal/member-list.js';
import { type AnyOfDecision, anyDenial } from './denial.js';
import { type AnyOfPermit, AnyOfPermitImpl } from './permits.js';

/** A count reservation: the permit, and its member's epoch when it was taken. */
interface CountEntry {
  readonly permit: AnyOfPermitImpl<MemberKey>;
  readonly epoch: number | undefined;
}

/** Drops count reservations whose member fenced them off (or that were settled). */
function fenceOf(epochs: ResetEpochs): Fence<CountEntry> {
  return {
    epochs: () => epochs.now(),
    live: (e, now) => e.permit.state === 'held' && stillLive(e.epoch, now, e.permit.index),
    discard: (e) => discardPermit(e.permit.inner),
  };
}

/**
 * Any-of over members of which at least one is asynchronous: members are tried one after
 * another in priority order. A member that throws from `tryAcquire` is taken as uncharged:
 * if it had issued a permit, no one holds it to settle. Build it with {@link anyOf}.
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
  private readonly epochs: ResetEpochs;
  private readonly ledger: CountLedger<CountEntry>;

  /** @internal Use {@link anyOf}. */
  constructor(keys: K[], members: PermitBudgetGuard[]) {
    this.capabilities = Object.freeze({
      ...combined(members, { sync: false, uniform: true }),
      countRelease: false,
      retryHint: false,
    });
    this.keys = keys;
    this.members = members;
    this.epochs = new ResetEpochs(members);
    this.ledger = new CountLedger(this.epochs.any ? fenceOf(this.epochs) : undefined);
  }

  /** @internal The largest cost this any-of could ever grant (see `anyOfCeiling`). */
  [ceilingKey](of: CeilingReading): number {
    return anyOfCeiling(this.members, of);
  }

  /**
   * Units held through the count API, exact at any size; reads at most 2^53 − 1.
   * Reservations a member fenced off at a `reset` refill no longer count.
   */
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
    return this.acquire(cost);
  }

  /**
   * {@link AnyOf.tryAcquire}, with the soonest retry any member knows on denial.
   *
   * @param cost - a non-negative safe integer.
   * @returns the permit, or every member's key in `deniedBy` and, when known, `retryAfterMs`.
   */
  async tryAcquireDetailed(cost: number): Promise<AnyOfDecision<K, AnyOfPermit<K>>> {
    const permit = await this.acquire(cost);
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
    const permit = await this.acquire(cost);
    if (permit === null) return false;
    this.ledger.push(cost, { permit, epoch: this.epochs.stamp(permit.index) });
    return true;
  }

  /**
   * Release one count reservation of exactly `cost`; without one, nothing changes.
   *
   * @param cost - a non-negative safe integer.
   * @throws BudgetError `BACKEND` naming the member when its release fails; a reservation
   * its member did not settle stays recorded, so releasing `cost` again retries it.
   */
  async release(cost: number): Promise<void> {
    assertAmount(cost, 'cost');
    const entry = this.ledger.take(cost);
    if (entry === undefined) return;
    try {
      await entry.permit.release();
    } catch (error) {
      if (entry.permit.state === 'held') this.ledger.push(cost, entry);
      throw error;
    }
  }

  private async acquire(cost: number): Promise<AnyOfPermitImpl<K> | null> {
    assertAmount(cost, 'cost');
    for (let i = 0; i < this.members.length; i++) {
      let p: BudgetPermit | null;
      try {
        p = await this.members[i]!.tryAcquire(cost);
      } catch (error) {
        throw memberFailure(error, this.keys[i]!);
      }
      if (p !== null) return new AnyOfPermitImpl(this.keys[i]!, p, i);
    }
    return null;
  }
}
