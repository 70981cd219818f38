// The live view: a pure function from a snapshot of the run to the lines of one frame. The
// caller redraws them in place; nothing here touches the terminal.
import { formatCount, formatDollars, formatPercent, formatShort, plural } from './format.js';
import type { BudgetView, Snapshot, TenantView } from './result.js';
import { type BudgetName, DENIALS, type RefillEvent, totalDenied } from './stats.js';

/** How to draw. */
export interface DrawOptions {
  /** Columns available; bars shrink to fit. */
  readonly width: number;
  /** ANSI colours. */
  readonly color: boolean;
  /** Lines available, if known: tenants that do not fit are summed up in one line. */
  readonly height?: number | undefined;
}

/** Budget names as people read them. */
export const BUDGET_LABELS: Record<BudgetName, string> = {
  requests: 'requests/min',
  tokens: 'tokens/min',
  dollars: 'dollars/day',
  global: 'all tenants/min',
};

const ANSI = { green: 32, yellow: 33, red: 31, dim: 2, bold: 1, cyan: 36 } as const;

/**
 * Wraps text in an ANSI colour when colours are on.
 *
 * @param text - the text.
 * @param color - the colour.
 * @param on - whether colours are on.
 * @returns the text, coloured or not.
 */
export function paint(text: string, color: keyof typeof ANSI, on: boolean): string {
  return on && text !== '' ? `\x1b[${ANSI[color]}m${text}\x1b[0m` : text;
}

/**
 * A bar of `width` cells, filled to `fraction`.
 *
 * @param fraction - 0 … 1 (clamped).
 * @param width - cells.
 * @returns the bar.
 */
export function bar(fraction: number, width: number): string {
  const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width);
  return '█'.repeat(filled) + '░'.repeat(width - filled);
}

/**
 * One frame of the live view.
 *
 * @param s - the state of the run.
 * @param options - width and colours.
 * @returns the lines, without newlines.
 */
export function renderLive(s: Snapshot, options: DrawOptions): string[] {
  const { color } = options;
  const barWidth = Math.max(10, Math.min(40, options.width - 110));
  const lines = [
    `${paint('budgetry playground', 'bold', color)}  seed ${s.seed} · ${plural(s.tenants.length, 'tenant')} · ${s.backend}`,
    `${s.clock} ${s.timeZone}   minute ${s.minute} of ${s.minutes}   ${bar(s.progress, 24)} ${formatPercent(s.progress)}`,
    '',
    `${'tenant'.padEnd(17)}${'this minute'.padEnd(barWidth + 2)}${'adm'.padStart(4)}${'wait'.padStart(5)}${'den'.padStart(5)}${'t/o'.padStart(5)}${'abrt'.padStart(5)}${'fail'.padStart(5)}${'tokens'.padStart(8)}${'dollars'.padStart(9)}  own budget  denied by`,
  ];
  const scale = Math.max(1, ...s.tenants.map((t) => t.counts.offered + t.waiting));
  // Everything but the tenants' lines: the header, the legend and the budgets, at least.
  const fixed = lines.length + 3 + s.budgets.length;
  const room = options.height === undefined ? s.tenants.length : options.height - fixed;
  const shown = room >= s.tenants.length ? s.tenants : s.tenants.slice(0, Math.max(0, room - 1));
  for (const t of shown) lines.push(tenantLine(t, scale, barWidth, color));
  if (shown.length < s.tenants.length) {
    lines.push(
      paint(
        `  … ${plural(s.tenants.length - shown.length, 'more tenant')} (a taller terminal shows them; the report lists all)`,
        'dim',
        color,
      ),
    );
  }
  lines.push(
    `${' '.repeat(17)}${paint('█', 'green', color)} admitted  ${paint('▒', 'yellow', color)} waiting  ${paint('░', 'red', color)} turned away (denied, or waited past the deadline)`,
    '',
    `${'budget'.padEnd(17)}${'utilization'.padEnd(barWidth + 7)}${'available'.padStart(22)}${'debt'.padStart(9)}${'refills'.padStart(9)}`,
  );
  for (const b of s.budgets) lines.push(budgetLine(b, barWidth, color));
  lines.push('', 'refills as they happen:');
  if (s.refills.length === 0) lines.push(paint('  none yet', 'dim', color));
  for (const r of s.refills) lines.push(`  ${describeRefill(r)}`);
  return lines;
}

function tenantLine(t: TenantView, scale: number, width: number, color: boolean): string {
  const c = t.counts;
  const turnedAway = Math.max(0, totalDenied(c) - c.queued) + c.timedOut;
  const cells = (n: number) => Math.round((n / scale) * width);
  const admitted = Math.min(width, cells(c.admitted));
  const waiting = Math.min(width - admitted, cells(t.waiting));
  const away = Math.min(width - admitted - waiting, cells(turnedAway));
  const stacked =
    paint('█'.repeat(admitted), 'green', color) +
    paint('▒'.repeat(waiting), 'yellow', color) +
    paint('░'.repeat(away), 'red', color) +
    ' '.repeat(width - admitted - waiting - away);
  const own = t.budgetCapacity === 0 ? 0 : t.budgetHeld / t.budgetCapacity;
  const deniedBy = DENIALS.filter((k) => c.denied[k] > 0)
    .map((k) => `${k} ${c.denied[k]}`)
    .join(', ');
  return (
    `${t.name.slice(0, 9).padEnd(10)}${t.kind.padEnd(7)}${stacked}  ` +
    `${String(c.admitted).padStart(4)}${String(t.waiting).padStart(5)}${String(totalDenied(c)).padStart(5)}` +
    `${String(c.timedOut).padStart(5)}${String(c.aborted).padStart(5)}${String(c.failed).padStart(5)}` +
    `${formatShort(c.tokens).padStart(8)}${formatDollars(c.usdMicros).padStart(9)}  ` +
    `${bar(own, 6)} ${formatPercent(own).padStart(4)}  ${deniedBy}`
  );
}

function budgetLine(b: BudgetView, width: number, color: boolean): string {
  const level = b.utilization >= 0.95 ? 'red' : b.utilization >= 0.75 ? 'yellow' : 'green';
  const amount = (n: number) => (b.name === 'dollars' ? formatDollars(n) : formatCount(n));
  const available = `${amount(b.available)} of ${amount(b.capacity)}`;
  const debt = b.debt > 0 ? paint(amount(b.debt), 'red', color) : '0';
  return (
    `${BUDGET_LABELS[b.name].padEnd(17)}${paint(bar(b.utilization, width), level, color)} ` +
    `${formatPercent(b.utilization).padStart(4)}  ${available.padStart(22)}` +
    `${' '.repeat(Math.max(1, 9 - visibleLength(debt)))}${debt}` +
    `${(b.name === 'requests' ? '—' : String(b.refills)).padStart(9)}`
  );
}

/**
 * A refill, in words.
 *
 * @param r - the refill.
 * @returns one line.
 */
export function describeRefill(r: RefillEvent): string {
  const debt =
    r.debtPaid > 0
      ? `, paid ${r.budget === 'dollars' ? formatDollars(r.debtPaid) : formatCount(r.debtPaid)} owed first`
      : '';
  return `${r.at}  ${BUDGET_LABELS[r.budget]} refilled (epoch ${r.epoch}${debt})`;
}

/**
 * The length of a line as the terminal shows it (ANSI codes take no room).
 *
 * @param line - the line.
 * @returns its visible length.
 */
export function visibleLength(line: string): number {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI escapes is the point
  return line.replace(/\x1b\[[0-9;]*m/g, '').length;
}

/**
 * Cuts a line to `width` visible columns, keeping its ANSI codes intact, so a redraw in
 * place never wraps.
 *
 * @param line - the line.
 * @param width - columns.
 * @returns the line, cut.
 */
export function clip(line: string, width: number): string {
  if (visibleLength(line) <= width) return line;
  let out = '';
  let seen = 0;
  for (let i = 0; i < line.length && seen < width; i++) {
    if (line[i] === '\x1b') {
      const end = line.indexOf('m', i);
      out += line.slice(i, end + 1);
      i = end;
      continue;
    }
    out += line[i];
    seen++;
  }
  return line.includes('\x1b[') ? `${out}\x1b[0m` : out;
}
