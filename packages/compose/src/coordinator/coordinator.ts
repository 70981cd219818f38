import type { Decision } from '@budgetry/core';
import {
  assertAmount,
  BudgetError,
  type BudgetPermit,
  capabilitiesOf,
  type PermitBudgetGuard,
  retryAfterOf,
  type SyncBudgetGuard,
  type SyncBudgetPermit,
  type SyncTokenBudget,
  type TokenBudget,
  type TokenReservation,
} from '@budgetry/core';
import { isSyncGuard } from '../internal/member-kind.js';
import {
  describe,
  invalid,
  memberFailure,
  ownValue,
  setOwn,
  settleEach,
} from '../internal/member-list.js';
import { isSyncTokenBudget, isTokenBudget } from '../internal/token-kind.js';

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
 * Amounts per dimension: an estimate, or actual usage. Dimensions left out are not charged.
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
}

/**
 * Where a {@link Dispatch} is in its life.
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

/** @internal One dimension, classified once. */
interface Dim {
  readonly name: string;
  readonly budget: Dimension;
  readonly tokens: boolean;
  readonly sync: boolean;
  /** Settle under-use by a partial commit (declared by the guard; token budgets record it). */
  readonly partial: boolean;
}

/** @internal What a dispatch holds on one dimension. */
interface Part {
  readonly dim: Dim;
  readonly cost: number;
  readonly handle: BudgetPermit | TokenReservation;
}

const isReservation = (h: BudgetPermit | TokenReservation): h is TokenReservation =>
  typeof (h as TokenReservation).disarm === 'function';

/**
 * One dispatch gated on several dimensions: settle it once with actual usage, or cancel it
 * to refund everything. Disposing a held dispatch cancels it.
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

  /** @internal */
  constructor(
    /** What was reserved, per dimension. */
    readonly estimate: Usage<D>,
    private readonly parts: readonly Part[],
  ) {}

  get state(): DispatchState {
    return this.stateValue;
  }

  /**
   * Reconcile every dimension with actual usage, synchronously (all charged dimensions must be
   * in-process). Token dimensions refund under-use and owe overage as debt; guard
   * dimensions keep what was used and return the rest.
   *
   * @param actual - usage per dimension; a dimension left out is settled at its estimate.
   * @returns overage guards could not take.
   * @throws BudgetError `ALREADY_SETTLED` when settled or cancelled before; `INVALID_AMOUNT` /
   * `INVALID_ARGUMENT` for bad usage, with nothing changed.
   */
  settleSync(actual: Usage<D> = {}): SettleReport<D> {
    const amounts = this.begin(actual);
    for (const p of this.parts) {
      if (!p.dim.sync) {
        throw invalid(`dimension ${p.dim.name} is asynchronous: use settle()`, {
          dimension: p.dim.name,
        });
      }
    }
    this.stateValue = 'settled';
    const shortfall: Record<string, number> = {};
    let failure: unknown;
    this.parts.forEach((p, i) => {
      try {
        const short = settleSyncPart(p, amounts[i]!);
        if (short > 0) setOwn(shortfall, p.dim.name, short);
      } catch (error) {
        failure ??= memberFailure(error, p.dim.name);
      }
    });
    if (failure !== undefined) throw failure;
    return { shortfall: shortfall as Usage<D> };
  }

  /**
   * {@link Dispatch.settleSync} for any dimensions, awaiting remote ones.
   *
   * @param actual - usage per dimension; a dimension left out is settled at its estimate.
   * @returns overage guards could not take.
   */
  async settle(actual: Usage<D> = {}): Promise<SettleReport<D>> {
    const amounts = this.begin(actual);
    this.stateValue = 'settled';
    const shortfall: Record<string, number> = {};
    const results = await Promise.allSettled(
      this.parts.map(async (p, i) => {
        const short = await settlePart(p, amounts[i]!);
        if (short > 0) setOwn(shortfall, p.dim.name, short);
      }),
    );
    const failed = results.findIndex((r) => r.status === 'rejected');
    if (failed >= 0) {
      throw memberFailure(
        (results[failed] as PromiseRejectedResult).reason,
        this.parts[failed]!.dim.name,
      );
    }
    return { shortfall: shortfall as Usage<D> };
  }

  /**
   * Refund every dimension (the dispatch did not happen).
   *
   * @returns `true` if this call cancelled it, `false` if it was already settled or cancelled.
   */
  cancelSync(): boolean {
    if (this.stateValue !== 'held') return false;
    this.stateValue = 'cancelled';
    refundAllSync(this.parts);
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
    await refundAll(this.parts);
    return true;
  }

  [Symbol.dispose](): void {
    if (this.stateValue !== 'held') return;
    this.stateValue = 'cancelled';
    refundAllSync(this.parts);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.cancel();
  }

  /** Validates `actual` completely before anything changes; amounts per part. */
  private begin(actual: Usage<D>): number[] {
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
    for (const [name, amount] of Object.entries(actual)) {
      // As in an estimate, an undefined amount is the same as leaving the dimension out.
      if (amount === undefined) continue;
      if (!names.has(name)) {
        throw invalid(`usage names ${JSON.stringify(name)}, which this dispatch did not reserve`, {
          dimension: name,
        });
      }
      assertAmount(amount, `usage.${name}`);
    }
    return this.parts.map((p) => (ownValue(actual, p.dim.name) as number | undefined) ?? p.cost);
  }
}

/** Settles one in-process part; returns the overage a guard could not take. */
function settleSyncPart(p: Part, actual: number): number {
  const h = p.handle;
  if (isReservation(h)) {
    (p.dim.budget as SyncTokenBudget).recordUsageSync(h, actual, 0);
    return 0;
  }
  const permit = h as SyncBudgetPermit;
  const guard = p.dim.budget as SyncBudgetGuard;
  if (actual === p.cost) {
    permit.commitSync();
    return 0;
  }
  if (actual > p.cost) {
    permit.commitSync();
    // Take as much of the overage as there is room for; report the rest.
    const over = actual - p.cost;
    const take = Math.min(over, guard.available());
    // available() is a hint: a guard may still refuse (a waiting line with waiters in it
    // does), and then none of the overage was charged.
    const extra = take > 0 ? guard.tryAcquireSync(take) : null;
    if (extra === null) return over;
    extra.commitSync();
    return over - take;
  }
  // Used less than reserved: keep what was used and return the rest in one step, to the
  // epoch the permit was taken in (never by release and re-acquire, which another caller
  // could interleave, and which would bill the current epoch for an older one's use). A
  // guard that declares no partial commit keeps it all: over-charged, never lost.
  if (p.dim.partial) permit.commitSync(actual);
  else permit.commitSync();
  return 0;
}

async function settlePart(p: Part, actual: number): Promise<number> {
  if (p.dim.sync) return settleSyncPart(p, actual);
  const h = p.handle;
  if (isReservation(h)) {
    await (p.dim.budget as TokenBudget).recordUsage(h, actual, 0);
    return 0;
  }
  const guard = p.dim.budget as PermitBudgetGuard;
  if (actual >= p.cost) {
    await h.commit();
    if (actual === p.cost) return 0;
    const extra = await guard.tryAcquire(actual - p.cost);
    if (extra === null) return actual - p.cost;
    await extra.commit();
    return 0;
  }
  // Used less than reserved: a partial commit, in one step at the guard, where declared.
  if (p.dim.partial) await h.commit(actual);
  else await h.commit();
  return 0;
}

function refundAllSync(parts: readonly Part[]): void {
  let failure: unknown;
  for (const p of parts) {
    try {
      if (isReservation(p.handle)) p.handle[Symbol.dispose]();
      else (p.handle as SyncBudgetPermit).releaseSync();
    } catch (error) {
      failure ??= memberFailure(error, p.dim.name);
    }
  }
  if (failure !== undefined) throw failure;
}

async function refundAll(parts: readonly Part[]): Promise<void> {
  const results = await settleEach(parts, (p) =>
    isReservation(p.handle) ? p.handle[Symbol.asyncDispose]() : p.handle.release(),
  );
  const failed = results.findIndex((r) => r.status === 'rejected');
  if (failed >= 0) {
    throw memberFailure((results[failed] as PromiseRejectedResult).reason, parts[failed]!.dim.name);
  }
}

function toDims(dimensions: unknown): Dim[] {
  if (typeof dimensions !== 'object' || dimensions === null || Array.isArray(dimensions)) {
    throw invalid(`coordinator expects a record of named budgets, got ${describe(dimensions)}`, {});
  }
  const dims: Dim[] = [];
  const seen = new Map<unknown, string>();
  for (const [name, budget] of Object.entries(dimensions)) {
    const first = seen.get(budget);
    if (first !== undefined) {
      throw invalid(`dimension ${name} is the same budget as dimension ${first}`, {
        dimension: name,
        duplicateOf: first,
      });
    }
    seen.set(budget, name);
    if (isTokenBudget(budget)) {
      dims.push({ name, budget, tokens: true, sync: isSyncTokenBudget(budget), partial: true });
    } else if (typeof (budget as PermitBudgetGuard | null)?.tryAcquire === 'function') {
      const guard = budget as PermitBudgetGuard;
      // Under-use is returned by a partial commit where the guard declares one; a guard that
      // does not is committed whole (its under-use stays charged until the next refill).
      const partial = capabilitiesOf(guard).partialCommit;
      dims.push({ name, budget: guard, tokens: false, sync: isSyncGuard(guard), partial });
    } else {
      throw invalid(
        `dimension ${name} is not a budget guard or token budget: ${describe(budget)}`,
        {
          dimension: name,
        },
      );
    }
  }
  if (dims.length === 0) throw invalid('coordinator needs at least one dimension', {});
  return dims;
}

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
   * @param extra - more named budgets; names must be new.
   * @returns a coordinator over both sets.
   */
  with<E extends string>(extra: Readonly<Record<E, Dimension>>): Coordinator<D | E> {
    const more = toDims(extra);
    for (const d of more) {
      if (this.byName.has(d.name)) {
        throw invalid(`dimension ${d.name} already exists`, { dimension: d.name });
      }
      if (this.dims.some((x) => x.budget === d.budget)) {
        throw invalid(`dimension ${d.name} is a budget this coordinator already has`, {
          dimension: d.name,
        });
      }
    }
    return new Coordinator<D | E>([...this.dims, ...more]);
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
        refundQuietly(parts);
        throw memberFailure(error, dim.name);
      }
      if (handle === null) {
        refundQuietly(parts);
        return denial(dim, cost);
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
        await refundAll(parts).catch(() => undefined);
        throw memberFailure(error, dim.name);
      }
      if (handle === null) {
        await refundAll(parts).catch(() => undefined);
        return denial(dim, cost);
      }
      parts.push({ dim, cost, handle });
    }
    return { ok: true, permit: new Dispatch(estimate, parts) };
  }

  /**
   * Reserve, run `fn`, and reconcile with the usage it reports; refund everything if it
   * throws. An already-aborted signal charges nothing. The signal is handed to `fn`, which
   * should stop on it: a run that then throws is refunded, and a run that still returns its
   * usage is settled with it, because that usage really happened.
   *
   * @param estimate - amount per dimension.
   * @param fn - the work; gets the signal and the dispatch, returns `{ value, usage }`.
   * @param options - an `AbortSignal`.
   * @returns the value and the settle report, or the denial.
   * @throws BudgetError `ABORTED` for an aborted signal; whatever `fn` threw, after the refund.
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
      await dispatch.cancel();
      throw new BudgetError({
        code: 'ABORTED',
        message: 'run aborted while reserving',
        cause: signal.reason,
      });
    }
    let result: RunResult<T, D>;
    try {
      result = await fn(signal, dispatch);
    } catch (error) {
      await dispatch.cancel();
      throw error;
    }
    const shaped = isRunResult(result);
    if (dispatch.state !== 'held') {
      // fn settled or cancelled the dispatch itself.
      return { ok: true, value: shaped ? result.value : (result as T), report: { shortfall: {} } };
    }
    // The work has run: whatever is wrong with what fn returned, the dispatch is settled (at
    // its estimate, the bound it was admitted under) before the error goes out, never left held.
    if (!shaped) {
      await dispatch.settle({});
      throw invalid(
        `run's function must resolve { value, usage? }, got ${describe(result)}; the dispatch was settled at its estimate`,
        {},
      );
    }
    let report: SettleReport<D>;
    try {
      report = await dispatch.settle(result.usage as Usage<D>);
    } catch (error) {
      if (dispatch.state === 'held' && BudgetError.isInstance(error)) {
        await dispatch.settle({});
        throw new BudgetError({
          code: error.code,
          message: `${error.message}; the dispatch was settled at its estimate`,
          cause: error,
        });
      }
      throw error;
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

function refundQuietly(parts: readonly Part[]): void {
  try {
    refundAllSync(parts);
  } catch {
    // The denial or failure that caused the rollback is what the caller needs to see.
  }
}

function denial<D>(dim: Dim, cost: number): { ok: false; deniedBy: D; retryAfterMs?: number } {
  const retryAfterMs = retryAfterOf(dim.budget, cost);
  const deniedBy = dim.name as D;
  return retryAfterMs === undefined
    ? { ok: false, deniedBy }
    : { ok: false, deniedBy, retryAfterMs };
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
 * @param dimensions - named guards and token budgets, none given twice.
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
