import { type Attributes, context, type Span, trace } from '@opentelemetry/api';
import type { CoordinatorCalls, DecisionShape } from './coordinator-like.js';
import { ATTR } from './instruments.js';
import { PhantomDispatch, phantoms } from './phantom.js';
import { withOverrides } from './proxy.js';
import { shadowDispatchesOf } from './shadow-coordinator.js';
import type { ShadowListener } from './shadow-state.js';
import { fail, markTraced, type TraceSink } from './tracing.js';

type Fn = (...args: never[]) => unknown;
type RunOutcome = Awaited<ReturnType<CoordinatorCalls['run']>>;

/**
 * @internal `coordinator` with a span around each dispatch, and dispatches counted. For a
 * shadow coordinator, what each dispatch lets through is told to `onShadow` (the telemetry
 * counts it under this wrapper's labels); dispatches made through the shadow itself, or
 * through another traced copy of it, are not. Once the telemetry is closed, every call goes
 * straight to the coordinator.
 */
export function traceDispatches(
  c: CoordinatorCalls,
  sink: TraceSink,
  attributes: Attributes,
  onShadow: ShadowListener,
): CoordinatorCalls {
  const shadowCalls = shadowDispatchesOf(c);
  const start = (method: string, estimate: unknown) => {
    const estimated: Attributes = {};
    if (typeof estimate === 'object' && estimate !== null) {
      for (const [dim, amount] of Object.entries(estimate)) {
        if (typeof amount === 'number') estimated[`budgetry.estimate.${dim}`] = amount;
      }
    }
    return sink.tracer.startSpan('budgetry.dispatch', {
      attributes: { ...attributes, [ATTR.method]: method, ...estimated },
    });
  };
  // A dispatch that began before close() ends its span after it, and counts nothing, as a
  // shadow's pass settling after it counts nothing.
  const count = (outcome: string, deniedBy?: string) => {
    if (!sink.open()) return;
    sink.instruments.dispatches.add(1, {
      ...attributes,
      [ATTR.outcome]: outcome,
      ...(deniedBy === undefined ? {} : { [ATTR.deniedBy]: deniedBy }),
    });
  };
  const decided = (span: Span, decision: DecisionShape, passed: boolean): DecisionShape => {
    if (decision.ok) {
      const outcome = passed || phantoms.has(decision.permit as object) ? 'passed' : 'granted';
      span.setAttribute(ATTR.outcome, outcome);
      count(outcome);
    } else {
      span.setAttributes({ [ATTR.outcome]: 'denied', [ATTR.deniedBy]: decision.deniedBy });
      if (decision.retryAfterMs !== undefined) {
        span.setAttribute(ATTR.retryAfterMs, decision.retryAfterMs);
      }
      count('denied', decision.deniedBy);
    }
    span.end();
    return decision;
  };
  const failed = (span: Span, error: unknown): never => {
    count(fail(span, error));
    span.end();
    throw error;
  };
  const reserve = (estimate: object): Promise<DecisionShape> =>
    shadowCalls === undefined ? c.tryReserve(estimate) : shadowCalls.tryReserve(estimate, onShadow);
  const reserveSync = (estimate: object): DecisionShape => {
    const trySync = shadowCalls?.tryReserveSync;
    return trySync === undefined ? c.tryReserveSync!(estimate) : trySync(estimate, onShadow);
  };
  const dispatch = (
    estimate: object,
    fn: unknown,
    options: { signal?: AbortSignal } | undefined,
  ): Promise<RunOutcome> =>
    shadowCalls === undefined
      ? c.run(estimate, fn as never, options)
      : shadowCalls.run(estimate, fn, options, onShadow);

  const tryReserve = async (estimate: object) => {
    const span = start('tryReserve', estimate);
    let decision: DecisionShape;
    try {
      decision = await reserve(estimate);
    } catch (error) {
      return failed(span, error);
    }
    return decided(span, decision, false);
  };
  const run = async (estimate: object, fn: unknown, options?: { signal?: AbortSignal }) => {
    const span = start('run', estimate);
    const active = trace.setSpan(context.active(), span);
    let passed = false;
    // The work runs inside the dispatch span, so the spans it starts (the model call) nest.
    const inside =
      typeof fn === 'function'
        ? (signal: AbortSignal | undefined, dispatched: unknown) => {
            passed = dispatched instanceof PhantomDispatch;
            return context.with(active, async () => {
              const result = await (fn as (s: unknown, d: unknown) => Promise<unknown>)(
                signal,
                dispatched,
              );
              const usage = (result as { usage?: unknown } | null)?.usage;
              if (typeof usage === 'object' && usage !== null) {
                for (const [dim, amount] of Object.entries(usage)) {
                  if (typeof amount === 'number')
                    span.setAttribute(`budgetry.usage.${dim}`, amount);
                }
              }
              return result;
            });
          }
        : fn;
    let out: RunOutcome;
    try {
      out = await dispatch(estimate, inside, options);
    } catch (error) {
      return failed(span, error);
    }
    if (out.ok) {
      const report = out.report as { shortfall?: Record<string, number> } | undefined;
      for (const [dim, short] of Object.entries(report?.shortfall ?? {})) {
        span.setAttribute(`budgetry.shortfall.${dim}`, short);
      }
      decided(span, { ok: true, permit: undefined }, passed);
    } else {
      decided(span, out, false);
    }
    return out;
  };
  // Closed, a call is the coordinator's own, with the caller's arguments as they were given.
  const own =
    (method: 'tryReserve' | 'tryReserveSync' | 'run') =>
    (...args: unknown[]) =>
      (c[method] as (...a: unknown[]) => unknown).apply(c, args);
  const overrides: Record<string, Fn> = {
    tryReserve: ((...args: [object]) =>
      sink.open() ? tryReserve(...args) : own('tryReserve')(...args)) as Fn,
    run: ((...args: [object, unknown, { signal?: AbortSignal }?]) =>
      sink.open() ? run(...args) : own('run')(...args)) as Fn,
    with: ((extra: object) => traceDispatches(c.with(extra), sink, attributes, onShadow)) as Fn,
  };
  if (typeof c.tryReserveSync === 'function') {
    const tryReserveSync = (estimate: object) => {
      const span = start('tryReserveSync', estimate);
      let decision: DecisionShape;
      try {
        decision = reserveSync(estimate);
      } catch (error) {
        return failed(span, error);
      }
      return decided(span, decision, false);
    };
    overrides['tryReserveSync'] = ((...args: [object]) =>
      sink.open() ? tryReserveSync(...args) : own('tryReserveSync')(...args)) as Fn;
  }
  return markTraced(withOverrides(c, overrides), c);
}
