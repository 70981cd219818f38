import { BudgetError, retryAfterOf } from '@budgetry/core';
import {
  type Attributes,
  context,
  type Span,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { CoordinatorCalls, DecisionShape } from './coordinator-like.js';
import { ATTR, type Instruments } from './instruments.js';
import { PhantomDispatch, phantoms } from './phantom.js';
import { hasMethod, withOverrides } from './proxy.js';

/** @internal What the tracing wrappers record to. */
export interface TraceSink {
  readonly tracer: Tracer;
  readonly instruments: Instruments;
  readonly now: () => number;
}

type Fn = (...args: never[]) => unknown;

/** @internal The outcome of a call that threw. */
function failedOutcome(error: unknown): string {
  if (BudgetError.isInstance(error)) {
    if (error.code === 'ABORTED') return 'aborted';
    if (error.code === 'TIMEOUT') return 'timeout';
  }
  return 'error';
}

/** @internal Marks `span` failed with `error`, and returns the outcome to record. */
function fail(span: Span, error: unknown): string {
  const outcome = failedOutcome(error);
  span.setAttribute(ATTR.outcome, outcome);
  if (error instanceof Error) span.recordException(error);
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
  return outcome;
}

const RESERVATIONS = [
  'tryReserveSync',
  'tryAcquireSync',
  'tryReserveTokensSync',
  'tryReserve',
  'tryAcquire',
  'tryReserveTokens',
  'acquire',
] as const;

/** @internal `budget` with a span around each reservation, and acquire's wait measured. */
export function traceReservations<T extends object>(
  budget: T,
  sink: TraceSink,
  attributes: Attributes,
): T {
  const target = budget as unknown as Record<string, (...args: unknown[]) => unknown>;
  const overrides: Record<string, Fn> = {};
  const start = (method: string, cost: unknown) =>
    sink.tracer.startSpan('budgetry.reserve', {
      attributes: {
        ...attributes,
        [ATTR.method]: method,
        ...(typeof cost === 'number' ? { [ATTR.cost]: cost } : {}),
      },
    });
  const finish = (span: Span, cost: unknown, got: unknown): void => {
    const granted = got !== null && got !== false && got !== undefined;
    const passed = granted && typeof got === 'object' && phantoms.has(got as object);
    span.setAttribute(ATTR.outcome, passed ? 'passed' : granted ? 'granted' : 'denied');
    if (!granted && typeof cost === 'number') {
      const retryAfterMs = retryAfterOf(budget, cost);
      if (retryAfterMs !== undefined) span.setAttribute(ATTR.retryAfterMs, retryAfterMs);
    }
    span.end();
  };
  for (const method of RESERVATIONS) {
    if (!hasMethod(budget, method)) continue;
    const original = target[method]!;
    if (method.endsWith('Sync')) {
      overrides[method] = ((cost: unknown) => {
        const span = start(method, cost);
        let got: unknown;
        try {
          got = original.call(target, cost);
        } catch (error) {
          fail(span, error);
          span.end();
          throw error;
        }
        finish(span, cost, got);
        return got;
      }) as Fn;
    } else {
      const waits = method === 'acquire';
      overrides[method] = (async (cost: unknown, ...rest: unknown[]) => {
        const span = start(method, cost);
        const began = sink.now();
        let got: unknown;
        try {
          got = await original.call(target, cost, ...rest);
        } catch (error) {
          const outcome = fail(span, error);
          if (waits) {
            sink.instruments.waitDuration.record(sink.now() - began, {
              ...attributes,
              [ATTR.outcome]: outcome,
            });
          }
          span.end();
          throw error;
        }
        if (waits) {
          const outcome = phantoms.has(got as object) ? 'passed' : 'granted';
          sink.instruments.waitDuration.record(sink.now() - began, {
            ...attributes,
            [ATTR.outcome]: outcome,
          });
        }
        finish(span, cost, got);
        return got;
      }) as Fn;
    }
  }
  return withOverrides(budget, overrides);
}

/** @internal `coordinator` with a span around each dispatch, and dispatches counted. */
export function traceDispatches(
  c: CoordinatorCalls,
  sink: TraceSink,
  attributes: Attributes,
): CoordinatorCalls {
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
  const count = (outcome: string, deniedBy?: string) =>
    sink.instruments.dispatches.add(1, {
      ...attributes,
      [ATTR.outcome]: outcome,
      ...(deniedBy === undefined ? {} : { [ATTR.deniedBy]: deniedBy }),
    });
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
  const overrides: Record<string, Fn> = {
    tryReserve: (async (estimate: object) => {
      const span = start('tryReserve', estimate);
      let decision: DecisionShape;
      try {
        decision = await c.tryReserve(estimate);
      } catch (error) {
        return failed(span, error);
      }
      return decided(span, decision, false);
    }) as Fn,
    run: (async (estimate: object, fn: unknown, options?: { signal?: AbortSignal }) => {
      const span = start('run', estimate);
      const active = trace.setSpan(context.active(), span);
      let passed = false;
      // The work runs inside the dispatch span, so the spans it starts (the model call) nest.
      const inside =
        typeof fn === 'function'
          ? (signal: AbortSignal | undefined, dispatch: unknown) => {
              passed = dispatch instanceof PhantomDispatch;
              return context.with(active, async () => {
                const result = await (fn as (s: unknown, d: unknown) => Promise<unknown>)(
                  signal,
                  dispatch,
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
      let out: Awaited<ReturnType<CoordinatorCalls['run']>>;
      try {
        out = await c.run(estimate, inside as never, options);
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
    }) as Fn,
    with: ((extra: object) => traceDispatches(c.with(extra), sink, attributes)) as Fn,
  };
  if (typeof c.tryReserveSync === 'function') {
    const trySync = c.tryReserveSync.bind(c);
    overrides['tryReserveSync'] = ((estimate: object) => {
      const span = start('tryReserveSync', estimate);
      let decision: DecisionShape;
      try {
        decision = trySync(estimate);
      } catch (error) {
        return failed(span, error);
      }
      return decided(span, decision, false);
    }) as Fn;
  }
  return withOverrides(c, overrides);
}
