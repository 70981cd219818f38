import type { Decision } from '@budgetry/core';
import {
  assertAmount,
  BudgetError,
  type BudgetPermit,
  type PermitBudgetGuard,
  type SyncBudgetGuard,
  type SyncTokenBudget,
  type TokenBudget,
  type TokenReservation,
} from '@budgetry/core';
import { denial } from '../internal/denial.js';
import { memberIdentity } from '../internal/member-kind.js';
import { describe, invalid, memberFailure } from '../internal/member-list.js';
import { Dispatch } from './dispatch.js';
import { type Dim, type Part, refundEach, refundEachSync, refuseShared, toDims } from './parts.js';
import type { Dimension, RunOptions, RunResult, SettleReport, Usage } from './types.js';

/**
 * Gates one dispatch on several named dimensions at once; build it with {@link coordinator}.
 *
 * @example
 * ```ts
 * import { AtomicBudget, AtomicTokenBudget } from '@budgetry/core';
 * import { coordinator, hierarchy } from '@budgetry/compose';
 *
 * const tenants = hierarchy({ capacity: 1_000_000, children: { capacity: 20_000 } });
 * const llm = coordinator({ requests: new AtomicBudget(60), tokens: new AtomicTokenBudget(90_000) });
 * const decision = llm.with({ tenant: tenants.child('acme') }).tryReserveSync({
 *   requests: 1,
 *   tokens: 1_200,
 *   tenant: 1_200,
 * });
 * if (decision.ok) decision.permit.cancelSync();
 * ```
 */
export class Coordinator<D extends string> {
  /** @internal */
  readonly dims: readonly Dim[];
  private readonly byName: Map<string, Dim>;

  /** @internal Use {@link coordinator}. */
  constructor(dims: Dim[]) {
    this.dims = dims;
    this.byName = new Map(dims.map((d) => [d.name, d]));
  }

  /** The dimension names. */
  get dimensions(): D[] {
    return this.dims.map((d) => d.name as D);
  }

  /**
   * A coordinator with more dimensions for some dispatches, such as the tenant's node in a
   * hierarchy: `c.with({ tenant: tenants.child(id) })`.
   *
   * @param extra - more named budgets; names must be new, and so must the budgets they
   * charge (seen through wrappers, all-ofs and any-ofs).
   * @returns a coordinator over both sets.
   * @throws BudgetError `INVALID_ARGUMENT` for a name or budget this coordinator already has.
   */
  with<E extends string>(extra: Readonly<Record<E, Dimension>>): Coordinator<D | E> {
    const more = toDims(extra);
    for (const d of more) {
      if (this.byName.has(d.name)) {
        throw invalid(`dimension ${d.name} already exists`, { dimension: d.name });
      }
      const identity = memberIdentity(d.budget);
      if (this.dims.some((x) => memberIdentity(x.budget) === identity)) {
        throw invalid(`dimension ${d.name} is a budget this coordinator already has`, {
          dimension: d.name,
        });
      }
    }
    const all = [...this.dims, ...more];
    refuseShared(all);
    return new Coordinator<D | E>(all);
  }

  /**
   * Reserve every dimension named in `estimate`, or none, synchronously (those dimensions
   * must be in-process).
   *
   * @param estimate - amount per dimension, e.g. `{ requests: 1, tokens: 1_200 }`.
   * @returns the dispatch, or the dimension that denied and, when known, `retryAfterMs`.
   * @throws BudgetError for an unknown dimension or a bad amount (nothing charged), or when
   * a budget throws (after rolling back what was charged).
   */
  tryReserveSync(estimate: Usage<D>): Decision<D, Dispatch<D>> {
    const plan = this.plan(estimate);
    for (const [dim] of plan) {
      if (!dim.sync) {
        throw invalid(`dimension ${dim.name} is asynchronous: use tryReserve()`, {
          dimension: dim.name,
        });
      }
    }
    const parts: Part[] = [];
    for (const [dim, cost] of plan) {
      let handle: BudgetPermit | TokenReservation | null;
      try {
        handle = dim.tokens
          ? (dim.budget as SyncTokenBudget).tryReserveTokensSync(cost)
          : (dim.budget as SyncBudgetGuard).tryAcquireSync(cost);
      } catch (error) {
        // The failure that caused the rollback is what the caller needs to see; a part that
        // cannot be refunded either is left to its budget's leak backstop, as in allOf.
        refundEachSync(parts);
        throw memberFailure(error, dim.name);
      }
      if (handle === null) {
        refundEachSync(parts);
        return denial(dim.name as D, dim.budget, cost);
      }
      parts.push({ dim, cost, handle });
    }
    return { ok: true, permit: new Dispatch(estimate, parts) };
  }

  /**
   * {@link Coordinator.tryReserveSync} over any dimensions, one after another in the order
   * they were given, awaiting remote ones.
   *
   * @param estimate - amount per dimension.
   * @returns the dispatch, or the dimension that denied and, when known, `retryAfterMs`.
   */
  async tryReserve(estimate: Usage<D>): Promise<Decision<D, Dispatch<D>>> {
    const plan = this.plan(estimate);
    const parts: Part[] = [];
    for (const [dim, cost] of plan) {
      let handle: BudgetPermit | TokenReservation | null;
      try {
        handle = dim.tokens
          ? await (dim.budget as TokenBudget).tryReserveTokens(cost)
          : await (dim.budget as PermitBudgetGuard).tryAcquire(cost);
      } catch (error) {
        await refundEach(parts);
        throw memberFailure(error, dim.name);
      }
      if (handle === null) {
        await refundEach(parts);
        return denial(dim.name as D, dim.budget, cost);
      }
      parts.push({ dim, cost, handle });
    }
    return { ok: true, permit: new Dispatch(estimate, parts) };
  }

  /**
   * Reserve, run `fn`, and reconcile with the usage it reports; refund everything if it
   * throws. An already-aborted signal charges nothing. The signal is handed to `fn`, which
   * should stop on it: a run that then throws is refunded, and a run that still returns its
   * usage is settled with it, because that usage really happened. A run never leaves its
   * dispatch held: when settling fails (bad usage, or a dimension that throws), what is not
   * settled yet is settled at its estimate, the bound it was admitted under, and what cannot
   * be settled even so is released, before the error goes out saying which.
   *
   * @param estimate - amount per dimension.
   * @param fn - the work; gets the signal and the dispatch, returns `{ value, usage }`.
   * @param options - an `AbortSignal`.
   * @returns the value and the settle report, or the denial.
   * @throws BudgetError `ABORTED` for an aborted signal; whatever `fn` threw, after the refund
   * (or, if a dimension cannot be refunded even on a second try, that failure, with `fn`'s
   * error as `cause`); a settle failure, after the fallback above.
   */
  async run<T>(
    estimate: Usage<D>,
    fn: (signal: AbortSignal | undefined, dispatch: Dispatch<D>) => Promise<RunResult<T, D>>,
    options: RunOptions = {},
  ): Promise<
    | { readonly ok: true; readonly value: T; readonly report: SettleReport<D> }
    | { readonly ok: false; readonly deniedBy: D; readonly retryAfterMs?: number }
  > {
    if (typeof fn !== 'function') {
      throw invalid(`run expects a function, got ${describe(fn)}`, {});
    }
    if (typeof options !== 'object' || options === null) {
      throw invalid(`run options must be an object, got ${describe(options)}`, {});
    }
    const { signal } = options;
    if (
      signal !== undefined &&
      (typeof (signal as Partial<AbortSignal> | null)?.aborted !== 'boolean' ||
        typeof (signal as Partial<AbortSignal>).addEventListener !== 'function')
    ) {
      throw invalid(`option signal must be an AbortSignal, got ${describe(signal)}`, {});
    }
    if (signal?.aborted) {
      throw new BudgetError({
        code: 'ABORTED',
        message: 'run aborted before it started',
        cause: signal.reason,
      });
    }
    const decision = await this.tryReserve(estimate);
    if (!decision.ok) return decision;
    const dispatch = decision.permit;
    if (signal?.aborted) {
      throw await refundAfter(
        dispatch,
        new BudgetError({
          code: 'ABORTED',
          message: 'run aborted while reserving',
          cause: signal.reason,
        }),
      );
    }
    let result: RunResult<T, D>;
    try {
      result = await fn(signal, dispatch);
    } catch (error) {
      throw await refundAfter(dispatch, error);
    }
    const shaped = isRunResult(result);
    if (dispatch.state !== 'held') {
      // fn settled or cancelled the dispatch itself.
      return {
        ok: true,
        value: shaped ? result.value : (result as T),
        report: { shortfall: {}, overcharge: {} },
      };
    }
    // The work has run: whatever is wrong with what fn returned, the dispatch is settled (at
    // its estimate, the bound it was admitted under) before the error goes out, never left held.
    if (!shaped) {
      const error = invalid(
        `run's function must resolve { value, usage? }, got ${describe(result)}`,
        {},
      );
      throw await settleAfter(dispatch, error);
    }
    let report: SettleReport<D>;
    try {
      report = await dispatch.settle(result.usage as Usage<D>);
    } catch (error) {
      throw await settleAfter(dispatch, error);
    }
    return { ok: true, value: result.value, report };
  }

  /** Validates a whole estimate before anything is charged. */
  private plan(estimate: Usage<D>): [Dim, number][] {
    if (typeof estimate !== 'object' || estimate === null) {
      throw invalid(`estimate must be a record of amounts, got ${describe(estimate)}`, {});
    }
    const plan: [Dim, number][] = [];
    for (const [name, amount] of Object.entries(estimate)) {
      if (amount === undefined) continue;
      const dim = this.byName.get(name);
      if (dim === undefined) {
        throw invalid(`estimate names ${JSON.stringify(name)}, which is not a dimension`, {
          dimension: name,
        });
      }
      assertAmount(amount, `estimate.${name}`);
      plan.push([dim, amount]);
    }
    // Charge in the coordinator's dimension order, whatever order the estimate lists them in.
    plan.sort((a, b) => this.dims.indexOf(a[0]) - this.dims.indexOf(b[0]));
    return plan;
  }
}

/** Whether `fn` resolved the `{ value, usage? }` shape `run` expects. */
function isRunResult<T, D extends string>(result: unknown): result is RunResult<T, D> {
  if (typeof result !== 'object' || result === null || !Object.hasOwn(result, 'value')) {
    return false;
  }
  const usage = (result as { usage?: unknown }).usage;
  return usage === undefined || (typeof usage === 'object' && usage !== null);
}

/**
 * `run`'s way out after a settle failed: what is not settled yet is settled at its estimate,
 * or, when a dimension fails that too, released, so the dispatch is never left held (short of
 * a member that can neither settle nor refund). Returns the error to throw, saying which. A
 * remote dimension whose failed attempt was applied, its answer lost, keeps what that attempt
 * settled (settling it again finds it done), and the message cannot tell which it was.
 */
async function settleAfter<D extends string>(
  dispatch: Dispatch<D>,
  error: unknown,
): Promise<unknown> {
  if (dispatch.state !== 'held') return error;
  let done =
    'what was still held was settled at its estimate, unless the attempt that failed was applied after all';
  try {
    await dispatch.settle({});
  } catch {
    try {
      await dispatch.cancel();
      done = 'what could not be settled was released';
    } catch {
      done = 'a dimension could neither settle nor release and is still held';
    }
  }
  if (!BudgetError.isInstance(error)) return error;
  return new BudgetError({
    code: error.code,
    message: `${error.message}; ${done}`,
    cause: error,
    ...(error.details === undefined ? {} : { details: error.details }),
  });
}

/**
 * `run`'s way out when the work did not happen: refund everything, trying a dimension that
 * fails once more. Returns `error`, or, if a refund still fails, that failure with `error` as
 * its cause.
 */
async function refundAfter<D extends string>(
  dispatch: Dispatch<D>,
  error: unknown,
): Promise<unknown> {
  try {
    await dispatch.cancel();
    return error;
  } catch {
    // Only the dimensions that failed are held: one more try for them.
  }
  try {
    await dispatch.cancel();
    return error;
  } catch (failure) {
    const details = BudgetError.isInstance(failure) ? failure.details : undefined;
    return new BudgetError({
      code: BudgetError.isInstance(failure) ? failure.code : 'BACKEND',
      message: `run's function failed, and its dispatch could not be refunded: ${failure instanceof Error ? failure.message : String(failure)}`,
      cause: error,
      ...(details === undefined ? {} : { details }),
    });
  }
}

/**
 * Gate one dispatch on several dimensions at once — `{ requests: 1, tokens: 1_200,
 * usd_micros: 3_000 }` against RPM, TPM, a daily dollar cap and the tenant's budget — then
 * reconcile each dimension with actual usage, or refund everything. This is the reference's
 * "stack a row guard and a token guard in a coordinator", made all-or-nothing.
 *
 * When to use: an LLM call or job whose cost spans several budgets, some known up front
 * (requests, rows: guards) and some only afterwards (tokens, dollars: token budgets, where
 * overage is owed exactly as debt). Reserve with `tryReserveSync` / `tryReserve`, then
 * `settle` with measured usage or `cancel`; or let `run` do all three. A denial names the
 * dimension and, when its schedule knows, `retryAfterMs`. For one cost across plain guards,
 * {@link allOf} is lighter.
 *
 * @param dimensions - named guards and token budgets, none given twice (also not raw and
 * behind a wrapper, nor inside an all-of or any-of another dimension is or contains).
 * @returns the coordinator.
 * @throws BudgetError `INVALID_ARGUMENT` for no dimensions, a budget given twice, or a value
 * that is not a budget.
 *
 * @example
 * ```ts
 * import { AtomicTokenBudget } from '@budgetry/core';
 * import { coordinator, lazyRefill, tokenBucket } from '@budgetry/compose';
 *
 * const llm = coordinator({
 *   requests: tokenBucket({ burst: 60, rate: 1 }),
 *   tokens: lazyRefill(new AtomicTokenBudget(90_000), { intervalMs: 60_000 }),
 * });
 * const decision = llm.tryReserveSync({ requests: 1, tokens: 1_200 });
 * if (decision.ok) {
 *   // const response = await callModel(...);
 *   decision.permit.settleSync({ tokens: 950 });
 * }
 * ```
 */
export function coordinator<const T extends Readonly<Record<string, Dimension>>>(
  dimensions: T,
): Coordinator<Extract<keyof T, string>> {
  return new Coordinator(toDims(dimensions));
}
