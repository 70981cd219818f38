import type { BudgetPermit, PermitState, SyncBudgetPermit } from '@budgetry/core';
import { ForwardingPermit } from '../internal/forwarding-permit.js';
import { type MemberKey, memberFailure } from '../internal/member-list.js';

/**
 * A permit from one member of an any-of, saying which. Settling it settles that member's
 * permit; a member's failure is a `BudgetError` (`BACKEND`, naming the member), and the
 * permit stays as the member left it, so a permit its member did not settle can be settled
 * again.
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

/** @internal */
export class SyncAnyOfPermitImpl<K extends MemberKey>
  extends ForwardingPermit
  implements SyncAnyOfPermit<K>
{
  constructor(
    readonly member: K,
    override readonly inner: SyncBudgetPermit,
  ) {
    super(inner);
  }
  releaseSync(): boolean {
    try {
      return this.inner.releaseSync();
    } catch (error) {
      throw memberFailure(error, this.member);
    }
  }
  commitSync(used?: number): boolean {
    try {
      return this.inner.commitSync(used);
    } catch (error) {
      throw memberFailure(error, this.member);
    }
  }
}

/** @internal */
export class AnyOfPermitImpl<K extends MemberKey> implements AnyOfPermit<K> {
  constructor(
    readonly member: K,
    readonly inner: BudgetPermit,
    /** The member's index, for the count API's record. */
    readonly index: number,
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
  async release(): Promise<boolean> {
    try {
      return await this.inner.release();
    } catch (error) {
      throw memberFailure(error, this.member);
    }
  }
  async commit(used?: number): Promise<boolean> {
    try {
      return await this.inner.commit(used);
    } catch (error) {
      throw memberFailure(error, this.member);
    }
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }
}
