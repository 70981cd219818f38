import type { BudgetEvent } from '@budgetry/core';
import { type Attributes, type Meter, metrics, type Tracer, trace } from '@opentelemetry/api';
import type { CoordinatorCalls, CoordinatorLike } from './coordinator-like.js';
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
import { type TraceSink, traceDispatches, traceReservations } from './tracing.js';
import {
  inScope,
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
  private readonly shadowStops: (() => void)[] = [];
  private closed = false;

  /** @internal Use {@link budgetTelemetry}. */
  constructor(options: BudgetTelemetryOptions) {
    this.meter = options.meter ?? metrics.getMeter('@budgetry/otel');
    this.instruments = createInstruments(this.meter);
    this.sink = {
      tracer: options.tracer ?? trace.getTracer('@budgetry/otel'),
      instruments: this.instruments,
      now: options.now ?? (() => performance.now()),
    };
    this.stopGauges = observeGauges(this.meter, this.instruments, () => this.readings());
  }

  /**
   * Export a budget's metrics: utilization, available and debt as gauges read at each
   * collection; reservations, denials, over-released and leaked units as counters from its
   * events; threshold crossings when asked. A budget that reports no events (an `allOf`, an
   * `anyOf`) exports its gauges only; a hierarchy node counts what was made through it or
   * below it (see {@link WatchableBudget}); a refill scheduler's view is read
   * through itself and heard through the budget it drives. A budget made by {@link shadow} is labelled
   * `budgetry.mode: shadow`, and what it lets through is counted too. The budget pays for
   * this only while watched: one listener call per event.
   *
   * @param budget - a {@link WatchableBudget}, or a refill scheduler's view
   * ({@link ScheduledWatchable}).
   * @param options - its name, an opt-in tenant label and threshold levels.
   * @returns a function that stops watching (once).
   * @throws BudgetError `INVALID_ARGUMENT` for a budget that cannot be watched or is watched
   * already, a name and tenant another watched budget has, bad labels or levels, thresholds
   * on a budget that cannot report its crossings, or a closed telemetry; nothing is watched
   * then.
   */
  watch(budget: WatchableBudget | ScheduledWatchable, options: WatchOptions): () => void {
    this.checkOpen();
    const target = watchTarget(budget);
    // Thresholds are checked before anything is subscribed.
    if (options?.thresholds !== undefined) thresholdSource(budget);
    const attributes = labelsOf(options, ATTR.budget, shadowStateOf(budget) !== undefined);
    if (this.watched.has(budget)) {
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
      stops.push(target.events.subscribe(this.listenerFor(attributes, target.scope)));
    const state = shadowStateOf(budget);
    if (state !== undefined) stops.push(state.listen(this.shadowListener(attributes)));
    const entry: Watched = { budget, gauges: target.gauges, attributes, stops, key };
    this.watched.set(budget, entry);
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
   * histogram. Every other member is the budget's own.
   *
   * @param budget - any guard, token budget or waiting guard.
   * @param options - its name and an opt-in tenant label.
   * @returns the traced budget.
   * @throws BudgetError `INVALID_ARGUMENT` for something that is not a budget or bad labels.
   */
  traceBudget<T extends object>(budget: T, options: TelemetryLabels): T {
    this.checkOpen();
    if (typeof budget !== 'object' || budget === null) {
      throw invalid(`traceBudget expects a budget, got ${describe(budget)}`);
    }
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
   * through counted.
   *
   * @param coordinator - a coordinator from `@budgetry/compose`.
   * @param options - its name and an opt-in tenant label.
   * @returns the traced coordinator.
   * @throws BudgetError `INVALID_ARGUMENT` for something that is not a coordinator or bad
   * labels.
   */
  traceCoordinator<C extends CoordinatorLike>(coordinator: C, options: TelemetryLabels): C {
    this.checkOpen();
    if (!hasMethod(coordinator, 'tryReserve') || !hasMethod(coordinator, 'run')) {
      throw invalid(`traceCoordinator expects a coordinator, got ${describe(coordinator)}`);
    }
    const state = shadowStateOf(coordinator);
    const attributes = labelsOf(options, ATTR.coordinator, state !== undefined);
    if (state !== undefined) this.shadowStops.push(state.listen(this.shadowListener(attributes)));
    return traceDispatches(
      coordinator as unknown as CoordinatorCalls,
      this.sink,
      attributes,
    ) as unknown as C;
  }

  /** Stops watching every budget and reading gauges. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const entry of [...this.watched.values()]) this.unwatch(entry);
    for (const stop of this.shadowStops.splice(0)) stop();
    this.stopGauges();
  }

  private checkOpen(): void {
    if (this.closed) throw invalid('this telemetry is closed', {});
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

  private listenerFor(
    attributes: Attributes,
    scope: readonly string[] | undefined,
  ): (event: BudgetEvent) => void {
    const { reservations, denials, overReleased, leaked } = this.instruments;
    return (event) => {
      // A hierarchy node hears its whole tree's refunds; it counts its own subtree's.
      if (scope !== undefined && !inScope(scope, event)) return;
      switch (event.type) {
        case 'reserve':
          reservations.add(1, attributes);
          break;
        case 'deny':
          denials.add(1, attributes);
          break;
        case 'over-release':
          overReleased.add(event.excess, attributes);
          break;
        case 'leak':
          leaked.add(event.amount, attributes);
          break;
        default:
          break;
      }
    };
  }

  private shadowListener(attributes: Attributes): (event: ShadowEvent) => void {
    const { shadowPasses, shadowPassed, shadowUsed } = this.instruments;
    return (event) => {
      switch (event.type) {
        case 'pass':
          shadowPasses.add(1, { ...attributes, [ATTR.reason]: event.reason });
          shadowPassed.add(event.cost, attributes);
          break;
        case 'pass-settle':
          shadowUsed.add(event.used, attributes);
          break;
        case 'dispatch-pass':
          shadowPasses.add(1, {
            ...attributes,
            [ATTR.reason]: event.reason,
            ...(event.deniedBy === undefined ? {} : { [ATTR.deniedBy]: event.deniedBy }),
          });
          for (const [dim, amount] of Object.entries(event.estimate)) {
            shadowPassed.add(amount, { ...attributes, [ATTR.dimension]: dim });
          }
          break;
        case 'dispatch-settle':
          for (const [dim, amount] of Object.entries(event.used)) {
            shadowUsed.add(amount, { ...attributes, [ATTR.dimension]: dim });
          }
          break;
        case 'failure':
          // A policy failing to settle is told to the shadow's observer; it passes nothing.
          break;
      }
    };
  }
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
    const value = options[key];
    if (value !== undefined && (typeof value !== 'object' || value === null)) {
      throw invalid(`option ${key} must be an OpenTelemetry ${key}, got ${describe(value)}`);
    }
  }
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw invalid(`option now must be a function, got ${describe(options.now)}`);
  }
  return new BudgetTelemetry(options);
}
