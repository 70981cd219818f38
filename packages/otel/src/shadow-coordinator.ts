import type { CoordinatorCalls, CoordinatorLike, DecisionShape } from './coordinator-like.js';
import { describe, invalid } from './invalid.js';
import { PhantomDispatch } from './phantom.js';
import { hasMethod, withOverrides } from './proxy.js';
import {
  isCallerError,
  registerShadow,
  type ShadowListener,
  type ShadowOptions,
  type ShadowState,
  shadowStateFor,
} from './shadow-state.js';

/**
 * Run a coordinator in shadow mode: each dispatch is decided by the coordinator, all or
 * nothing as always, and exported; a denied dispatch goes ahead anyway on a phantom dispatch
 * that holds nothing on any dimension (a `dispatch-pass` event naming the dimension that
 * denied), and what it used is reported when it settles (`dispatch-settle`). As with
 * {@link shadow}, the dimensions are charged exactly what the coordinator admitted, so their
 * counts show what enforcing would have shown, and the coordinator failing (a dimension that
 * throws) is reported, never the caller's failure. In `run`, the work runs once: if it throws,
 * its own error goes out; if settling afterwards fails, the result is returned all the same.
 * The caller's own mistakes (an unknown dimension, a bad amount, an aborted signal, work that
 * resolves no `{ value, usage? }`) still throw, on a phantom dispatch as on a real one.
 *
 * To enforce some dimensions and only watch others, shadow those budgets with {@link shadow}
 * instead, and give the coordinator the shadows.
 *
 * @param coordinator - a coordinator from `@budgetry/compose`.
 * @param options - a name, and an observer for {@link ShadowEvent}s.
 * @returns a coordinator of the same type that never denies.
 * @throws BudgetError `INVALID_ARGUMENT` for something that is not a coordinator or bad options.
 *
 * @example
 * ```ts
 * import { AtomicBudget, AtomicTokenBudget } from '@budgetry/core';
 * import { coordinator } from '@budgetry/compose';
 * import { shadowCoordinator } from '@budgetry/otel';
 *
 * const policy = coordinator({ requests: new AtomicBudget(1), tokens: new AtomicTokenBudget(500) });
 * const llm = shadowCoordinator(policy, {
 *   name: 'proposed-limits',
 *   observer: (e) => {
 *     if (e.type === 'dispatch-pass') console.log(`would deny: ${e.deniedBy}`);
 *   },
 * });
 * const out = await llm.run({ requests: 1, tokens: 800 }, async () => ({
 *   value: 'answer',
 *   usage: { tokens: 640 },
 * })); // "would deny: tokens"
 * console.log(out.ok); // true
 * ```
 */
export function shadowCoordinator<C extends CoordinatorLike>(
  coordinator: C,
  options: ShadowOptions,
): C {
  const state = shadowStateFor(coordinator, options, 'shadowCoordinator');
  if (!hasMethod(coordinator, 'tryReserve') || !hasMethod(coordinator, 'run')) {
    throw invalid(`shadowCoordinator expects a coordinator, got ${describe(coordinator)}`);
  }
  return wrap(coordinator as unknown as CoordinatorCalls, state) as unknown as C;
}

/**
 * @internal A shadow coordinator's dispatches, each telling the events it causes (its pass,
 * and its phantom dispatch settling later) to the shadow's listeners and to `also`: a traced
 * copy counts there what it dispatched, and nothing another copy did.
 */
export interface ShadowDispatches {
  tryReserveSync?(estimate: object, also: ShadowListener | undefined): DecisionShape;
  tryReserve(estimate: object, also: ShadowListener | undefined): Promise<DecisionShape>;
  run(
    estimate: object,
    fn: unknown,
    options: { signal?: AbortSignal } | undefined,
    also: ShadowListener | undefined,
  ): Promise<Outcome>;
}

const dispatchesOf = new WeakMap<object, ShadowDispatches>();

/** @internal The dispatches of a shadow coordinator, or `undefined` for anything else. */
export function shadowDispatchesOf(value: object): ShadowDispatches | undefined {
  return dispatchesOf.get(value);
}

function wrap(c: CoordinatorCalls, state: ShadowState): CoordinatorCalls {
  const calls = dispatches(c, state);
  const overrides: Record<string, (...args: never[]) => unknown> = {
    tryReserve: ((estimate: object) => calls.tryReserve(estimate, undefined)) as Fn,
    run: ((estimate: object, fn: unknown, options?: { signal?: AbortSignal }) =>
      calls.run(estimate, fn, options, undefined)) as Fn,
    with: ((extra: object) => wrap(c.with(extra), state)) as Fn,
  };
  const trySync = calls.tryReserveSync;
  if (trySync !== undefined) {
    overrides['tryReserveSync'] = ((estimate: object) => trySync(estimate, undefined)) as Fn;
  }
  const wrapper = registerShadow(withOverrides(c, overrides), state);
  dispatchesOf.set(wrapper, calls);
  return wrapper;
}

type Fn = (...args: never[]) => unknown;

function dispatches(c: CoordinatorCalls, state: ShadowState): ShadowDispatches {
  const definedOf = (estimate: object): Record<string, number> =>
    Object.fromEntries(Object.entries(estimate).filter(([, v]) => v !== undefined));
  const phantom = (also: ShadowListener | undefined) => (estimate: object) =>
    new PhantomDispatch(estimate as Record<string, number | undefined>, (est, used) =>
      state.emit({ type: 'dispatch-settle', shadow: state.name, estimate: est, used }, also),
    );
  const pass =
    (also: ShadowListener | undefined) =>
    (estimate: object, denial: DecisionShape | undefined, error: unknown) => {
      const base = {
        type: 'dispatch-pass',
        shadow: state.name,
        estimate: definedOf(estimate),
      } as const;
      if (denial !== undefined && !denial.ok) {
        const { deniedBy, retryAfterMs, exceedsCapacity } = denial;
        const hint = retryAfterMs === undefined ? {} : { retryAfterMs };
        const never = exceedsCapacity === true ? { exceedsCapacity } : {};
        state.emit({ ...base, reason: 'denied', deniedBy, ...hint, ...never }, also);
      } else {
        state.emit({ ...base, reason: 'failed', error }, also);
      }
    };
  const decided = (estimate: object, decision: DecisionShape, also: ShadowListener | undefined) => {
    if (decision.ok) return decision;
    pass(also)(estimate, decision, undefined);
    return { ok: true, permit: phantom(also)(estimate) } as const;
  };
  const failed = (estimate: object, error: unknown, also: ShadowListener | undefined) => {
    if (isCallerError(error)) throw error;
    pass(also)(estimate, undefined, error);
    return { ok: true, permit: phantom(also)(estimate) } as const;
  };
  const calls: ShadowDispatches = {
    async tryReserve(estimate, also) {
      let decision: DecisionShape;
      try {
        decision = await c.tryReserve(estimate);
      } catch (error) {
        return failed(estimate, error, also);
      }
      return decided(estimate, decision, also);
    },
    run: (estimate, fn, options, also) => run(c, estimate, fn, options, phantom(also), pass(also)),
  };
  if (typeof c.tryReserveSync === 'function') {
    const trySync = c.tryReserveSync.bind(c);
    calls.tryReserveSync = (estimate, also) => {
      let decision: DecisionShape;
      try {
        decision = trySync(estimate);
      } catch (error) {
        return failed(estimate, error, also);
      }
      return decided(estimate, decision, also);
    };
  }
  return calls;
}

/** @internal What a shadow `run` resolves: the coordinator's outcome, never a denial. */
export type Outcome =
  | { readonly ok: true; readonly value: unknown; readonly report: unknown }
  | { readonly ok: false; readonly deniedBy: string; readonly retryAfterMs?: number };

async function run(
  c: CoordinatorCalls,
  estimate: object,
  fn: unknown,
  options: { signal?: AbortSignal } | undefined,
  phantom: (estimate: object) => PhantomDispatch,
  pass: (estimate: object, denial: DecisionShape | undefined, error: unknown) => void,
): Promise<Outcome> {
  if (typeof fn !== 'function') {
    throw invalid(`run expects a function, got ${describe(fn)}`);
  }
  const work = fn as (signal: AbortSignal | undefined, dispatch: unknown) => Promise<unknown>;
  // Where the work got to, so it runs once whatever the policy does around it.
  let started = false;
  let finished = false;
  let result: unknown;
  let thrown: { error: unknown } | undefined;
  const watched = async (signal: AbortSignal | undefined, dispatch: unknown) => {
    started = true;
    try {
      result = await work(signal, dispatch);
    } catch (error) {
      thrown = { error };
      throw error;
    }
    finished = true;
    return result;
  };
  let outcome: Outcome;
  try {
    outcome = await c.run(estimate, watched, options);
  } catch (error) {
    if (thrown !== undefined) throw thrown.error; // the work's own failure, refunded
    if (isCallerError(error)) throw error;
    if (finished) {
      // The policy failed to settle work that ran: report it, and return the work's result.
      pass(estimate, undefined, error);
      return { ok: true, value: resultValue(result), report: { shortfall: {}, overcharge: {} } };
    }
    if (started) throw error;
    pass(estimate, undefined, error);
    return runPhantom(estimate, work, options, phantom);
  }
  if (outcome.ok) return outcome;
  pass(estimate, outcome, undefined);
  return runPhantom(estimate, work, options, phantom);
}

async function runPhantom(
  estimate: object,
  work: (signal: AbortSignal | undefined, dispatch: unknown) => Promise<unknown>,
  options: { signal?: AbortSignal } | undefined,
  phantom: (estimate: object) => PhantomDispatch,
): Promise<Outcome> {
  const dispatch = phantom(estimate);
  let result: unknown;
  try {
    result = await work(options?.signal, dispatch);
  } catch (error) {
    dispatch.cancelSync();
    throw error;
  }
  const report = { shortfall: {}, overcharge: {} };
  // As the coordinator's run: work that settled its dispatch itself returns what it resolved;
  // otherwise a result that is not `{ value, usage? }` is the caller's mistake, thrown once
  // the dispatch is settled at its estimate.
  if (dispatch.state !== 'held') return { ok: true, value: resultValue(result), report };
  if (!isRunResult(result)) {
    dispatch.settleSync({});
    throw invalid(`run's function must resolve { value, usage? }, got ${describe(result)}`);
  }
  try {
    dispatch.settleSync((result.usage ?? {}) as Record<string, number | undefined>);
  } catch (error) {
    dispatch.settleSync({});
    throw error;
  }
  return { ok: true, value: result.value, report };
}

/** Whether the work resolved the `{ value, usage? }` a coordinator's run expects. */
function isRunResult(result: unknown): result is { value: unknown; usage?: object } {
  if (typeof result !== 'object' || result === null || !Object.hasOwn(result, 'value')) {
    return false;
  }
  const usage = (result as { usage?: unknown }).usage;
  return usage === undefined || (typeof usage === 'object' && usage !== null);
}

function resultValue(result: unknown): unknown {
  return typeof result === 'object' && result !== null && Object.hasOwn(result, 'value')
    ? (result as { value: unknown }).value
    : result;
}
