// What `--otel` exported, read back from the OpenTelemetry SDK's in-memory exporters, and the
// checks that hold it to the run's own figures. Pure functions from figures to figures.
import type { Check } from './audit.js';
import { formatCount } from './format.js';
import type { ShadowChoice } from './options.js';
import { type DenialKind, type Interval, sumTenantCounts } from './stats.js';

/** One data point of an exported metric. */
export interface MetricPoint {
  readonly name: string;
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly value: number;
}

/** One watched budget (a tenant's, with `tenant`) and the final value of each of its metrics. */
export interface OtelBudget {
  readonly budget: string;
  readonly tenant?: string;
  /** `enforce`, or `shadow` for the budget `--otel-shadow` chose. */
  readonly mode: string;
  /** Metric name → gauge at the last collection, or counter total (summed over its labels). */
  readonly metrics: Readonly<Record<string, number>>;
  /** `budgetry.threshold.crossings` by level. */
  readonly crossings: Readonly<Record<string, number>>;
}

/** A threshold event as `watchThresholds` reported it, at simulated time. */
export interface ThresholdEvent {
  readonly budget: string;
  readonly level: number;
  readonly epoch: number;
  /** Simulated time, `hh:mm:ss` in the scenario's zone. */
  readonly at: string;
  readonly utilization: number;
}

/** What the shadowed budget would have denied, as its shadow reported it. */
export interface ShadowReport {
  readonly budget: ShadowChoice;
  readonly label: string;
  /** Reservations it denied and let through anyway (first attempts and retries alike). */
  readonly passes: number;
  /** Units those reservations asked for (estimates). */
  readonly passedUnits: number;
  /** Calls admitted only because it let them through (the others a later budget denied). */
  readonly admitted: number;
  /** Units the calls let through that way then used (0 for those refunded). */
  readonly usedUnits: number;
  /** Passes per tenant, for the tenants' budget. */
  readonly byTenant?: Readonly<Record<string, number>>;
}

/** What `--otel` adds to the run: `otel` in the JSON, the last section of the report. */
export interface OtelSummary {
  /** How the SDK was set up. */
  readonly exporter: string;
  readonly budgets: readonly OtelBudget[];
  /** `budgetry.dispatches` by outcome: `granted`, `passed`, `denied by <dimension>`. */
  readonly dispatches: Readonly<Record<string, number>>;
  /** Finished spans: `<span name> <budget or coordinator>` → outcome → count. */
  readonly spans: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** Threshold events in the order they fired. */
  readonly thresholds: readonly ThresholdEvent[];
  readonly shadow?: ShadowReport;
  /** What the run itself counted, for the checks. */
  readonly run: RunCounts;
  /** The exported figures against the run's own. */
  readonly checks: readonly Check[];
}

/** The coordinator's dimensions, as `budgetry.dispatches` names them. */
export const DIMENSIONS = ['requests', 'tokens', 'dollars', 'tenant'] as const;
/** One of {@link DIMENSIONS}. */
export type DimensionName = (typeof DIMENSIONS)[number];

/** The run's own count of its dispatches, as the scenario saw the coordinator's decisions. */
export interface RunCounts {
  /** Denials of new calls, by dimension: the report's (its `tenant` and `global` together). */
  readonly firstAttempts: Readonly<Record<DimensionName, number>>;
  /** Denials of waiting callers' retries, by dimension (the report does not show them). */
  readonly retries: Readonly<Record<DimensionName, number>>;
  /** Dispatches granted. */
  readonly granted: number;
}

/**
 * The run's denials by the coordinator's dimension.
 *
 * @param intervals - the run's minutes: the first attempts' denials, as the report counts them.
 * @param all - every attempt's denial by kind (first attempts and retries).
 * @param granted - dispatches granted.
 * @returns the counts.
 */
export function runCounts(
  intervals: readonly Interval[],
  all: Readonly<Record<DenialKind, number>>,
  granted: number,
): RunCounts {
  const first = sumTenantCounts(intervals.flatMap((i) => Object.values(i.tenants))).denied;
  const by = (counts: Readonly<Record<DenialKind, number>>) =>
    Object.fromEntries(
      DIMENSIONS.map((d) => [d, d === 'tenant' ? counts.tenant + counts.global : counts[d]]),
    ) as Record<DimensionName, number>;
  const firstAttempts = by(first);
  const total = by(all);
  const retries = Object.fromEntries(
    DIMENSIONS.map((d) => [d, total[d] - firstAttempts[d]]),
  ) as Record<DimensionName, number>;
  return { firstAttempts, retries, granted };
}

/** Each budget's figures read through its own API at the end, by label. */
export type Readings = Readonly<Record<string, { available: number; debt: number }>>;

/** The watched budget behind each dimension, as `--otel` labels it. */
export const OTEL_LABELS: Readonly<Record<DimensionName, string>> = {
  requests: 'requests/min',
  tokens: 'tokens/min',
  dollars: 'dollars/day',
  tenant: 'tenant',
};

/**
 * The exported points, one entry per watched budget (in the order first seen).
 *
 * @param points - every data point of the collection.
 * @returns the budgets, each with its metrics' final values.
 */
export function budgetsOf(points: readonly MetricPoint[]): OtelBudget[] {
  const byKey = new Map<string, { entry: OtelBudget; metrics: Record<string, number> }>();
  for (const p of points) {
    const budget = p.attributes['budgetry.budget'];
    if (typeof budget !== 'string') continue;
    const tenant = p.attributes['budgetry.tenant'] as string | undefined;
    const key = JSON.stringify([budget, tenant ?? null]);
    let found = byKey.get(key);
    if (found === undefined) {
      const metrics: Record<string, number> = {};
      const mode = String(p.attributes['budgetry.mode']);
      const entry = { budget, ...(tenant && { tenant }), mode, metrics, crossings: {} };
      found = { entry, metrics };
      byKey.set(key, found);
    }
    if (p.name === 'budgetry.threshold.crossings') {
      const crossings = found.entry.crossings as Record<string, number>;
      const level = String(p.attributes['budgetry.threshold']);
      crossings[level] = (crossings[level] ?? 0) + p.value;
    } else {
      found.metrics[p.name] = (found.metrics[p.name] ?? 0) + p.value;
    }
  }
  return [...byKey.values()].map((f) => f.entry);
}

/**
 * `budgetry.dispatches` by outcome, a denial by the dimension that denied.
 *
 * @param points - every data point of the collection.
 * @returns counts by `granted`, `passed`, `denied by <dimension>`, ….
 */
export function dispatchesOf(points: readonly MetricPoint[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of points) {
    if (p.name !== 'budgetry.dispatches') continue;
    const by = p.attributes['budgetry.denied_by'];
    const key = `${p.attributes['budgetry.outcome']}${by === undefined ? '' : ` by ${by}`}`;
    out[key] = (out[key] ?? 0) + p.value;
  }
  return out;
}

/**
 * Holds what was exported to what the run itself counted.
 *
 * @param s - the summary so far.
 * @param readings - each budget's final figures, read through its own API.
 * @returns one check per claim.
 */
export function otelChecks(s: Omit<OtelSummary, 'checks'>, readings: Readings): Check[] {
  const find = (label: string) => s.budgets.find((b) => b.budget === label && !b.tenant);
  const run = s.run;
  const byRun = (d: DimensionName) => run.firstAttempts[d] + run.retries[d];
  const own = (d: DimensionName): number => {
    if (d === 'requests') return s.spans[`budgetry.reserve ${OTEL_LABELS.requests}`]?.denied ?? 0;
    if (d === 'tenant') return s.dispatches['denied by tenant'] ?? 0; // a hierarchy reports no denials
    const b = find(OTEL_LABELS[d]);
    // A shadow denies nothing: its policy's denials are what it let through.
    return b?.mode === 'shadow' ? 0 : (b?.metrics['budgetry.denials'] ?? 0);
  };
  const denialsOk = DIMENSIONS.every(
    (d) => byRun(d) === (s.dispatches[`denied by ${d}`] ?? 0) && byRun(d) === own(d),
  );
  const sum = (counts: Readonly<Record<DimensionName, number>>) =>
    DIMENSIONS.reduce((n, d) => n + counts[d], 0);
  const checks: Check[] = [
    {
      name: 'otel: denials by budget = the run’s',
      ok: denialsOk && DIMENSIONS.every((d) => run.retries[d] >= 0),
      detail:
        DIMENSIONS.map((d) => {
          const seen = [s.dispatches[`denied by ${d}`] ?? 0, own(d), byRun(d)];
          const same = seen.every((n) => n === seen[0]);
          return `${d} ${same ? formatCount(seen[0]!) : seen.map(formatCount).join(' ≠ ')}`;
        }).join(', ') +
        ` (budgetry.dispatches; each budget's own count — budgetry.denials, the requests bucket's spans, the coordinator's for the tenants' tree; the run: ${formatCount(sum(run.firstAttempts))} first attempts as in the report + ${formatCount(sum(run.retries))} retries of waiting callers)`,
    },
  ];
  const granted = (s.dispatches.granted ?? 0) + (s.dispatches.passed ?? 0);
  const spans = s.spans['budgetry.dispatch llm'] ?? {};
  const spanGranted = (spans.granted ?? 0) + (spans.passed ?? 0);
  checks.push({
    name: 'otel: dispatches granted = the run’s',
    ok: granted === run.granted && spanGranted === run.granted,
    detail: `${formatCount(granted)} in budgetry.dispatches, ${formatCount(spanGranted)} budgetry.dispatch spans, ${formatCount(run.granted)} in the run`,
  });
  checks.push(thresholdCheck(s));
  const wrong: string[] = [];
  for (const [label, reading] of Object.entries(readings)) {
    const m = find(label)?.metrics ?? {};
    if (
      m['budgetry.available'] !== reading.available ||
      (m['budgetry.debt'] ?? 0) !== reading.debt
    ) {
      wrong.push(
        `${label}: exported available ${m['budgetry.available']}, debt ${m['budgetry.debt']}; the budget shows ${reading.available}, ${reading.debt}`,
      );
    }
  }
  checks.push({
    name: 'otel: gauges = the budgets’ final figures',
    ok: wrong.length === 0,
    detail: wrong.join('; ') || `available and debt of ${Object.keys(readings).join(', ')}`,
  });
  if (s.shadow !== undefined) checks.push(shadowCheck(s, s.shadow));
  return checks;
}

function thresholdCheck(s: Omit<OtelSummary, 'checks'>): Check {
  const seen = new Set<string>();
  let repeated = 0;
  const fired = new Map<string, number>();
  for (const e of s.thresholds) {
    const key = JSON.stringify([e.budget, e.level, e.epoch]);
    if (seen.has(key)) repeated++;
    seen.add(key);
    const level = JSON.stringify([e.budget, String(e.level)]);
    fired.set(level, (fired.get(level) ?? 0) + 1);
  }
  const counted = new Map<string, number>();
  for (const b of s.budgets) {
    for (const [level, n] of Object.entries(b.crossings)) {
      counted.set(JSON.stringify([b.budget, level]), n);
    }
  }
  const agree =
    fired.size === counted.size && [...fired].every(([key, n]) => counted.get(key) === n);
  return {
    name: 'otel: threshold events once per epoch, as counted',
    ok: repeated === 0 && agree,
    detail: `${formatCount(s.thresholds.length)} events, ${repeated} repeated in an epoch; budgetry.threshold.crossings ${agree ? 'counts the same' : 'counts otherwise'}`,
  };
}

function shadowCheck(s: Omit<OtelSummary, 'checks'>, shadow: ShadowReport): Check {
  const shadows = s.budgets.filter((b) => b.mode === 'shadow');
  const sum = (name: string) => shadows.reduce((n, b) => n + (b.metrics[name] ?? 0), 0);
  const passes = sum('budgetry.shadow.passes');
  const passed = sum('budgetry.shadow.passed');
  const used = sum('budgetry.shadow.used');
  const denied = sum('budgetry.denials');
  const isTree = shadow.budget === 'tenant'; // a hierarchy reports no denials of its own
  return {
    name: `otel: what the ${shadow.label} shadow let through = what it reported`,
    ok:
      passes === shadow.passes &&
      passed === shadow.passedUnits &&
      used === shadow.usedUnits &&
      (isTree || denied === passes),
    detail: `budgetry.shadow.passes ${formatCount(passes)}, .passed ${formatCount(passed)}, .used ${formatCount(used)}${isTree ? '' : `, budgetry.denials ${formatCount(denied)}`}; the shadow's observer: ${formatCount(shadow.passes)}, ${formatCount(shadow.passedUnits)}, ${formatCount(shadow.usedUnits)}`,
  };
}
