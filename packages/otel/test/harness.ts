// One OpenTelemetry SDK per test: metrics through a PeriodicExportingMetricReader into an
// InMemoryMetricExporter (flushed by hand, never on its timer), spans through a
// SimpleSpanProcessor into an InMemorySpanExporter, and a clock the test moves.
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { type BudgetTelemetry, budgetTelemetry } from '../src/index.js';

export interface Point {
  readonly attributes: Record<string, unknown>;
  readonly value: unknown;
}

export interface Harness {
  readonly telemetry: BudgetTelemetry;
  /** Every data point of metric `name` at a fresh collection. */
  points(name: string): Promise<Point[]>;
  /** The value of metric `name` at the point whose attributes include `match`. */
  value(name: string, match?: Record<string, unknown>): Promise<unknown>;
  spans(): ReadableSpan[];
  advance(ms: number): void;
  readonly tracerProvider: BasicTracerProvider;
  shutdown(): Promise<void>;
}

export function harness(): Harness {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const spanExporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(spanExporter)],
  });
  let now = 0;
  const telemetry = budgetTelemetry({
    meter: meterProvider.getMeter('test'),
    tracer: tracerProvider.getTracer('test'),
    now: () => now,
  });
  const points = async (name: string): Promise<Point[]> => {
    exporter.reset();
    await reader.forceFlush();
    const found: Point[] = [];
    for (const resource of exporter.getMetrics()) {
      for (const scope of resource.scopeMetrics) {
        for (const metric of scope.metrics) {
          if (metric.descriptor.name !== name) continue;
          for (const p of metric.dataPoints) {
            found.push({ attributes: { ...p.attributes }, value: p.value });
          }
        }
      }
    }
    return found;
  };
  return {
    telemetry,
    points,
    async value(name, match = {}) {
      const all = await points(name);
      const hits = all.filter((p) =>
        Object.entries(match).every(([k, v]) => p.attributes[k] === v),
      );
      if (hits.length > 1) throw new Error(`${hits.length} points of ${name} match`);
      return hits[0]?.value;
    },
    spans: () => spanExporter.getFinishedSpans(),
    advance(ms) {
      now += ms;
    },
    tracerProvider,
    async shutdown() {
      telemetry.close();
      await meterProvider.shutdown();
      await tracerProvider.shutdown();
    },
  };
}
