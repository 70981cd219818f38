import type { Attributes, Span } from '@opentelemetry/api';
import { ATTR, deniedByAttribute } from './instruments.js';
import { phantoms } from './phantom.js';
import { hasMethod, withOverrides } from './proxy.js';
import { hintOf, registerShadow, shadowStateOf } from './shadow-state.js';
import { fail, markTraced, type TraceSink } from './tracing.js';

type Fn = (...args: never[]) => unknown;
type Call = (...args: unknown[]) => unknown;

/** Reservations answered with a handle or `true`, or a denial: `null` or `false`. */
const RESERVATIONS = [
  'tryReserveSync',
  'tryAcquireSync',
  'tryReserveTokensSync',
  'tryReserve',
  'tryAcquire',
  'tryReserveTokens',
  'acquire',
] as const;

/** Reservations answered with a decision: `{ ok: true, permit }`, or who denied and when. */
const DECISIONS = [
  'tryAcquireDetailedSync',
  'tryAcquireDetailed',
  'tryAcquireEachSync',
  'tryAcquireEach',
] as const;

/** @internal Whether `budget` has a reservation method a traced budget puts in spans. */
export function isTraceable(budget: object): boolean {
  return (
    RESERVATIONS.some((m) => hasMethod(budget, m)) || DECISIONS.some((m) => hasMethod(budget, m))
  );
}

/**
 * @internal `budget` with a span around each reservation, and acquire's wait measured; a
 * traced shadow is the shadow still, for a watch. Each method of the budget is read when it
 * is called, and called as it is once the telemetry is closed.
 */
export function traceReservations<T extends object>(
  budget: T,
  sink: TraceSink,
  attributes: Attributes,
): T {
  const target = budget as unknown as Record<string, Call>;
  const overrides: Record<string, Fn> = {};
  const start = (method: string, cost: unknown) =>
    sink.tracer.startSpan('budgetry.reserve', {
      attributes: { ...attributes, [ATTR.method]: method, ...costAttributes(cost) },
    });
  // A wait that began before close() ends its span after it, and records nothing.
  const wait = (began: number, outcome: string) => {
    if (!sink.open()) return;
    sink.instruments.waitDuration.record(sink.now() - began, {
      ...attributes,
      [ATTR.outcome]: outcome,
    });
  };
  for (const method of [...RESERVATIONS, ...DECISIONS]) {
    if (!hasMethod(budget, method)) continue;
    const decides = (DECISIONS as readonly string[]).includes(method);
    const call = (args: unknown[]) => (target[method] as Call).call(target, ...args);
    const finish = (span: Span, cost: unknown, got: unknown): void => {
      span.setAttributes(decides ? decisionOutcome(got) : answerOutcome(budget, cost, got));
      span.end();
    };
    let traced: (args: unknown[]) => unknown;
    if (method.endsWith('Sync')) {
      traced = (args) => {
        const span = start(method, args[0]);
        let got: unknown;
        try {
          got = call(args);
        } catch (error) {
          fail(span, error);
          span.end();
          throw error;
        }
        finish(span, args[0], got);
        return got;
      };
    } else {
      const waits = method === 'acquire';
      traced = async (args) => {
        const span = start(method, args[0]);
        const began = sink.now();
        let got: unknown;
        try {
          got = await call(args);
        } catch (error) {
          const outcome = fail(span, error);
          if (waits) wait(began, outcome);
          span.end();
          throw error;
        }
        if (waits) wait(began, phantoms.has(got as object) ? 'passed' : 'granted');
        finish(span, args[0], got);
        return got;
      };
    }
    overrides[method] = ((...args: unknown[]) => (sink.open() ? traced(args) : call(args))) as Fn;
  }
  const wrapper = markTraced(withOverrides(budget, overrides), budget);
  const state = shadowStateOf(budget);
  return state === undefined ? wrapper : registerShadow(wrapper, state);
}

/** `budgetry.cost`, or for per-member costs (`tryAcquireEach`) `budgetry.cost.<member>`. */
function costAttributes(cost: unknown): Attributes {
  if (typeof cost === 'number') return { [ATTR.cost]: cost };
  const out: Attributes = {};
  if (typeof cost !== 'object' || cost === null) return out;
  for (const [key, amount] of Object.entries(cost)) {
    if (typeof amount === 'number') out[`${ATTR.cost}.${key}`] = amount;
  }
  return out;
}

/** The outcome of a reservation answered with a handle, `true`, `null` or `false`. */
function answerOutcome(budget: object, cost: unknown, got: unknown): Attributes {
  const granted = got !== null && got !== false && got !== undefined;
  if (granted) {
    const passed = typeof got === 'object' && phantoms.has(got as object);
    return { [ATTR.outcome]: passed ? 'passed' : 'granted' };
  }
  // A hint that throws (a backend down) is no hint: the denial stays a denial.
  const retryAfterMs = typeof cost === 'number' ? hintOf(budget, cost) : undefined;
  return retryAfterMs === undefined
    ? { [ATTR.outcome]: 'denied' }
    : { [ATTR.outcome]: 'denied', [ATTR.retryAfterMs]: retryAfterMs };
}

/** The outcome of a reservation answered with a decision. */
function decisionOutcome(got: unknown): Attributes {
  const d = (typeof got === 'object' && got !== null ? got : {}) as {
    ok?: unknown;
    permit?: unknown;
    deniedBy?: unknown;
    retryAfterMs?: unknown;
  };
  if (d.ok) {
    const passed = typeof d.permit === 'object' && phantoms.has(d.permit as object);
    return { [ATTR.outcome]: passed ? 'passed' : 'granted' };
  }
  const out: Attributes = { [ATTR.outcome]: 'denied' };
  const deniedBy = deniedByAttribute(d.deniedBy);
  if (deniedBy !== undefined) out[ATTR.deniedBy] = deniedBy;
  if (typeof d.retryAfterMs === 'number') out[ATTR.retryAfterMs] = d.retryAfterMs;
  return out;
}
