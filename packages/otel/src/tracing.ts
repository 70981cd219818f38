// What the two tracing wrappers share: where they record, how a failed call is recorded, and
// which objects are traced wrappers already.
import { BudgetError } from '@budgetry/core';
import { type Span, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import type { Instruments } from './instruments.js';
import { ATTR } from './instruments.js';

/** @internal What the tracing wrappers record to. */
export interface TraceSink {
  readonly tracer: Tracer;
  readonly instruments: Instruments;
  readonly now: () => number;
  /** `false` once the telemetry is closed: the wrappers then pass every call straight through. */
  readonly open: () => boolean;
}

/** @internal The outcome of a call that threw. */
function failedOutcome(error: unknown): string {
  if (BudgetError.isInstance(error)) {
    if (error.code === 'ABORTED') return 'aborted';
    if (error.code === 'TIMEOUT') return 'timeout';
  }
  return 'error';
}

/** @internal Marks `span` failed with `error`, and returns the outcome to record. */
export function fail(span: Span, error: unknown): string {
  const outcome = failedOutcome(error);
  span.setAttribute(ATTR.outcome, outcome);
  if (error instanceof Error) span.recordException(error);
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
  return outcome;
}

/**
 * Every traced wrapper, by any telemetry, and what it wraps. A wrapper traced again would open
 * two spans per call and count each dispatch twice, so tracing one is refused; a watch of a
 * wrapper is a watch of the budget it wraps.
 */
const traced = new WeakMap<object, object>();

/** @internal Records `wrapper` as a traced wrapper of `target`. */
export function markTraced<T extends object>(wrapper: T, target: object): T {
  traced.set(wrapper, target);
  return wrapper;
}

/** @internal What `value` wraps, if it is a traced wrapper; otherwise `undefined`. */
export function tracedTargetOf(value: object): object | undefined {
  return traced.get(value);
}
