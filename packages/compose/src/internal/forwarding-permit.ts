import { type PermitState, type SyncBudgetPermit, SyncBudgetPermitBase } from '@budgetry/core';

/**
 * @internal A permit around another one, which holds the units: its cost, epoch and state
 * are the inner permit's. A subclass says what settling it adds (naming the member that
 * failed, waking a waiting line).
 */
export abstract class ForwardingPermit extends SyncBudgetPermitBase {
  constructor(protected readonly inner: SyncBudgetPermit) {
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
}
