import type { LeakWatch } from '../budgets/backstop.js';
import { SyncBudgetPermitBase } from '../budgets/sync-permit-base.js';
import type { PermitState } from '../spec/budget-guard.js';
import { PermitCode, permitStateOf } from '../spec/permit-state.js';

const { held: HELD, released: RELEASED, committed: COMMITTED } = PermitCode;

/** @internal What a shared permit settles through: its budget's settle step. */
export interface PermitSettler {
  settlePermit(cell: SharedPermit, to: number, leaked: boolean, used?: number): boolean;
}

/**
 * @internal A permit of a shared budget: the units, the epoch and the lane generation it was
 * taken under. It lives in the thread that took it; its units live in the shared memory.
 */
export class SharedPermit extends SyncBudgetPermitBase implements LeakWatch {
  status: number = HELD;
  registered = false;
  constructor(
    readonly budget: PermitSettler,
    readonly cost: number,
    readonly epoch: number,
    readonly gen: number,
  ) {
    super();
  }

  get state(): PermitState {
    return permitStateOf(this.status);
  }

  releaseSync(): boolean {
    return this.budget.settlePermit(this, RELEASED, false);
  }

  commitSync(used?: number): boolean {
    return this.budget.settlePermit(this, COMMITTED, false, used);
  }

  isArmed(): boolean {
    return this.status === HELD;
  }

  collected(): void {
    this.budget.settlePermit(this, RELEASED, true);
  }
}

export { COMMITTED, HELD, RELEASED };
