import { type PermitState, type SyncBudgetPermit, SyncBudgetPermitBase } from '@budgetry/core';

/** @internal A permit from a `WaitingGuard`: releasing it wakes the waiters behind it. */
export class WaitingPermit extends SyncBudgetPermitBase {
  constructor(
    private readonly owner: { notify(): void },
    private readonly inner: SyncBudgetPermit,
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
    const done = this.inner.releaseSync();
    if (done) this.owner.notify();
    return done;
  }
  commitSync(used?: number): boolean {
    const done = this.inner.commitSync(used);
    // A partial commit returns the rest: it may be what the head of the line waits for.
    if (done && used !== undefined && used < this.inner.cost) this.owner.notify();
    return done;
  }
}
