import { BudgetError } from '@budgetry/core';
import type { TokenEstimate } from './estimate.js';
import type { Held } from './gate.js';
import { type Charge, estimated, type ReportedUsage, unusableCounts } from './usage.js';
import { emitWarning, messageOf } from './warnings.js';

/**
 * @internal Settles `held` with `usage`, the call's answer kept whatever the budget says:
 *
 * - usage the budget cannot count (`INVALID_AMOUNT`: more than 2^53 − 1 tokens in all, a price
 *   past 2^53 − 1 micro-dollars) is charged at the estimate the call was admitted under, and
 *   told as a `BudgetryUsageWarning`;
 * - a budget that fails (a backend down, a timeout, any error but the two below) is told as a
 *   `BudgetrySettleWarning`, and the reservation is let go unsettled ({@link Held.abandon}):
 *   never refunded as if the call had spent nothing;
 * - a budget that refuses what it is handed as a mistake (`INVALID_ARGUMENT`,
 *   `FOREIGN_HANDLE`: a budget or function that does not fit) is settled at the estimate,
 *   and the refusal thrown, so a misconfiguration fails loudly.
 */
export async function settleOrReport(
  held: Held,
  usage: Charge,
  estimate: TokenEstimate,
): Promise<void> {
  try {
    await held.settle(usage);
    return;
  } catch (error) {
    const code = BudgetError.isInstance(error) ? error.code : undefined;
    if (code === 'INVALID_ARGUMENT' || code === 'FOREIGN_HANDLE') {
      await held.settle(estimated(estimate)).catch(() => {});
      throw error;
    }
    if (code !== 'INVALID_AMOUNT') return letGo(held, error);
    emitWarning(
      `budgetry: a model call reported usage its budget cannot count (${messageOf(error)}); it was charged its estimate`,
      'BudgetryUsageWarning',
      error,
    );
  }
  await held.settle(estimated(estimate)).catch((error: unknown) => letGo(held, error));
}

/**
 * @internal Refunds `held` — its tokens and dollars, and its request unless `sent` — telling
 * a failure rather than throwing it: the call's own outcome is what the caller hears.
 */
export async function refundOrReport(held: Held, sent: boolean): Promise<void> {
  await held.refund(sent).catch((error: unknown) => {
    emitWarning(
      `budgetry: refunding a model call failed (${messageOf(error)}); the budget keeps what it failed to return until its own expiry or leak backstop`,
      'BudgetrySettleWarning',
      error,
    );
  });
}

/** @internal Tells a settle that threw after the call's own failure, which goes out instead. */
export function reportSettleFailure(error: unknown): void {
  emitWarning(
    `budgetry: settling a model call failed (${messageOf(error)})`,
    'BudgetrySettleWarning',
    error,
  );
}

/** The budget failed to settle a call the provider answered: its answer goes out all the same. */
function letGo(held: Held, error: unknown): void {
  held.abandon();
  emitWarning(
    `budgetry: settling a model call failed (${messageOf(error)}); its answer was returned, and its reservation let go unsettled, never refunded`,
    'BudgetrySettleWarning',
    error,
  );
}

/**
 * @internal Tells the counts a provider reported that are not amounts (1e300, −5, NaN): each
 * total is taken at its estimate, or the parts reported beside it when they are more.
 */
export function warnUnusable(usage: ReportedUsage | undefined): void {
  const found = unusableCounts(usage);
  if (found.length === 0) return;
  emitWarning(
    `budgetry: a model call's provider reported token counts that are not amounts (${found.join(', ')}); each total was taken at its estimate, or at the parts reported beside it when they are more`,
    'BudgetryUsageWarning',
  );
}
