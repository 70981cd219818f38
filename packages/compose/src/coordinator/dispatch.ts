import { assertAmount, BudgetError } from '@budgetry/core';
import { describe, invalid, setOwn, settleEach } from '../internal/member-list.js';
import {
  dimensionFailure,
  type Failed,
  failures,
  type Part,
  refundEach,
  refundEachSync,
  settlePart,
  settleSyncPart,
  unfinished,
} from './parts.js';
import type { DispatchState, SettleReport, Usage } from './types.js';

const SETTLE_AGAIN =
  'the dispatch is still held on it: settle it again to retry, or cancel it to release what it holds';
const CANCEL_AGAIN = 'the dispatch is still held on it: cancel it again to retry';

/**
 * One dispatch gated on several dimensions: settle it once with actual usage, or cancel it
 * to refund everything. Disposing a held dispatch cancels it.
 *
 * A dimension that throws while the dispatch is settled or cancelled does not stop the
 * others: they are settled (or refunded), and the call throws a `BudgetError` naming the
 * dimension. The dispatch then stays `held` on the dimensions that failed, and only on them:
 * settle it again to retry them, or cancel (or dispose) it to release what they hold. A
 * remote dimension may have applied the call that failed and lost its answer; the retry finds
 * it applied and charges nothing twice.
 *
 * @example
 * ```ts
 * import { AtomicBudget, AtomicTokenBudget } from '@budgetry/core';
 * import { coordinator } from '@budgetry/compose';
 *
 * const c = coordinator({ requests: new AtomicBudget(10), tokens: new AtomicTokenBudget(5_000) });
 * const d = c.tryReserveSync({ requests: 1, tokens: 800 });
 * if (d.ok) {
 *   using dispatch = d.permit; // cancelled (refunded) if the call below throws
 *   dispatch.settleSync({ tokens: 650 });
 * }
 * ```
 */
export class Dispatch<D extends string> implements Disposable, AsyncDisposable {
  private stateValue: DispatchState = 'held';
  /** What is not settled or refunded yet: every part, until a settle or cancel fails on some. */
  private open: readonly Part[];
  /** The report of the parts an earlier, failed settle did settle. */
  private carried: Report | undefined = undefined;

  /** @internal */
  constructor(
    /** What was reserved, per dimension. */
    readonly estimate: Usage<D>,
    private readonly parts: readonly Part[],
  ) {
    this.open = parts;
  }

  get state(): DispatchState {
    return this.stateValue;
  }

  /**
   * Reconcile every dimension with actual usage, synchronously (all charged dimensions must be
   * in-process). Token dimensions refund under-use and owe overage as debt; guard
   * dimensions keep what was used and return the rest. After a settle that a dimension
   * failed, only the dimensions still held are settled.
   *
   * @param actual - usage per dimension (see {@link Usage}: read once, before anything is
   * settled); a dimension left out is settled at its estimate.
   * @returns overage guards could not take.
   * @throws BudgetError `ALREADY_SETTLED` when settled or cancelled before; `INVALID_AMOUNT` /
   * `INVALID_ARGUMENT` for bad usage, with nothing changed; a dimension's failure, naming it,
   * after settling every other dimension (the dispatch stays held on the failed one).
   */
  settleSync(actual: Usage<D> = {}): SettleReport<D> {
    const usage = this.begin(actual);
    const open = this.open;
    for (const p of open) {
      if (!p.dim.sync) {
        throw invalid(`dimension ${p.dim.name} is asynchronous: use settle()`, {
          dimension: p.dim.name,
        });
      }
    }
    this.stateValue = 'settled';
    const report = this.carried ?? newReport();
    let failed: Part[] | undefined;
    let first: unknown;
    for (const p of open) {
      try {
        const used = amountFor(usage, p);
        note(report, p, used, settleSyncPart(p, used));
      } catch (error) {
        if (failed === undefined) {
          failed = [];
          first = error;
        }
        failed.push(p);
      }
    }
    if (failed !== undefined) this.reopen({ parts: failed, error: first }, report, SETTLE_AGAIN);
    return report as SettleReport<D>;
  }

  /**
   * {@link Dispatch.settleSync} for any dimensions, awaiting remote ones.
   *
   * @param actual - usage per dimension; a dimension left out is settled at its estimate.
   * @returns overage guards could not take.
   */
  async settle(actual: Usage<D> = {}): Promise<SettleReport<D>> {
    const usage = this.begin(actual);
    const open = this.open;
    this.stateValue = 'settled';
    const report = this.carried ?? newReport();
    const results = await settleEach(open, async (p) => {
      const used = amountFor(usage, p);
      note(report, p, used, await settlePart(p, used));
    });
    const failed = failures(open, results);
    if (failed !== undefined) this.reopen(failed, report, SETTLE_AGAIN);
    return report as SettleReport<D>;
  }

  /**
   * Refund every dimension (the dispatch did not happen); after a settle that a dimension
   * failed, only the dimensions still held are refunded.
   *
   * @returns `true` if this call cancelled it, `false` if it was already settled or cancelled.
   * @throws BudgetError a dimension's failure, naming it, after refunding every other
   * dimension (the dispatch stays held on the failed one).
   */
  cancelSync(): boolean {
    if (this.stateValue !== 'held') return false;
    this.stateValue = 'cancelled';
    const failed = refundEachSync(this.open);
    if (failed !== undefined) this.reopen(failed, this.carried, CANCEL_AGAIN);
    return true;
  }

  /**
   * {@link Dispatch.cancelSync}, awaiting remote refunds.
   *
   * @returns `true` if this call cancelled it.
   */
  async cancel(): Promise<boolean> {
    if (this.stateValue !== 'held') return false;
    this.stateValue = 'cancelled';
    const failed = await refundEach(this.open);
    if (failed !== undefined) this.reopen(failed, this.carried, CANCEL_AGAIN);
    return true;
  }

  [Symbol.dispose](): void {
    this.cancelSync();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.cancel();
  }

  /**
   * Validates `actual` completely before anything changes, and returns what it says, read
   * once: its own enumerable properties, as an estimate's are read (a getter is not asked
   * again while settling, and a property it does not list is not charged).
   */
  private begin(actual: Usage<D>): ReadonlyMap<string, number> {
    if (this.stateValue !== 'held') {
      throw new BudgetError({
        code: 'ALREADY_SETTLED',
        message: `this dispatch is already ${this.stateValue}`,
        details: { state: this.stateValue },
      });
    }
    if (typeof actual !== 'object' || actual === null) {
      throw invalid(`usage must be a record of amounts, got ${describe(actual)}`, {});
    }
    const names = new Set(this.parts.map((p) => p.dim.name));
    const usage = new Map<string, number>();
    for (const [name, amount] of Object.entries(actual)) {
      // As in an estimate, an undefined amount is the same as leaving the dimension out.
      if (amount === undefined) continue;
      if (!names.has(name)) {
        throw invalid(`usage names ${JSON.stringify(name)}, which this dispatch did not reserve`, {
          dimension: name,
        });
      }
      assertAmount(amount, `usage.${name}`);
      usage.set(name, amount);
    }
    return usage;
  }

  /**
   * After a settle or cancel that failed on some parts: the dispatch stays held on those that
   * may still hold something, keeping the shortfall so far for the next settle's report, and
   * the failure goes out naming the first dimension that failed.
   */
  private reopen(failed: Failed, report: Report | undefined, then: string): never {
    const left = failed.parts.filter(unfinished);
    if (left.length > 0) {
      this.open = left;
      this.carried = report;
      this.stateValue = 'held';
    }
    throw dimensionFailure(
      failed.error,
      failed.parts[0]!.dim.name,
      left.length > 0 ? then : `the dispatch is ${this.stateValue} nonetheless`,
    );
  }
}

/** The amount to settle `p` at: its usage, or its estimate when left out. */
function amountFor(usage: ReadonlyMap<string, number>, p: Part): number {
  return usage.get(p.dim.name) ?? p.cost;
}

/** A settle report being filled in. */
interface Report {
  readonly shortfall: Record<string, number>;
  readonly overcharge: Record<string, number>;
}

function newReport(): Report {
  return { shortfall: {}, overcharge: {} };
}

/**
 * Records what settling `p` at `used` could not charge exactly: overage with no room
 * (`short`), or, under the estimate on a guard that declares no partial commit, the units it
 * keeps spent beyond `used`.
 */
function note(report: Report, p: Part, used: number, short: number): void {
  if (short > 0) setOwn(report.shortfall, p.dim.name, short);
  else if (used < p.cost && !p.dim.partial) setOwn(report.overcharge, p.dim.name, p.cost - used);
}
