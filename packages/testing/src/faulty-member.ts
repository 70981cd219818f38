import {
  AtomicBudget,
  BudgetError,
  type SyncBudgetGuard,
  type SyncBudgetPermit,
} from '@budgetry/core';

/**
 * A member budget for composite checks that the kit can make fail: an in-process budget
 * (core's `AtomicBudget`, synchronous and Promise API) whose next reservation throws a
 * `BudgetError` with code `BACKEND` when the kit arms it. Build your combinator over
 * `context.members` and the all-of check adds member exceptions to its sequences (AO2: after
 * the exception every member is back where it was, each rolled back exactly once).
 *
 * @example
 * ```ts
 * import { FaultyMember } from '@budgetry/testing';
 *
 * const member = new FaultyMember(10);
 * member.failNext();
 * try {
 *   member.tryReserveSync(1);
 * } catch (error) {
 *   console.log(member.available()); // 10: the injected failure changed nothing
 * }
 * ```
 */
export class FaultyMember implements SyncBudgetGuard {
  private readonly inner: AtomicBudget;
  private armed = false;
  /** Injected failures thrown so far. */
  faults = 0;

  /**
   * @param capacity - the member's capacity.
   */
  constructor(readonly capacity: number) {
    this.inner = new AtomicBudget(capacity, { leakBackstop: false });
  }

  /**
   * Makes the next reservation call (`tryReserve*` or `tryAcquire*`) throw before it changes
   * anything.
   *
   * @returns nothing.
   */
  failNext(): void {
    this.armed = true;
  }

  /**
   * Disarms a failure that no call consumed.
   *
   * @returns whether a failure was still armed.
   */
  disarm(): boolean {
    const was = this.armed;
    this.armed = false;
    return was;
  }

  /** Units reservable now. */
  available(): number {
    return this.inner.available();
  }

  /**
   * Reserves `cost` units through the count API, or throws when armed.
   *
   * @param cost - the units to reserve.
   * @returns whether they were reserved.
   */
  tryReserveSync(cost: number): boolean {
    this.trip();
    return this.inner.tryReserveSync(cost);
  }

  /**
   * Returns `cost` units reserved through the count API.
   *
   * @param cost - the units to return.
   */
  releaseSync(cost: number): void {
    this.inner.releaseSync(cost);
  }

  /**
   * Reserves `cost` units as a permit, or throws when armed.
   *
   * @param cost - the units to reserve.
   * @returns a permit, or `null` on denial.
   */
  tryAcquireSync(cost: number): SyncBudgetPermit | null {
    this.trip();
    return this.inner.tryAcquireSync(cost);
  }

  /** {@inheritDoc FaultyMember.tryReserveSync} */
  async tryReserve(cost: number): Promise<boolean> {
    return this.tryReserveSync(cost);
  }

  /** {@inheritDoc FaultyMember.releaseSync} */
  async release(cost: number): Promise<void> {
    this.releaseSync(cost);
  }

  /** {@inheritDoc FaultyMember.tryAcquireSync} */
  async tryAcquire(cost: number): Promise<SyncBudgetPermit | null> {
    return this.tryAcquireSync(cost);
  }

  private trip(): void {
    if (!this.armed) return;
    this.armed = false;
    this.faults++;
    throw new BudgetError({
      code: 'BACKEND',
      message: 'injected member failure (conformance kit)',
    });
  }
}

/** @internal Whether `error`, or an error in its `cause` chain, was injected by a {@link FaultyMember}. */
export function isInjectedFault(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    if (
      BudgetError.isInstance(e) &&
      e.code === 'BACKEND' &&
      e.message.startsWith('injected member failure')
    ) {
      return true;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
