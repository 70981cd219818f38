import {
  assertAmount,
  type BudgetCapabilities,
  type BudgetPermit,
  checkUsed,
  type Decision,
  type PermitBudgetGuard,
  type PermitState,
  permitStateOf,
} from '@budgetry/core';
import { combined } from '../internal/capabilities.js';
import { allOfCeiling, type CeilingReading, ceilingKey } from '../internal/ceiling.js';
import {
  CountLedger,
  discardPermit,
  type Epochs,
  type Fence,
  ResetEpochs,
  stillLive,
} from '../internal/count-ledger.js';
import { denial } from '../internal/denial.js';
import { invalid, type MemberKey, memberFailure, settleEach } from '../internal/member-list.js';
import { costVectorOf, totalOf } from './costs.js';
import { COMMITTED, chargeOf, HELD, noParts, partialOk, RELEASED, settleParts } from './parts.js';

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
  /** A settle failed: the next one settles only the parts it left held. */
  private retrying = false;

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

  /**
   * Release every member's part, each once.
   *
   * @returns `true` if this call settled the permit, `false` if it was already settled. A
   * retry after a failure answers as its members' permits do: `true` only if it settled a
   * part, so `false` when the attempt that failed had settled them all (a remote member that
   * applied the settle and lost its answer).
   * @throws BudgetError `BACKEND` naming the first member that failed (or that member's own
   * `BudgetError`), after every other part was settled. The permit then stays `held`:
   * releasing (or committing) it again settles only the parts still held, as
   * {@link SyncAllOfPermit.releaseSync} does.
   */
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
    // Set first: a second settle while this one awaits its members answers false.
    this.stateCode = to;
    let settled: boolean;
    try {
      settled = await settleParts(this.parts, to, used, this.owner.keys);
    } catch (error) {
      // Held again: settling again retries the parts still held (the others answer false).
      this.stateCode = HELD;
      this.retrying = true;
      throw error;
    }
    return settled || !this.retrying;
  }
}

/** A count reservation: the members' permits, and their epochs when it was taken. */
interface CountEntry {
  readonly parts: readonly BudgetPermit[];
  readonly epochs: Epochs;
}

const noEpochs: Epochs = [];

/** Drops count reservations every member that holds a part of has fenced off. */
function fenceOf(epochs: ResetEpochs): Fence<CountEntry> {
  return {
    epochs: () => epochs.now(),
    live: (e, now) =>
      e.parts.some((p, i) => p.cost > 0 && p.state === 'held' && stillLive(e.epochs[i], now, i)),
    discard: (e) => {
      for (const p of e.parts) discardPermit(p);
    },
  };
}

/**
 * All-of over members of which at least one is asynchronous (a remote guard, say): one
 * reservation that charges every member or none. Members are charged one after another in
 * order and rolled back through their permits, so epoch fencing holds for the rollback too.
 * A member that throws from `tryAcquire` is taken as uncharged: if it had issued a permit, no
 * one holds it to settle. Build it with {@link allOf}.
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
  private readonly epochs: ResetEpochs;
  private readonly ledger: CountLedger<CountEntry>;

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
    this.epochs = new ResetEpochs(members);
    this.ledger = new CountLedger(this.epochs.any ? fenceOf(this.epochs) : undefined);
  }

  /** @internal The largest cost this all-of could ever grant (see `allOfCeiling`). */
  [ceilingKey](of: CeilingReading): number {
    return allOfCeiling(this.members, this.fixed, of);
  }

  /**
   * Units held through the count API (at most 2^53 − 1): reservations a `reset` refill fenced
   * off on every member that holds a part of them no longer count.
   */
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
    return typeof r === 'number' ? null : new AllOfPermit(this, r, cost);
  }

  /**
   * {@link AllOf.tryAcquire}, saying which member denied.
   *
   * @param cost - a non-negative safe integer.
   * @returns the permit, or the denying member and, when it knows, `retryAfterMs`.
   */
  async tryAcquireDetailed(cost: number): Promise<Decision<K, AllOfPermit<K>>> {
    const r = await this.acquire(cost);
    if (typeof r !== 'number') return { ok: true, permit: new AllOfPermit(this, r, cost) };
    return denial(this.keys[r]!, this.members[r]!, chargeOf(this.fixed, r, cost));
  }

  /**
   * Count API over permits: reserve `cost` on every member.
   *
   * @param cost - a non-negative safe integer.
   * @returns `true` when every member reserved.
   */
  async tryReserve(cost: number): Promise<boolean> {
    const r = await this.acquire(cost);
    if (typeof r === 'number') return false;
    this.ledger.push(cost, { parts: r, epochs: this.epochs.any ? this.epochs.now() : noEpochs });
    return true;
  }

  /**
   * Release one count reservation of exactly `cost`; without one, the call is counted in
   * `overReleased()` and changes nothing.
   *
   * @param cost - a non-negative safe integer.
   * @throws BudgetError `BACKEND` naming the first member that failed, after every other
   * member was released. The parts still held stay recorded, so releasing `cost` again
   * retries them (and only them).
   */
  async release(cost: number): Promise<void> {
    assertAmount(cost, 'cost');
    const entry = this.ledger.take(cost);
    if (entry === undefined) return;
    try {
      await settleParts(entry.parts, RELEASED, undefined, this.keys);
    } catch (error) {
      if (entry.parts.some((p) => p.state === 'held')) this.ledger.push(cost, entry);
      throw error;
    }
  }

  /**
   * Reserve a different amount on each member, all or nothing (fixed charges do not apply).
   *
   * @param costs - per member: an array in member order, or a record by member key; a
   * member left out of a record is charged 0.
   * @returns the permit (its `cost` is the sum), or the denying member and `retryAfterMs`.
   * @throws BudgetError `INVALID_ARGUMENT` / `INVALID_AMOUNT` for bad costs, or costs that sum
   * to more than 2^53 − 1, before anything is charged.
   */
  async tryAcquireEach(
    costs: readonly number[] | Partial<Record<K, number>>,
  ): Promise<Decision<K, AllOfPermit<K>>> {
    const charges = costVectorOf(this.keys, costs);
    const cost = totalOf(charges);
    const r = await this.acquireVector(charges);
    if (typeof r !== 'number') return { ok: true, permit: new AllOfPermit(this, r, cost) };
    return denial(this.keys[r]!, this.members[r]!, charges[r]!);
  }

  /** The members' permits for `cost`, or the index of the member that denied. */
  private async acquire(cost: number): Promise<BudgetPermit[] | number> {
    assertAmount(cost, 'cost');
    if (cost === 0) return noParts;
    return this.acquireVector(this.fixed.map((f) => (f < 0 ? cost : f)));
  }

  private async acquireVector(charges: readonly number[]): Promise<BudgetPermit[] | number> {
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
    return parts;
  }
}
