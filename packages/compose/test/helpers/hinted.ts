import { AtomicBudget, type SchedulableCapabilities } from '@budgetry/core';

/**
 * An AtomicBudget that declares a retry hint (capability `retryHint`) answering `ms`. A
 * budget that has the method without declaring it is given no hint: compose decides from
 * declarations, not from probing for methods.
 */
export class HintedBudget extends AtomicBudget {
  constructor(
    capacity: number,
    private readonly ms: number,
  ) {
    super(capacity);
  }
  override get capabilities(): SchedulableCapabilities {
    return { ...super.capabilities, retryHint: true };
  }
  retryAfterMs(): number {
    return this.ms;
  }
}
