// Handles a shadow hands out for work its policy denied: they hold nothing on the policy,
// settle exactly once like real handles, and report what the work used, so the units let
// through beyond the policy are counted instead of charged.
import { assertAmount, BudgetError, type PermitState, type SyncBudgetPermit } from '@budgetry/core';
import { describe, invalid } from './invalid.js';

/** @internal Every handle a shadow made for work its policy denied or failed on. */
export const phantoms = new WeakSet<object>();

/** @internal Told what a phantom handle's work used when it settles (0 for a release). */
export type PhantomSettle = (cost: number, used: number) => void;

/** @internal A permit for units the policy did not grant. */
export class PhantomPermit implements SyncBudgetPermit {
  private stateValue: PermitState = 'held';

  constructor(
    readonly cost: number,
    readonly epoch: number,
    private readonly settled: PhantomSettle,
  ) {
    phantoms.add(this);
  }

  get state(): PermitState {
    return this.stateValue;
  }

  releaseSync(): boolean {
    if (this.stateValue !== 'held') return false;
    this.stateValue = 'released';
    this.settled(this.cost, 0);
    return true;
  }

  commitSync(used: number = this.cost): boolean {
    assertAmount(used, 'used');
    if (used > this.cost) {
      throw new BudgetError({
        code: 'INVALID_AMOUNT',
        message: `used ${used} exceeds the ${this.cost} the permit holds`,
        details: { used, cost: this.cost },
      });
    }
    if (this.stateValue !== 'held') return false;
    this.stateValue = 'committed';
    this.settled(this.cost, used);
    return true;
  }

  async release(): Promise<boolean> {
    return this.releaseSync();
  }

  async commit(used?: number): Promise<boolean> {
    return this.commitSync(used);
  }

  [Symbol.dispose](): void {
    this.releaseSync();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.releaseSync();
  }
}

/** @internal What settling a phantom dispatch reports: nothing is ever short or over-charged. */
const EMPTY_REPORT = Object.freeze({ shortfall: Object.freeze({}), overcharge: Object.freeze({}) });

/**
 * @internal A coordinator dispatch for work the policy denied. It validates usage as a real
 * dispatch does (same codes, nothing changed on a bad amount) and reports what was used.
 */
export class PhantomDispatch {
  private stateValue: 'held' | 'settled' | 'cancelled' = 'held';
  /** What was reserved, read once as a real dispatch's parts are: the caller may reuse its object. */
  private readonly reserved: Readonly<Record<string, number>>;

  constructor(
    readonly estimate: Readonly<Record<string, number | undefined>>,
    private readonly settled: (
      estimate: Readonly<Record<string, number>>,
      used: Readonly<Record<string, number>>,
    ) => void,
  ) {
    this.reserved = defined(estimate);
    phantoms.add(this);
  }

  get state(): 'held' | 'settled' | 'cancelled' {
    return this.stateValue;
  }

  settleSync(actual: Readonly<Record<string, number | undefined>> = {}): typeof EMPTY_REPORT {
    if (this.stateValue !== 'held') {
      throw new BudgetError({
        code: 'ALREADY_SETTLED',
        message: `this dispatch is already ${this.stateValue}`,
        details: { state: this.stateValue },
      });
    }
    if (typeof actual !== 'object' || actual === null) {
      throw invalid(`usage must be a record of amounts, got ${describe(actual)}`);
    }
    const estimate = this.reserved;
    for (const [name, amount] of Object.entries(actual)) {
      if (amount === undefined) continue;
      if (!Object.hasOwn(estimate, name)) {
        throw invalid(`usage names ${JSON.stringify(name)}, which this dispatch did not reserve`, {
          dimension: name,
        });
      }
      assertAmount(amount, `usage.${name}`);
    }
    const used: Record<string, number> = {};
    for (const [name, cost] of Object.entries(estimate)) {
      const amount = Object.hasOwn(actual, name) ? actual[name] : undefined;
      used[name] = amount ?? cost;
    }
    this.stateValue = 'settled';
    this.settled(estimate, used);
    return EMPTY_REPORT;
  }

  async settle(
    actual?: Readonly<Record<string, number | undefined>>,
  ): Promise<typeof EMPTY_REPORT> {
    return this.settleSync(actual);
  }

  cancelSync(): boolean {
    if (this.stateValue !== 'held') return false;
    this.stateValue = 'cancelled';
    const estimate = this.reserved;
    this.settled(estimate, Object.fromEntries(Object.keys(estimate).map((k) => [k, 0])));
    return true;
  }

  async cancel(): Promise<boolean> {
    return this.cancelSync();
  }

  [Symbol.dispose](): void {
    this.cancelSync();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.cancelSync();
  }
}

/** The amounts of an estimate that are set (an undefined amount is a dimension left out). */
function defined(estimate: Readonly<Record<string, number | undefined>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, amount] of Object.entries(estimate))
    if (amount !== undefined) out[name] = amount;
  return out;
}
