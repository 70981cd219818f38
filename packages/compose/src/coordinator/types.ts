import type { PermitBudgetGuard, TokenBudget } from '@budgetry/core';

/**
 * A budget a coordinator gates one dimension on: a guard (requests, rows, slots: charged
 * and kept as reserved) or a token budget (tokens, dollars: reconciled with measured usage,
 * overage owed exactly as debt).
 *
 * @example
 * ```ts
 * import { AtomicBudget, AtomicTokenBudget } from '@budgetry/core';
 * import { coordinator, type Dimension } from '@budgetry/compose';
 *
 * const dimensions: Record<'requests' | 'tokens', Dimension> = {
 *   requests: new AtomicBudget(60), // a guard: charged as reserved
 *   tokens: new AtomicTokenBudget(90_000), // a token budget: reconciled with usage
 * };
 * const decision = await coordinator(dimensions).tryReserve({ requests: 1, tokens: 800 });
 * if (decision.ok) await decision.permit.cancel();
 * ```
 */
export type Dimension = PermitBudgetGuard | TokenBudget;

/**
 * Amounts per dimension: an estimate, or actual usage. Dimensions left out are not charged
 * (or, in usage, settled at their estimate). The amounts are the record's own enumerable
 * properties, read once, before anything is charged or settled: a property `Object.entries`
 * does not list (inherited, non-enumerable, a symbol) is not there.
 *
 * @example
 * ```ts
 * import { AtomicBudget, AtomicTokenBudget } from '@budgetry/core';
 * import { coordinator, type Usage } from '@budgetry/compose';
 *
 * const llm = coordinator({ requests: new AtomicBudget(60), tokens: new AtomicTokenBudget(90_000) });
 * const estimate: Usage<'requests' | 'tokens'> = { requests: 1, tokens: 1_200 };
 * const d = llm.tryReserveSync(estimate);
 * if (d.ok) d.permit.settleSync({ tokens: 900 }); // requests settled at its estimate
 * ```
 */
export type Usage<D extends string> = { readonly [K in D]?: number };

/**
 * What settling a dispatch could not charge.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import { coordinator, type SettleReport } from '@budgetry/compose';
 *
 * const rows = coordinator({ rows: new AtomicBudget(100) });
 * const d = rows.tryReserveSync({ rows: 90 });
 * if (d.ok) {
 *   const report: SettleReport<'rows'> = d.permit.settleSync({ rows: 120 });
 *   console.log(report.shortfall.rows); // 20: room for only 10 of the 30 over the estimate
 * }
 * ```
 */
export interface SettleReport<D extends string> {
  /**
   * Overage on guard dimensions that the guard had no room for. Guards cannot owe, so this
   * is reported rather than charged; give a dimension whose usage can exceed its estimate a
   * token budget, which owes the overage exactly.
   */
  readonly shortfall: Usage<D>;
  /**
   * Units kept spent beyond the usage on guard dimensions that declare no partial commit
   * (their permits commit all or nothing): over-charged until the guard's next refill, never
   * lost. Empty for budgetry's own guards.
   */
  readonly overcharge: Usage<D>;
}

/**
 * Where a {@link Dispatch} is in its life: `held` while any dimension still holds what was
 * reserved (also after a settle or cancel that a dimension failed, until that dimension is
 * settled or cancelled again), then `settled` or `cancelled`, after whichever call closed it.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import { coordinator, type DispatchState } from '@budgetry/compose';
 *
 * const d = coordinator({ requests: new AtomicBudget(1) }).tryReserveSync({ requests: 1 });
 * if (d.ok) {
 *   d.permit.cancelSync();
 *   const state: DispatchState = d.permit.state;
 *   console.log(state); // 'cancelled'
 * }
 * ```
 */
export type DispatchState = 'held' | 'settled' | 'cancelled';

/**
 * Options for {@link Coordinator.run}.
 *
 * @example
 * ```ts
 * import { AtomicTokenBudget } from '@budgetry/core';
 * import { coordinator, type RunOptions } from '@budgetry/compose';
 *
 * const llm = coordinator({ tokens: new AtomicTokenBudget(10_000) });
 * const options: RunOptions = { signal: AbortSignal.timeout(30_000) };
 * const out = await llm.run(
 *   { tokens: 500 },
 *   async (signal) => {
 *     // const response = await callModel({ signal });
 *     return { value: signal?.aborted ? 'late' : 'ok', usage: { tokens: 420 } };
 *   },
 *   options,
 * );
 * ```
 */
export interface RunOptions {
  /** Aborts the run: before the reservation, nothing is charged; after, see `run`. */
  signal?: AbortSignal;
}

/**
 * What the function given to {@link Coordinator.run} returns.
 *
 * @example
 * ```ts
 * import { AtomicTokenBudget } from '@budgetry/core';
 * import { coordinator, type RunResult } from '@budgetry/compose';
 *
 * const llm = coordinator({ tokens: new AtomicTokenBudget(10_000) });
 * async function call(): Promise<RunResult<string, 'tokens'>> {
 *   // const response = await callModel(...);
 *   return { value: 'answer', usage: { tokens: 640 } };
 * }
 * const out = await llm.run({ tokens: 800 }, call);
 * if (out.ok) console.log(out.value); // 'answer'; the 160 tokens not used are refunded
 * ```
 */
export interface RunResult<T, D extends string> {
  /** The result handed back to the caller. */
  readonly value: T;
  /** Actual usage per dimension (left-out dimensions are settled at their estimate). */
  readonly usage?: Usage<D>;
}
