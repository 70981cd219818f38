// The report's last section with `--otel`: what was exported, and whether it matched the run.
import { renderChecks } from './audit.js';
import { formatCount, formatDollars, formatPercent, formatShort } from './format.js';
import { METER_LABELS } from './gateway.js';
import {
  OTEL_LABELS,
  type OtelBudget,
  type OtelSummary,
  type ShadowReport,
  type ThresholdEvent,
} from './otel-summary.js';

const DOLLARS = METER_LABELS.dollars;

/**
 * The `--otel` section of the report: each budget's exported metrics at the end, dispatches
 * and spans by outcome, the threshold events, what a shadow would have denied, and the checks
 * against the run's own figures.
 *
 * @param s - the summary.
 * @param color - ANSI colours.
 * @returns the lines.
 */
export function renderOtel(s: OtelSummary, color = false): string[] {
  const shared = s.budgets.filter((b) => b.tenant === undefined);
  const tenants = s.budgets.filter((b) => b.tenant !== undefined);
  const lines = [
    `OpenTelemetry: what @budgetry/otel exported, read back from the SDK at the end`,
    `  ${s.exporter}`,
    `${'budget'.padEnd(17)}${'mode'.padEnd(9)}${'utilization'.padStart(11)}${'available'.padStart(11)}${'debt'.padStart(9)}${'granted'.padStart(10)}${'denials'.padStart(9)}  threshold crossings`,
    ...shared.map((b) => budgetRow(b, s.spans)),
    `  * the requests token bucket is watched directly: its denials are also its denied budgetry.reserve spans`,
  ];
  if (tenants.length > 0) {
    const each = tenants
      .map((b) => `${b.tenant} ${formatPercent(b.metrics['budgetry.utilization'] ?? 0)}`)
      .join(', ');
    lines.push(
      `tenants, budgetry.utilization (a tenant's available() is what it could reserve now, its parent's room included): ${each}`,
    );
  }
  lines.push(
    `budgetry.dispatches: ${outcomes(s.dispatches)}`,
    `spans: ${Object.entries(s.spans)
      .map(([name, by]) => `${name} ${outcomes(by)}`)
      .join(' · ')}`,
    `threshold events, each level at most once per epoch: ${thresholdLine(s.thresholds)}`,
  );
  if (s.shadow !== undefined) lines.push(...shadowLines(s.shadow));
  const held = 'what was exported matches the run';
  lines.push(...renderChecks(s.checks, { held, broken: 'EXPORT MISMATCH' }, color));
  return lines;
}

function budgetRow(b: OtelBudget, spans: OtelSummary['spans']): string {
  const m = b.metrics;
  // Budgets that report their events count from 0; the others have no such counters.
  const counted = b.budget === METER_LABELS.tokens || b.budget === DOLLARS;
  const units = (n: number | undefined) =>
    n === undefined ? '—' : b.budget === DOLLARS ? formatDollars(n) : formatCount(n);
  const crossings = Object.entries(b.crossings)
    .sort(([a], [c]) => Number(a) - Number(c))
    .map(([level, n]) => `${formatPercent(Number(level))} ×${n}`)
    .join(', ');
  const count = (name: string) => (counted ? formatCount(m[name] ?? 0) : '—');
  const denials =
    b.budget === OTEL_LABELS.requests
      ? `${formatCount(spans[`budgetry.reserve ${b.budget}`]?.denied ?? 0)}*`
      : count('budgetry.denials');
  return (
    `${b.budget.padEnd(17)}${b.mode.padEnd(9)}${formatPercent(m['budgetry.utilization'] ?? 0).padStart(11)}` +
    `${units(m['budgetry.available']).padStart(11)}${units(m['budgetry.debt']).padStart(9)}` +
    `${count('budgetry.reservations').padStart(10)}${denials.padStart(9)}  ${crossings || '—'}`
  );
}

/** Counts by outcome, largest first: `287 granted, 708 denied by tokens`. */
function outcomes(by: Readonly<Record<string, number>>): string {
  const entries = Object.entries(by).sort((a, b) => b[1] - a[1]);
  return entries.length === 0
    ? 'none'
    : entries.map(([k, n]) => `${formatCount(n)} ${k}`).join(', ');
}

function thresholdLine(events: readonly ThresholdEvent[]): string {
  const byBudget = new Map<string, ThresholdEvent[]>();
  for (const e of events) byBudget.set(e.budget, [...(byBudget.get(e.budget) ?? []), e]);
  if (byBudget.size === 0) return 'none';
  return [...byBudget]
    .map(([budget, list]) => {
      const levels = [...new Set(list.map((e) => e.level))].sort((a, b) => a - b);
      const each = levels.map((level) => {
        const at = list.filter((e) => e.level === level);
        return `${formatPercent(level)} in ${at.length} epoch${at.length === 1 ? '' : 's'} (first ${at[0]!.at})`;
      });
      return `${budget} ${each.join(', ')}`;
    })
    .join('; ');
}

function shadowLines(shadow: ShadowReport): string[] {
  const units = (n: number) =>
    shadow.budget === 'dollars' ? formatDollars(n) : `${formatShort(n)} tokens`;
  const lines = [
    `shadow mode: the ${shadow.label} budget decided every reservation and enforced none`,
    `  it would have denied ${formatCount(shadow.passes)} reservations (first attempts and retries), asking ${units(shadow.passedUnits)}; ${formatCount(shadow.admitted)} of them were admitted calls (the rest a later budget denied), which used ${units(shadow.usedUnits)}`,
  ];
  const byTenant = Object.entries(shadow.byTenant ?? {}).filter(([, n]) => n > 0);
  if (byTenant.length > 0) {
    lines.push(`  by tenant: ${byTenant.map(([t, n]) => `${t} ${formatCount(n)}`).join(', ')}`);
  }
  return lines;
}
