/**
 * A whole number with thin groups of three: 1 234 567.
 *
 * @param value - the number.
 * @returns the text.
 */
export function formatCount(value: number): string {
  const sign = value < 0 ? '-' : '';
  return sign + String(Math.abs(Math.round(value))).replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
}

/**
 * Micro-dollars as dollars: 123 456 → $0.1235.
 *
 * @param micros - millionths of a dollar.
 * @param digits - decimals (default 4).
 * @returns the text.
 */
export function formatDollars(micros: number, digits = 4): string {
  return `$${(micros / 1e6).toFixed(digits)}`;
}

/**
 * A short count: 950, 12.3k, 1.2M.
 *
 * @param value - the number.
 * @returns the text.
 */
export function formatShort(value: number): string {
  const abs = Math.abs(value);
  if (abs < 10_000) return String(Math.round(value));
  if (abs < 1_000_000) return `${(value / 1_000).toFixed(1)}k`;
  return `${(value / 1_000_000).toFixed(1)}M`;
}

/**
 * A share as a percentage: 0.873 → 87%.
 *
 * @param fraction - between 0 and 1.
 * @returns the text.
 */
export function formatPercent(fraction: number): string {
  return `${Math.round(fraction * 100)}%`;
}

const clockFormats = new Map<string, Intl.DateTimeFormat>();

/**
 * The wall-clock time of an instant in a time zone: 23:59:30.
 *
 * @param ms - epoch milliseconds.
 * @param timeZone - an IANA zone.
 * @param seconds - whether to show seconds.
 * @returns the text.
 */
export function formatClock(ms: number, timeZone: string, seconds = true): string {
  const key = `${timeZone}|${seconds}`;
  let format = clockFormats.get(key);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      hour: '2-digit',
      minute: '2-digit',
      ...(seconds ? { second: '2-digit' } : {}),
      hourCycle: 'h23',
    });
    clockFormats.set(key, format);
  }
  return format.format(ms);
}

/**
 * A count with its noun, plural when it should be: 1 tenant, 5 tenants.
 *
 * @param count - how many.
 * @param noun - the singular noun.
 * @returns the text.
 */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
