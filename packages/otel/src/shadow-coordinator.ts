import type { CoordinatorCalls, CoordinatorLike, DecisionShape } from './coordinator-like.js';
import { describe, invalid } from './invalid.js';
import { PhantomDispatch } from './phantom.js';
import { hasMethod, withOverrides } from './proxy.js';
import {
  isCallerError,
  registerShadow,
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
 * The caller's own mistakes (an unknown dimension, a bad amount, an aborted signal) still throw.
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

function wrap(c: CoordinatorCalls, state: ShadowState): CoordinatorCalls {
  const phantom = (estimate: object) =>
    new PhantomDispatch(estimate as Record<string, number | undefined>, (est, used) =>
      state.emit({ type: 'dispatch-settle', shadow: state.name, estimate: est, used }),
    );
  const definedOf = (estimate: object): Record<string, number> =>
    Object.fromEntries(Object.entries(estimate).filter(([, v]) => v !== undefined));
  const pass = (estimate: object, denial: DecisionShape | undefined, error: unknown) => {
    const base = {
      type: 'dispatch-pass',
      shadow: state.name,
      estimate: definedOf(estimate),
    } as const;
    if (denial !== undefined && !denial.ok) {
      state.emit({
        ...base,
        reason: 'denied',
        deniedBy: denial.deniedBy,
        ...(denial.retryAfterMs === undefined ? {} : { retryAfterMs: denial.retryAfterMs }),
      });
    } else {
      state.emit({ ...base, reason: 'failed', error });
    }
  };
  const decided = (estimate: object, decision: DecisionShape): DecisionShape => {
    if (decision.ok) return decision;
    pass(estimate, decision, undefined);
    return { ok: true, permit: phantom(estimate) };
  };
  const failed = (estimate: object, error: unknown): DecisionShape => {
    if (isCallerError(error)) throw error;
    pass(estimate, undefined, error);
    return { ok: true, permit: phantom(estimate) };
  };
  const overrides: Record<string, (...args: never[]) => unknown> = {
    tryReserve: (async (estimate: object) => {
      let decision: DecisionShape;
      try {
        decision = await c.tryReserve(estimate);
      } catch (error) {
        return failed(estimate, error);
      }
      return decided(estimate, decision);
    }) as (...args: never[]) => unknown,
    run: ((estimate: object, fn: unknown, options?: { signal?: AbortSignal }) =>
      run(c, estimate, fn, options, phantom, pass)) as (...args: never[]) => unknown,
    with: ((extra: object) => wrap(c.with(extra), state)) as (...args: never[]) => unknown,
  };
  if (typeof c.tryReserveSync === 'function') {
    const trySync = c.tryReserveSync.bind(c);
    overrides['tryReserveSync'] = ((estimate: object) => {
      let decision: DecisionShape;
      try {
        decision = trySync(estimate);
      } catch (error) {
        return failed(estimate, error);
      }
      return decided(estimate, decision);
    }) as (...args: never[]) => unknown;
  }
  return registerShadow(withOverrides(c, overrides), state);
}

type Outcome =
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
  const usage = (result as { usage?: unknown } | null)?.usage;
  if (dispatch.state === 'held') {
    try {
      dispatch.settleSync((usage ?? {}) as Record<string, number | undefined>);
    } catch (error) {
      dispatch.settleSync({});
      throw error;
    }
  }
  return { ok: true, value: resultValue(result), report: { shortfall: {}, overcharge: {} } };
}

function resultValue(result: unknown): unknown {
  return typeof result === 'object' && result !== null && Object.hasOwn(result, 'value')
    ? (result as { value: unknown }).value
    : result;
}
