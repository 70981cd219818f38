import {
  checkUsed,
  type PermitState,
  permitStateOf,
  type SyncBudgetPermit,
  SyncBudgetPermitBase,
} from '@budgetry/core';
import type { MemberKey } from '../internal/member-list.js';
import { COMMITTED, HELD, partialOk, RELEASED, settleError } from './parts.js';
import type { SyncAllOf } from './sync-all-of.js';

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

  /**
   * Release every member's part, each once.
   *
   * @returns `true` if this call settled the permit, `false` if it was already settled.
   * @throws BudgetError `BACKEND` naming the first member that failed (or that member's own
   * `BudgetError`), after every other part was settled. The permit then stays `held`:
   * releasing (or committing) it again settles only the parts still held, since a member's
   * permit answers `false` once settled. So a coordinator, an any-of or a waiting line that
   * retries a failed settle retries the failing member, and nobody strands its units. Each
   * part is also reachable through {@link SyncAllOfPermit.part}.
   */
  releaseSync(): boolean {
    return this.settle(RELEASED);
  }
  /**
   * Keep `used` units spent on every member (default all) and return the rest, each member in
   * its own epoch. Partial commit needs every member to declare it and every member to hold
   * the permit's cost (no fixed charges, not {@link SyncAllOf.tryAcquireEachSync}); otherwise
   * a `used` other than the whole cost is refused, changing nothing. A member's failure is
   * reported as for {@link SyncAllOfPermit.releaseSync}.
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
    // Set first: a member that calls back into this permit while being settled finds it done.
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
    if (errors.length > 0) {
      // Held again: settling again retries the parts still held (the others answer false).
      this.stateCode = HELD;
      settleError(errors, this.owner.keys, at);
    }
    return true;
  }
}
