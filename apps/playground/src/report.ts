// The plain line per simulated minute and the final report: pure functions from the run's
// figures to lines.

import { renderChecks } from './audit.js';
import { formatCount, formatDollars, formatPercent, formatShort, plural } from './format.js';
import { LIMITS, PRICE } from './gateway.js';
import { BUDGET_LABELS, describeRefill, paint } from './live.js';
import { renderOtel } from './otel-report.js';
import type { RunResult } from './result.js';
import {
  BUDGETS,
  DENIALS,
  type Interval,
  type RefillEvent,
  sumTenantCounts,
  type TenantCounts,
  type TenantInfo,
  totalDenied,
} from './stats.js';

const SPARKS = '▁▂▃▄▅▆▇█';
const SHORT_LABELS = {
  requests: 'requests',
  tokens: 'tokens',
  dollars: 'dollars',
  global: 'all tenants',
} as const;

/**
 * Values as a sparkline, scaled to their largest.
 *
 * @param values - the values (non-negative).
 * @returns one character per value.
 */
export function sparkline(values: readonly number[]): string {
  const top = Math.max(...values, 0);
  return values
    .map((v) => (top === 0 ? SPARKS[0] : SPARKS[Math.round((v / top) * (SPARKS.length - 1))]))
    .join('');
}

/**
 * The plain line for one simulated minute: what happened in that minute only.
 *
 * @param interval - the minute.
 * @param of - how many minutes the run has.
 * @param refills - the refills that happened during it.
 * @returns one line.
 */
export function renderIntervalLine(
  interval: Interval,
  of: number,
  refills: readonly RefillEvent[],
): string {
  const counts = Object.values(interval.tenants);
  const all = sumTenantCounts(counts);
  const perTenant = Object.entries(interval.tenants)
    .map(([name, c]) => `${name} ${c.admitted}/${c.offered}`)
    .join(' ');
  const peak = BUDGETS.map(
    (b) => `${SHORT_LABELS[b]} ${formatPercent(interval.budgets[b].peakUtilization)}`,
  ).join(', ');
  const debt = interval.budgets.tokens.peakDebt;
  const refilled = refills.map((r) => BUDGET_LABELS[r.budget]).join(', ');
  return (
    `minute ${interval.minute}/${of} ${interval.start} | admitted/offered ${perTenant} | ` +
    `denied ${denials(all) || 'none'} | waited ${all.afterWait} ok, ${all.timedOut} timed out | ` +
    `aborted ${all.aborted}, failed ${all.failed} | ${formatCount(all.tokens)} tokens, ${formatDollars(all.usdMicros)} | ` +
    `peak use: ${peak}` +
    (debt > 0 ? ` | token debt up to ${formatCount(debt)}` : '') +
    (refilled ? ` | refilled ${refilled}` : '')
  );
}

function denials(c: TenantCounts): string {
  return DENIALS.filter((k) => c.denied[k] > 0)
    .map((k) => `${k} ${c.denied[k]}`)
    .join(', ');
}

/**
 * The refills that belong to a minute (those at its first instant included).
 *
 * @param refills - every refill so far.
 * @param interval - the minute.
 * @returns its refills.
 */
export function refillsIn(refills: readonly RefillEvent[], interval: Interval): RefillEvent[] {
  return refills.filter((r) => r.at.slice(0, 5) === interval.start);
}

/**
 * The final report: per minute, per tenant, per budget, then the conservation verdict.
 *
 * @param r - the run.
 * @param color - ANSI colours.
 * @returns the lines.
 */
export function renderReport(r: RunResult, color = false): string[] {
  const s = r.scenario;
  const minutes = r.intervals.length;
  const lines = [
    paint(
      `budgetry playground — seed ${s.seed}, ${plural(s.tenants.length, 'tenant')}, ${plural(s.minutes, 'simulated minute')} from ${s.startLocal} ${s.timeZone}, ${s.backend}`,
      'bold',
      color,
    ),
    ...(s.calls === undefined ? [] : wrap(`calls: ${s.calls}`, 120)),
    `limits: ${LIMITS.requestsPerSecond} requests/s (burst ${LIMITS.requestBurst}) · ${formatCount(LIMITS.tokensPerMinute)} tokens/min · ${formatDollars(LIMITS.usdMicrosPerDay, 2)} per local day · ${formatCount(LIMITS.tenantPerMinute)} tokens/min per tenant inside ${formatCount(LIMITS.tenantsPerMinute)} for all; $${PRICE.prompt}/$${PRICE.completion} per million prompt/completion tokens`,
    '',
    ...perMinuteTable(r),
    '',
    ...perTenantTable(r.intervals, s.tenants, minutes),
    '',
    ...perBudgetTable(r),
    '',
    ...verdict(r, color),
    ...(r.otel === undefined ? [] : ['', ...renderOtel(r.otel, color)]),
  ];
  return lines;
}

/** Words as lines of at most `width` characters, the later ones indented. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = `  ${word}`;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

function perMinuteTable(r: RunResult): string[] {
  const shown = r.scenario.tenants.slice(0, 6);
  const others = r.scenario.tenants.length - shown.length;
  const header =
    `${'min'.padEnd(4)}${'time'.padEnd(7)}` +
    shown.map((t) => t.name.slice(0, 9).padStart(10)).join('') +
    (others > 0 ? `${`+${others} more`.padStart(10)}` : '') +
    `${'tokens'.padStart(9)}${'dollars'.padStart(9)}  denied by · refills`;
  const lines = [
    'Per minute: admitted/offered per tenant (admitted includes callers who waited since an earlier minute), and what the minute cost',
    header,
  ];
  for (const i of r.intervals) {
    const cells = shown.map((t) => {
      const c = i.tenants[t.name]!;
      return `${c.admitted}/${c.offered}`.padStart(10);
    });
    if (others > 0) {
      const rest = sumTenantCounts(
        r.scenario.tenants.slice(shown.length).map((t) => i.tenants[t.name]!),
      );
      cells.push(`${rest.admitted}/${rest.offered}`.padStart(10));
    }
    const all = sumTenantCounts(Object.values(i.tenants));
    const refilled = refillsIn(r.refills, i)
      .filter((x) => x.budget === 'dollars' || x.debtPaid > 0)
      .map((x) => `${BUDGET_LABELS[x.budget]} refilled${x.debtPaid > 0 ? ' after debt' : ''}`);
    const notes = [denials(all) || 'none', ...refilled].join(' · ');
    lines.push(
      `${String(i.minute).padEnd(4)}${i.start.padEnd(7)}${cells.join('')}` +
        `${formatShort(all.tokens).padStart(9)}${formatDollars(all.usdMicros).padStart(9)}  ${notes}`,
    );
  }
  return lines;
}

function perTenantTable(
  intervals: readonly Interval[],
  tenants: readonly TenantInfo[],
  minutes: number,
): string[] {
  const lines = [
    `Per tenant: averages per minute over ${plural(minutes, 'minute')}`,
    `${'tenant'.padEnd(17)}${'offered'.padStart(8)}${'admitted'.padStart(9)}${'waited ok'.padStart(10)}${'timed out'.padStart(10)}${'aborted'.padStart(8)}${'failed'.padStart(7)}${'tokens'.padStart(9)}  ${'tokens per minute'.padEnd(Math.max(17, minutes))}${'dollars'.padStart(9)}  denied by (per minute)`,
  ];
  const avg = (n: number) => (n / Math.max(1, minutes)).toFixed(1);
  for (const t of tenants) {
    const per = intervals.map((i) => i.tenants[t.name]!);
    const c = sumTenantCounts(per);
    const deniedBy = DENIALS.filter((k) => c.denied[k] > 0)
      .map((k) => `${k} ${avg(c.denied[k])}`)
      .join(', ');
    lines.push(
      `${t.name.slice(0, 9).padEnd(10)}${t.kind.padEnd(7)}${avg(c.offered).padStart(8)}${avg(c.admitted).padStart(9)}` +
        `${avg(c.afterWait).padStart(10)}${avg(c.timedOut).padStart(10)}${avg(c.aborted).padStart(8)}${avg(c.failed).padStart(7)}` +
        `${formatShort(c.tokens / Math.max(1, minutes)).padStart(9)}  ${sparkline(per.map((x) => x.tokens)).padEnd(Math.max(17, minutes))}` +
        `${formatDollars(c.usdMicros / Math.max(1, minutes)).padStart(9)}  ${totalDenied(c) === 0 ? 'none' : deniedBy}`,
    );
  }
  return lines;
}

function perBudgetTable(r: RunResult): string[] {
  const minutes = r.intervals.length;
  const capacity: Record<(typeof BUDGETS)[number], string> = {
    requests: `${LIMITS.requestsPerSecond}/s, burst ${LIMITS.requestBurst}`,
    tokens: formatCount(LIMITS.tokensPerMinute),
    dollars: `${formatDollars(LIMITS.usdMicrosPerDay, 2)} per day`,
    global: formatCount(LIMITS.tenantsPerMinute),
  };
  const lines = [
    'Per budget: peak utilization in each minute, denials per minute, the most owed at once',
    `${'budget'.padEnd(17)}${'capacity'.padEnd(18)}${'peak utilization by minute'.padEnd(Math.max(27, minutes + 10))}${'denials/min'.padStart(12)}${'peak debt'.padStart(11)}${'refills'.padStart(8)}`,
  ];
  for (const b of BUDGETS) {
    const per = r.intervals.map((i) => i.budgets[b]);
    const peaks = per.map((x) => x.peakUtilization);
    const denied = per.reduce((n, x) => n + x.denials, 0);
    const debt = Math.max(0, ...per.map((x) => x.peakDebt));
    const refills = r.refills.filter((x) => x.budget === b).length;
    const busiest = Math.max(0, ...peaks);
    lines.push(
      `${BUDGET_LABELS[b].padEnd(17)}${capacity[b].padEnd(18)}` +
        `${`${sparkline(peaks.map((p) => p + 0.001))} max ${formatPercent(busiest)}`.padEnd(Math.max(27, minutes + 10))}` +
        `${(denied / Math.max(1, minutes)).toFixed(1).padStart(12)}` +
        `${(b === 'dollars' ? formatDollars(debt) : formatCount(debt)).padStart(11)}` +
        `${(b === 'requests' ? '—' : String(refills)).padStart(8)}`,
    );
  }
  const notable = r.refills.filter((x) => x.budget === 'dollars' || x.debtPaid > 0);
  for (const x of notable) lines.push(`  ${describeRefill(x)}`);
  return lines;
}

/**
 * The conservation verdict: each check, then one line that says whether they all held.
 *
 * @param r - the run.
 * @param color - ANSI colours.
 * @returns the lines.
 */
export function verdict(r: RunResult, color = false): string[] {
  const lines = [`Conservation, checked on the final state with @budgetry/testing's Auditor`];
  const held = 'all conservation invariants held';
  lines.push(...renderChecks(r.checks, { ok: r.held, held, broken: 'INVARIANTS BROKEN' }, color));
  return lines;
}
