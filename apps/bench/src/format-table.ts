import type { RowResult } from './row-result.js';

const headers = ['row', 'median', 'min', 'max', 'ratio to reference', 'target', 'met/short'];

/**
 * Formats a figure for humans: ops/s with k/M suffixes, bytes as `B`.
 *
 * @param value - the figure.
 * @param unit - what it counts.
 * @returns e.g. `193.2 M/s`, `812.0 k/s`, `950/s`, `152 B`.
 */
export function formatValue(value: number, unit: RowResult['unit']): string {
  if (unit === 'bytes') return `${value.toFixed(value < 10 ? 1 : 0)} B`;
  if (value >= 1e6) return `${(value / 1e6).toFixed(1)} M/s`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)} k/s`;
  return `${value.toFixed(0)}/s`;
}

/**
 * Formats an ops/s figure as the time one op takes, for rows whose op is one event (a
 * cross-thread wake-up, a message round trip) and whose figure is 1 ÷ its time.
 *
 * @param opsPerSec - the figure, positive.
 * @returns e.g. `850 ns`, `12.3 µs`, `1.25 ms`.
 */
export function formatTimePerOp(opsPerSec: number): string {
  const seconds = 1 / opsPerSec;
  if (seconds < 1e-6) return `${(seconds * 1e9).toFixed(0)} ns`;
  if (seconds < 1e-3) return `${(seconds * 1e6).toFixed(seconds < 1e-4 ? 1 : 0)} µs`;
  return `${(seconds * 1e3).toFixed(2)} ms`;
}

/**
 * Formats a ratio with two decimals, or two significant digits below 0.1 so that 0.0031×
 * stays readable.
 */
export function formatRatio(ratio: number): string {
  return `${ratio >= 0.1 ? ratio.toFixed(2) : ratio.toPrecision(2)}×`;
}

/**
 * Formats the ratio a target was checked on: as {@link formatRatio}, with one more digit when
 * that would print the bound itself, so a figure just short of its target never reads as the
 * target (0.748 against ≥ 0.75 prints `0.748×`, not `0.75×`).
 *
 * @param ratio - the figure.
 * @param bound - the target's `atLeast` or `atMost`, if any.
 */
export function formatCheckedRatio(ratio: number, bound: number | null | undefined): string {
  const shown = formatRatio(ratio);
  if (bound === null || bound === undefined || ratio === bound || shown !== formatRatio(bound)) {
    return shown;
  }
  return `${ratio >= 0.1 ? ratio.toFixed(3) : ratio.toPrecision(3)}×`;
}

/**
 * Renders the results as one Markdown table, grouped, so the terminal output can be pasted
 * into the README unchanged.
 *
 * @param results - rows in registry order.
 * @returns the table, one line per row plus a line per group.
 */
export function formatTable(results: readonly RowResult[]): string {
  const lines: string[][] = [];
  let group: string | undefined;
  for (const result of results) {
    if (result.group !== group) {
      group = result.group;
      lines.push([`**${group}**`, '', '', '', '', '', '']);
    }
    lines.push(cells(result));
  }
  return markdownTable(headers, lines);
}

/**
 * A Markdown table with its columns padded to their widest cell.
 *
 * @param header - the column titles.
 * @param lines - one array of cells per line, as many as there are titles.
 * @returns the table, header and separator first.
 */
export function markdownTable(header: readonly string[], lines: readonly string[][]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...lines.map((line) => line[column]!.length)),
  );
  const render = (line: readonly string[]): string =>
    `| ${line.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  return [
    render(header),
    render(widths.map((width) => '-'.repeat(width))),
    ...lines.map(render),
  ].join('\n');
}

function cells(result: RowResult): string[] {
  const { summary, unit } = result;
  const figure = (pick: 'median' | 'min' | 'max'): string =>
    summary === null ? '—' : formatValue(summary[pick], unit);
  const median = result.error === null ? figure('median') : `error: ${result.error}`;
  const ratio =
    result.ratio === null
      ? result.reference === null
        ? 'reference'
        : '—'
      : `${formatRatio(result.ratio)} ${result.reference}`;
  const target = result.targets
    .map((t) =>
      t.value === null ? t.label : `${t.label} (${formatTargetFigure(t.value, t, unit)})`,
    )
    .join('; ');
  return [result.name, median, figure('min'), figure('max'), ratio, target, result.status ?? ''];
}

/**
 * The figure a target was checked on: the row's own figure for an absolute bound, else the
 * ratio (see {@link formatCheckedRatio}).
 *
 * @param value - the figure.
 * @param target - the target: `against` (absent or `null` for an absolute bound) and its bound.
 * @param unit - what the row counts.
 */
export function formatTargetFigure(
  value: number,
  target: {
    readonly against?: string | null;
    readonly atLeast?: number | null;
    readonly atMost?: number | null;
  },
  unit: RowResult['unit'],
): string {
  return target.against === undefined || target.against === null
    ? formatValue(value, unit)
    : formatCheckedRatio(value, target.atLeast ?? target.atMost);
}
