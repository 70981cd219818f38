import type { SyncBudgetPermit } from '@budgetry/core';
import { ForwardingPermit } from '../internal/forwarding-permit.js';

/** @internal A permit from a `WaitingGuard`: releasing it wakes the waiters behind it. */
export class WaitingPermit extends ForwardingPermit {
  constructor(
    private readonly owner: { notify(): void },
    inner: SyncBudgetPermit,
  ) {
    super(inner);
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
