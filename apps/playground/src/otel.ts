// `--otel`: the run exported through `@budgetry/otel` into the OpenTelemetry SDK 2's in-memory
// exporters (as the otel package's own tests do), read back at the end into a summary that is
// checked against the run's own figures. Loaded only when asked for.
import { createRequire } from 'node:module';
import type { Coordinator, HierarchyNode, TokenBucket } from '@budgetry/compose';
import {
  type BudgetTelemetry,
  budgetTelemetry,
  type ShadowEvent,
  shadow,
  watchThresholds,
} from '@budgetry/otel';
import type { FakeClock } from '@budgetry/testing';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { Attachments, TenantNode } from './attachments.js';
import type { CoreTokenBudget } from './backend.js';
import type { CallPath } from './calls.js';
import { type Gateway, METER_LABELS, type MeterName } from './gateway.js';
import type { OtelOptions } from './options.js';
import {
  budgetsOf,
  dispatchesOf,
  type MetricPoint,
  OTEL_LABELS,
  type OtelSummary,
  otelChecks,
  runCounts,
  type ShadowReport,
  type ThresholdEvent,
} from './otel-summary.js';
import type { Interval } from './stats.js';

/** Threshold levels watched on the token budgets: half, four fifths, all. */
const LEVELS = [0.5, 0.8, 1];
/** The reader exports on a timer only if a run outlives it; the run collects by hand. */
const EXPORT_INTERVAL_MS = 24 * 60 * 60_000;
const ALL_TENANTS = 'all tenants/min';

const versionOf = (name: string) =>
  (createRequire(import.meta.url)(`${name}/package.json`) as { version: string }).version;
const EXPORTER = `OpenTelemetry SDK (@opentelemetry/sdk-metrics ${versionOf('@opentelemetry/sdk-metrics')}, sdk-trace-base ${versionOf('@opentelemetry/sdk-trace-base')}): a PeriodicExportingMetricReader into an InMemoryMetricExporter (cumulative), collected once at the end; a SimpleSpanProcessor into an InMemorySpanExporter, counted each simulated minute`;

/**
 * A run exported through `@budgetry/otel`: the requests bucket and the coordinator traced
 * (a span per reservation and per dispatch), every budget watched (gauges and counters;
 * threshold levels on the token budgets), and one budget in shadow mode when asked.
 */
export class OtelRun implements Attachments {
  private readonly exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  private readonly reader = new PeriodicExportingMetricReader({
    exporter: this.exporter,
    exportIntervalMillis: EXPORT_INTERVAL_MS,
  });
  private readonly meters = new MeterProvider({ readers: [this.reader] });
  private readonly spanExporter = new InMemorySpanExporter();
  private readonly tracers = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(this.spanExporter)],
  });
  private readonly telemetry: BudgetTelemetry;
  private readonly spans: Record<string, Record<string, number>> = {};
  private readonly thresholds: ThresholdEvent[] = [];
  private readonly views = new Map<object, object>();
  /** What a shadow let through since the latest reservation began. */
  private passedNow = new Set<MeterName>();
  private passing = false;
  private readonly tally = { passes: 0, passedUnits: 0, admitted: 0, usedUnits: 0 };
  private readonly byTenant: Record<string, number> = {};
  private stopped: Promise<void> | undefined;

  /**
   * @param options - the budget to shadow, if any.
   * @param clock - the simulated clock (wait durations are measured on it).
   */
  constructor(
    private readonly options: OtelOptions,
    clock: FakeClock,
  ) {
    this.telemetry = budgetTelemetry({
      meter: this.meters.getMeter('budgetry-playground'),
      tracer: this.tracers.getTracer('budgetry-playground'),
      now: () => clock.now(),
    });
  }

  tokenBudget(name: MeterName, budget: CoreTokenBudget): CoreTokenBudget {
    if (this.options.shadow !== name) return budget;
    return shadow(budget, { name: METER_LABELS[name], observer: (e) => this.told(e, name) });
  }

  requests(bucket: TokenBucket): TokenBucket {
    return this.view(bucket, () =>
      this.telemetry.traceBudget(bucket, { name: OTEL_LABELS.requests }),
    );
  }

  tenant(node: HierarchyNode, name: string): HierarchyNode {
    if (this.options.shadow !== 'tenant') return node;
    return this.view(node, () =>
      shadow(node, { name: `tenant ${name}`, observer: (e) => this.told(e, undefined, name) }),
    );
  }

  coordinator<D extends string>(llm: Coordinator<D>): Coordinator<D> {
    return this.telemetry.traceCoordinator(llm, { name: 'llm' });
  }

  attach(gateway: Gateway, tenants: readonly TenantNode[], time: () => string): void {
    const t = this.telemetry;
    // The token bucket reports its own events: gauges, reservations and denials.
    t.watch(gateway.requests, { name: OTEL_LABELS.requests });
    for (const name of ['tokens', 'dollars'] as const) {
      const budget = gateway[name].budget.watchable!;
      const label = METER_LABELS[name];
      t.watch(budget, { name: label, thresholds: LEVELS });
      watchThresholds(budget, {
        levels: LEVELS,
        onCross: ({ level, epoch, utilization }) =>
          this.thresholds.push({ budget: label, level, epoch, at: time(), utilization }),
      });
    }
    // Each node counts the reservations and denials made through it or below it.
    t.watch(gateway.tenants, { name: ALL_TENANTS });
    for (const { name, node } of tenants) {
      t.watch(this.tenant(node, name), { name: OTEL_LABELS.tenant, tenant: name });
    }
  }

  reserving(): void {
    this.passedNow = new Set();
    this.passing = false;
  }

  granted(): ReadonlySet<MeterName> {
    if (this.passing) this.tally.admitted++;
    return this.passedNow;
  }

  minuteEnded(): void {
    for (const span of this.spanExporter.getFinishedSpans()) {
      const a = span.attributes;
      const key = `${span.name} ${String(a['budgetry.budget'] ?? a['budgetry.coordinator'])}`;
      const outcome = String(a['budgetry.outcome']);
      const counts = (this.spans[key] ??= {});
      counts[outcome] = (counts[outcome] ?? 0) + 1;
    }
    this.spanExporter.reset();
  }

  /**
   * Collects every metric once, counts the last spans, and checks the figures against the
   * run's; call it at the end, before the budgets close.
   *
   * @param gateway - the run's budgets, read for their final figures.
   * @param intervals - the run's minutes (first-attempt denials, as the report counts them).
   * @param calls - every attempt's denial and the dispatches granted.
   * @returns the summary.
   */
  async collect(
    gateway: Gateway,
    intervals: readonly Interval[],
    calls: CallPath,
  ): Promise<OtelSummary> {
    this.minuteEnded();
    this.exporter.reset();
    await this.reader.forceFlush();
    const points: MetricPoint[] = [];
    for (const resource of this.exporter.getMetrics()) {
      for (const scope of resource.scopeMetrics) {
        for (const metric of scope.metrics) {
          for (const p of metric.dataPoints) {
            if (typeof p.value !== 'number') continue; // histograms: none recorded here
            points.push({ name: metric.descriptor.name, attributes: p.attributes, value: p.value });
          }
        }
      }
    }
    const shadowed = this.shadowReport();
    const summary: Omit<OtelSummary, 'checks'> = {
      exporter: EXPORTER,
      budgets: budgetsOf(points),
      dispatches: dispatchesOf(points),
      spans: this.spans,
      thresholds: this.thresholds,
      ...(shadowed && { shadow: shadowed }),
      run: runCounts(intervals, calls.denials, calls.granted),
    };
    const reading = (name: MeterName) => gateway[name].budget.reading();
    const checks = otelChecks(summary, {
      [OTEL_LABELS.requests]: { available: gateway.requests.available(), debt: 0 },
      [METER_LABELS.tokens]: reading('tokens'),
      [METER_LABELS.dollars]: reading('dollars'),
      [ALL_TENANTS]: { available: gateway.tenants.available(), debt: 0 },
    });
    return { ...summary, checks };
  }

  /** Stops watching and shuts the SDK down (idempotent). */
  shutdown(): Promise<void> {
    this.stopped ??= (async () => {
      this.telemetry.close();
      await Promise.all([this.meters.shutdown(), this.tracers.shutdown()]);
    })();
    return this.stopped;
  }

  /** One wrapper per budget, however often the coordinators are rebuilt. */
  private view<T extends object>(of: T, make: () => T): T {
    let found = this.views.get(of) as T | undefined;
    if (found === undefined) {
      found = make();
      this.views.set(of, found);
    }
    return found;
  }

  /** A shadow's event: what it let through, for the report and the auditors. */
  private told(event: ShadowEvent, meter?: MeterName, tenant?: string): void {
    if (event.type === 'pass') {
      this.tally.passes++;
      this.tally.passedUnits += event.cost;
      this.passing = true;
      if (meter !== undefined) this.passedNow.add(meter);
      if (tenant !== undefined) this.byTenant[tenant] = (this.byTenant[tenant] ?? 0) + 1;
    } else if (event.type === 'pass-settle') {
      this.tally.usedUnits += event.used;
    }
  }

  private shadowReport(): ShadowReport | undefined {
    const budget = this.options.shadow;
    if (budget === undefined) return undefined;
    const label = budget === 'tenant' ? 'tenants’' : METER_LABELS[budget];
    return {
      budget,
      label,
      ...this.tally,
      ...(budget === 'tenant' && { byTenant: { ...this.byTenant } }),
    };
  }
}
