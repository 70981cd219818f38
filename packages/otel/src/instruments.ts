import type {
  Attributes,
  AttributeValue,
  Counter,
  Histogram,
  Meter,
  ObservableGauge,
} from '@opentelemetry/api';

/** @internal Attribute keys, in one place so the README and the tests read the same names. */
export const ATTR = {
  budget: 'budgetry.budget',
  tenant: 'budgetry.tenant',
  mode: 'budgetry.mode',
  coordinator: 'budgetry.coordinator',
  outcome: 'budgetry.outcome',
  deniedBy: 'budgetry.denied_by',
  retryAfterMs: 'budgetry.retry_after_ms',
  cost: 'budgetry.cost',
  method: 'budgetry.method',
  threshold: 'budgetry.threshold',
  reason: 'budgetry.shadow.reason',
  dimension: 'budgetry.dimension',
} as const;

/** @internal A member key as a string; an any-of's members or a hierarchy path as a list of them. */
export function deniedByAttribute(deniedBy: unknown): AttributeValue | undefined {
  if (typeof deniedBy === 'string') return deniedBy;
  if (typeof deniedBy === 'number') return String(deniedBy);
  if (Array.isArray(deniedBy)) return deniedBy.map(String);
  return undefined;
}

/** @internal Every instrument the telemetry records to, made once per telemetry. */
export interface Instruments {
  readonly utilization: ObservableGauge;
  readonly available: ObservableGauge;
  readonly debt: ObservableGauge;
  readonly reservations: Counter;
  readonly denials: Counter;
  readonly overReleased: Counter;
  readonly leaked: Counter;
  readonly thresholds: Counter;
  readonly waitDuration: Histogram;
  readonly dispatches: Counter;
  readonly shadowPasses: Counter;
  readonly shadowPassed: Counter;
  readonly shadowUsed: Counter;
}

/** @internal Creates the instruments on `meter`. */
export function createInstruments(meter: Meter): Instruments {
  return {
    utilization: meter.createObservableGauge('budgetry.utilization', {
      description: 'What the epoch owes (held, spent and debt) over capacity; above 1 in debt',
      unit: '1',
    }),
    available: meter.createObservableGauge('budgetry.available', {
      description: 'Units that can be reserved right now',
      unit: '{unit}',
    }),
    debt: meter.createObservableGauge('budgetry.debt', {
      description: 'Units owed beyond capacity, paid first by refunds and refills',
      unit: '{unit}',
    }),
    reservations: meter.createCounter('budgetry.reservations', {
      description: 'Reservations granted',
      unit: '{reservation}',
    }),
    denials: meter.createCounter('budgetry.denials', {
      description: 'Reservations denied, by the budget that denied',
      unit: '{denial}',
    }),
    overReleased: meter.createCounter('budgetry.over_released', {
      description: 'Units the count API was asked to release beyond what it held (ignored)',
      unit: '{unit}',
    }),
    leaked: meter.createCounter('budgetry.leaked', {
      description: 'Units of handles garbage-collected while still held',
      unit: '{unit}',
    }),
    thresholds: meter.createCounter('budgetry.threshold.crossings', {
      description: 'Utilization levels reached, each at most once per epoch',
      unit: '{crossing}',
    }),
    waitDuration: meter.createHistogram('budgetry.wait.duration', {
      description: 'Time spent waiting for units in acquire()',
      unit: 'ms',
    }),
    dispatches: meter.createCounter('budgetry.dispatches', {
      description: 'Coordinator dispatches, by outcome and the dimension that denied',
      unit: '{dispatch}',
    }),
    shadowPasses: meter.createCounter('budgetry.shadow.passes', {
      description: 'Reservations a shadow policy denied or failed on, let through unenforced',
      unit: '{pass}',
    }),
    shadowPassed: meter.createCounter('budgetry.shadow.passed', {
      description: 'Units let through past a shadow policy (the estimate or cost)',
      unit: '{unit}',
    }),
    shadowUsed: meter.createCounter('budgetry.shadow.used', {
      description: 'Units actually used by work a shadow policy let through',
      unit: '{unit}',
    }),
  };
}

/** @internal One observation of a budget's gauges. */
export interface GaugeReading {
  readonly attributes: Attributes;
  readonly utilization: number;
  readonly available: number;
  readonly debt: number;
}

/** @internal Registers the one callback that reads every watched budget's gauges. */
export function observeGauges(
  meter: Meter,
  instruments: Instruments,
  read: () => Iterable<GaugeReading>,
): () => void {
  const { utilization, available, debt } = instruments;
  const callback = (result: {
    observe(metric: ObservableGauge, value: number, attributes?: Attributes): void;
  }) => {
    for (const reading of read()) {
      result.observe(utilization, reading.utilization, reading.attributes);
      result.observe(available, reading.available, reading.attributes);
      result.observe(debt, reading.debt, reading.attributes);
    }
  };
  meter.addBatchObservableCallback(callback, [utilization, available, debt]);
  return () => meter.removeBatchObservableCallback(callback, [utilization, available, debt]);
}
