import { type Attributes, type Meter, metrics, type Tracer, trace } from '@opentelemetry/api';
import { type CoordinatorCalls, type CoordinatorLike, isCoordinator } from './coordinator-like.js';
import { budgetEventCounter, shadowEventCounter } from './event-counters.js';
import {
  ATTR,
  createInstruments,
  type GaugeReading,
  type Instruments,
  observeGauges,
} from './instruments.js';
import { checkLabel, checkOptions, describe, invalid } from './invalid.js';
import { hasMethod } from './proxy.js';
import { type ShadowEvent, shadowStateOf } from './shadow-state.js';
import { thresholdSource, watchThresholds } from './thresholds.js';
import { isTraceable, traceReservations } from './trace-budget.js';
import { traceDispatches } from './trace-coordinator.js';
import { type TraceSink, tracedTargetOf } from './tracing.js';
import {
  type ScheduledWatchable,
  utilizationOf,
  type WatchableBudget,
  watchTarget,
} from './watchable.js';

/**
 * Options for {@link budgetTelemetry}. Both default to the global OpenTelemetry providers,
 * which record nothing until an SDK is registered.
 *
 * @example
 * ```ts
 * import { metrics, trace } from '@opentelemetry/api';
 * import type { BudgetTelemetryOptions } from '@budgetry/otel';
 *
 * const options: BudgetTelemetryOptions = {
 *   meter: metrics.getMeter('checkout-service'),
 *   tracer: trace.getTracer('checkout-service'),
 * };
 * ```
 */
export interface BudgetTelemetryOptions {
  /** Where metrics go (default `metrics.getMeter('@budgetry/otel')`). */
  readonly meter?: Meter;
  /** Where spans go (default `trace.getTracer('@budgetry/otel')`). */
  readonly tracer?: Tracer;
  /** Milliseconds for wait durations (default `performance.now`); inject a fake in tests. */
  readonly now?: () => number;
}

/**
 * How a budget or coordinator is labelled in metrics and spans.
 *
 * @example
 * ```ts
 * import type { TelemetryLabels } from '@budgetry/otel';
 *
 * const labels: TelemetryLabels = { name: 'tokens', tenant: 'acme' };
 * ```
 */
export interface TelemetryLabels {
  /** The `budgetry.budget` (or `budgetry.coordinator`) attribute. */
  readonly name: string;
  /**
   * The `budgetry.tenant` attribute. Opt-in: every distinct value is a new time series, so
   * label tenants only where there are few of them.
   */
  readonly tenant?: string;
}

/**
 * Options for {@link BudgetTelemetry.watch}.
 *
 * @example
 * ```ts
 * import type { WatchOptions } from '@budgetry/otel';
 *
 * const options: WatchOptions = { name: 'usd', thresholds: [0.5, 0.8, 1] };
 * ```
 */
export interface WatchOptions extends TelemetryLabels {
  /** Utilization levels to count crossings of, once per epoch (see `watchThresholds`). */
  readonly thresholds?: readonly number[];
}

interface Watched {
  readonly budget: object;
  readonly gauges: WatchableBudget;
  readonly attributes: Attributes;
  readonly stops: (() => void)[];
  readonly key: string;
}

/**
 * Exports budgets through `@opentelemetry/api`; build it with {@link budgetTelemetry}.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import { budgetTelemetry } from '@budgetry/otel';
 *
 * const telemetry = budgetTelemetry();
 * const rows = new AtomicBudget(5_000);
 * const stop = telemetry.watch(rows, { name: 'rows' });
 * stop();
 * ```
 */
export class BudgetTelemetry {
  private readonly meter: Meter;
  private readonly instruments: Instruments;
  private readonly sink: TraceSink;
  private readonly watched = new Map<object, Watched>();
  private readonly stopGauges: () => void;
  private closed = false;

  /** @internal Use {@link budgetTelemetry}. */
  constructor(options: BudgetTelemetryOptions) {
    this.meter = options.meter ?? metrics.getMeter('@budgetry/otel');
    this.instruments = createInstruments(this.meter);
    this.sink = {
      tracer: options.tracer ?? trace.getTracer('@budgetry/otel'),
      instruments: this.instruments,
      now: options.now ?? (() => performance.now()),
      open: () => !this.closed,
    };
    this.stopGauges = observeGauges(this.meter, this.instruments, () => this.readings());
  }

  /**
   * Export a budget's metrics: utilization, available and debt as gauges read at each
   * collection; reservations, denials, over-released and leaked units as counters from its
   * events; threshold crossings when asked. A budget that reports no events (an `allOf`, an
   * `anyOf`) exports its gauges only; a hierarchy node counts what was made through it or
   * below it (see {@link WatchableBudget}); a refill scheduler's view is read
   * through itself and heard through the budget it drives. A budget made by {@link shadow}
   * (traced or not) is labelled `budgetry.mode: shadow`, and what it lets through is counted
   * too. A traced budget is watched as the budget it wraps. The budget pays for this only
   * while watched: one listener call per event. Two telemetries on one meter that watch one
   * budget under the same labels each count it, into one series: watch it once per meter.
   *
   * @param budget - a {@link WatchableBudget}, or a refill scheduler's view
   * ({@link ScheduledWatchable}).
   * @param options - its name, an opt-in tenant label and threshold levels.
   * @returns a function that stops watching (once).
   * @throws BudgetError `INVALID_ARGUMENT` for a budget that cannot be watched or is watched
   * already (itself, or through a traced wrapper), a name and tenant another watched budget
   * has, bad labels or levels (`null` among them), thresholds on a budget that cannot report
   * its crossings, or a closed telemetry; nothing is watched then.
   */
  watch(budget: WatchableBudget | ScheduledWatchable, options: WatchOptions): () => void {
    this.checkOpen();
    const target = watchTarget(budget);
    // Thresholds are checked before anything is subscribed.
    if (options?.thresholds !== undefined) thresholdSource(budget);
    const attributes = labelsOf(options, ATTR.budget, shadowStateOf(budget) !== undefined);
    // A traced wrapper is the budget it wraps: watched through both, it would count twice.
    const watchedAs = tracedTargetOf(budget) ?? budget;
    if (this.watched.has(watchedAs)) {
      throw invalid(`budget ${options.name} is watched already`, { name: options.name });
    }
    // Two budgets under one set of labels would share gauges (one reading hiding the other).
    const key = JSON.stringify([options.name, options.tenant ?? null]);
    for (const other of this.watched.values()) {
      if (other.key === key) {
        throw invalid(`another budget is watched as ${options.name} already`, {
          name: options.name,
          tenant: options.tenant,
        });
      }
    }
    const stops: (() => void)[] = [];
    if (options.thresholds !== undefined) {
      const crossings = this.instruments.thresholds;
      stops.push(
        watchThresholds(budget, {
          levels: options.thresholds,
          onCross: ({ level }) => crossings.add(1, { ...attributes, [ATTR.threshold]: level }),
        }),
      );
    }
    if (target.events !== undefined)
      stops.push(
        target.events.subscribe(budgetEventCounter(this.instruments, attributes, target.scope)),
      );
    const state = shadowStateOf(budget);
    if (state !== undefined) stops.push(state.listen(this.shadowCounter(attributes)));
    const entry: Watched = { budget: watchedAs, gauges: target.gauges, attributes, stops, key };
    this.watched.set(watchedAs, entry);
    let on = true;
    return () => {
      if (!on) return;
      on = false;
      this.unwatch(entry);
    };
  }

  /**
   * A budget of the same type whose reservations each run in a `budgetry.reserve` span with
   * the outcome (`granted`, `denied`, `passed` by a shadow, `error`, `aborted`, `timeout`),
   * the cost and, on a denial, `budgetry.retry_after_ms` when the budget's schedule knows;
   * `acquire` on a waiting guard also records its wait in the `budgetry.wait.duration`
   * histogram. The detailed reservations of an all-of, an any-of or a hierarchy node
   * (`tryAcquireDetailed…`, `tryAcquireEach…`) also record what denied
   * (`budgetry.denied_by`) and, for per-member costs, `budgetry.cost.<member>`. Every other
   * member is the budget's own; once this telemetry is closed, so is every call.
   *
   * @param budget - any guard, token budget or waiting guard; not a coordinator (see
   * {@link BudgetTelemetry.traceCoordinator}), and not a budget traced already.
   * @param options - its name and an opt-in tenant label.
   * @returns the traced budget.
   * @throws BudgetError `INVALID_ARGUMENT` for something that is not a budget (no reservation
   * method, or a coordinator), a budget traced already (by any telemetry: each call would be
   * in two spans), bad labels, or a closed telemetry.
   */
  traceBudget<T extends object>(budget: T, options: TelemetryLabels): T {
    this.checkOpen();
    if (typeof budget !== 'object' || budget === null) {
      throw invalid(`traceBudget expects a budget, got ${describe(budget)}`);
    }
    if (isCoordinator(budget)) {
      throw invalid(
        'traceBudget expects a budget, got a coordinator: trace it with traceCoordinator',
      );
    }
    if (!isTraceable(budget)) {
      throw invalid(
        `traceBudget expects a budget (a guard, a token budget or a waiting guard), got ${describe(budget)} with no reservation method`,
      );
    }
    checkNotTraced(budget, 'budget');
    const attributes = labelsOf(options, ATTR.budget, shadowStateOf(budget) !== undefined);
    return traceReservations(budget, this.sink, attributes);
  }

  /**
   * A coordinator of the same type whose dispatches each run in a `budgetry.dispatch` span:
   * the estimate per dimension, the outcome, the dimension that denied and its retry hint;
   * for `run`, the span covers reserve, work and settle, the work runs with it as the active
   * span (so the model call's spans nest under it), and the usage and any shortfall are
   * attributes. Dispatches are counted in `budgetry.dispatches` by outcome and denying
   * dimension. A coordinator made by {@link shadowCoordinator} also has what it lets
   * through counted, per dispatch, under the labels of the traced coordinator that made it:
   * each copy `with()` makes counts its own, and the shadow's untraced dispatches are counted
   * by none. Once this telemetry is closed, every call is the coordinator's own.
   *
   * @param coordinator - a coordinator from `@budgetry/compose`, not one traced already.
   * @param options - its name and an opt-in tenant label.
   * @returns the traced coordinator.
   * @throws BudgetError `INVALID_ARGUMENT` for something that is not a coordinator, a
   * coordinator traced already (by any telemetry, or `with()` made from a traced one: each
   * dispatch would be counted twice), bad labels, or a closed telemetry.
   */
  traceCoordinator<C extends CoordinatorLike>(coordinator: C, options: TelemetryLabels): C {
    this.checkOpen();
    const c: unknown = coordinator;
    if (
      typeof c !== 'object' ||
      c === null ||
      !hasMethod(c, 'tryReserve') ||
      !hasMethod(c, 'run')
    ) {
      throw invalid(`traceCoordinator expects a coordinator, got ${describe(coordinator)}`);
    }
    checkNotTraced(c, 'coordinator');
    const attributes = labelsOf(options, ATTR.coordinator, shadowStateOf(c) !== undefined);
    // What a shadow coordinator lets through is counted per dispatch, by the traced copy that
    // made it, never by listening to the state every copy of the shadow shares.
    return traceDispatches(
      c as CoordinatorCalls,
      this.sink,
      attributes,
      this.shadowCounter(attributes),
    ) as unknown as C;
  }

  /**
   * Stops watching every budget and reading gauges, and turns every budget and coordinator
   * this telemetry traced into a pass-through: their calls go straight to what they wrap,
   * with no span and nothing counted. A call begun before still ends its span, and counts
   * nothing once closed (a dispatch, an `acquire`'s wait, what a shadow let through
   * settling). Idempotent.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const entry of [...this.watched.values()]) this.unwatch(entry);
    this.stopGauges();
  }

  private checkOpen(): void {
    if (this.closed) throw invalid('this telemetry is closed', {});
  }

  private shadowCounter(attributes: Attributes): (event: ShadowEvent) => void {
    return shadowEventCounter(this.instruments, attributes, this.sink.open);
  }

  private unwatch(entry: Watched): void {
    if (this.watched.get(entry.budget) !== entry) return;
    this.watched.delete(entry.budget);
    for (const stop of entry.stops) stop();
  }

  private *readings(): Iterable<GaugeReading> {
    for (const { gauges, attributes } of this.watched.values()) {
      let reading: GaugeReading;
      try {
        const available = gauges.available();
        reading = {
          attributes,
          utilization: utilizationOf(gauges),
          available,
          debt: gauges.debt?.() ?? 0,
        };
      } catch {
        continue; // a closed or unreachable budget has no reading this time
      }
      yield reading;
    }
  }
}

/** Refuses a traced wrapper: traced twice, every call would be in two spans, counted twice. */
function checkNotTraced(value: object, what: 'budget' | 'coordinator'): void {
  if (tracedTargetOf(value) === undefined) return;
  throw invalid(
    `this ${what} is traced already (by this or another telemetry): trace the ${what} once, and give the traced one out`,
  );
}

function labelsOf(options: TelemetryLabels, key: string, shadowed: boolean): Attributes {
  checkOptions(options, 'telemetry');
  checkLabel(options.name, 'name', true);
  checkLabel(options.tenant, 'tenant', false);
  return {
    [key]: options.name,
    [ATTR.mode]: shadowed ? 'shadow' : 'enforce',
    ...(options.tenant === undefined ? {} : { [ATTR.tenant]: options.tenant }),
  };
}

/** What the telemetry calls on the meter and the tracer it is given. */
const REQUIRED = {
  meter: [
    'createObservableGauge',
    'createCounter',
    'createHistogram',
    'addBatchObservableCallback',
    'removeBatchObservableCallback',
  ],
  tracer: ['startSpan'],
} as const;

/**
 * Export budgets and coordinators through OpenTelemetry: `watch` a budget for metrics,
 * `traceBudget` / `traceCoordinator` for spans. Only what is watched or traced pays anything;
 * a budget that is not attached runs exactly as before (its observer slot stays empty).
 *
 * Metrics, each labelled `budgetry.budget` (or `budgetry.coordinator`), `budgetry.mode`
 * (`enforce` or `shadow`) and, opt-in, `budgetry.tenant`: gauges `budgetry.utilization`,
 * `budgetry.available`, `budgetry.debt`; counters `budgetry.reservations`,
 * `budgetry.denials`, `budgetry.over_released`, `budgetry.leaked`,
 * `budgetry.threshold.crossings`, `budgetry.dispatches`, `budgetry.shadow.passes`,
 * `budgetry.shadow.passed`, `budgetry.shadow.used`; histogram `budgetry.wait.duration` (ms).
 *
 * When to use: in a service with an OpenTelemetry SDK, to chart how full each budget runs,
 * alert on denials, debt and leaks, and see in a trace why a call waited or was refused.
 *
 * @param options - a meter, a tracer and a clock; each defaults to the global one.
 * @returns the telemetry.
 * @throws BudgetError `INVALID_ARGUMENT` for options that are not an object, a `meter` or
 * `tracer` without the methods the telemetry calls, or a `now` that is not a function.
 *
 * @example
 * ```ts
 * import { AtomicTokenBudget } from '@budgetry/core';
 * import { budgetTelemetry } from '@budgetry/otel';
 *
 * const telemetry = budgetTelemetry(); // the global meter and tracer
 * const tokens = new AtomicTokenBudget(90_000);
 * telemetry.watch(tokens, { name: 'tokens', thresholds: [0.8, 1] });
 * const traced = telemetry.traceBudget(tokens, { name: 'tokens' });
 * const r = traced.tryReserveTokensSync(1_200); // in a budgetry.reserve span
 * if (r) traced.recordUsageSync(r, 900, 150);
 * telemetry.close();
 * ```
 */
export function budgetTelemetry(options: BudgetTelemetryOptions = {}): BudgetTelemetry {
  checkOptions(options, 'budgetTelemetry');
  for (const key of ['meter', 'tracer'] as const) {
    const value: unknown = options[key];
    if (value === undefined) continue;
    const missing =
      typeof value === 'object' && value !== null
        ? REQUIRED[key].filter((method) => !hasMethod(value, method))
        : REQUIRED[key];
    if (missing.length > 0) {
      throw invalid(
        `option ${key} must be an OpenTelemetry ${key} (with ${missing.join(', ')}), got ${describe(value)}`,
      );
    }
  }
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw invalid(`option now must be a function, got ${describe(options.now)}`);
  }
  return new BudgetTelemetry(options);
}
