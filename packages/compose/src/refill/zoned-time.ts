import { invalid } from '../internal/member-list.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const MINUTE = 60_000;

/** @internal Local calendar fields of an instant in a zone. */
export interface LocalFields {
  readonly year: number;
  /** 1 … 12 */
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
}

/**
 * @internal Wall-clock arithmetic in one IANA time zone through the built-in `Intl` API: the
 * local fields of an instant, and the first instant at or after a local wall time (which is
 * what a boundary needs across DST: a skipped midnight begins the day at the transition, and
 * a repeated hour begins at its first occurrence).
 */
export class ZonedTime {
  readonly timeZone: string;
  private readonly format: Intl.DateTimeFormat | undefined;

  constructor(timeZone: unknown) {
    if (typeof timeZone !== 'string' || timeZone.length === 0) {
      throw invalid(`timeZone must be an IANA zone name, got ${String(timeZone)}`, { timeZone });
    }
    let format: Intl.DateTimeFormat;
    try {
      format = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch (error) {
      throw invalid(`unknown time zone ${JSON.stringify(timeZone)}`, { timeZone, cause: error });
    }
    this.timeZone = format.resolvedOptions().timeZone;
    // UTC needs no formatting at all: wall time is the instant.
    this.format = this.timeZone === 'UTC' || this.timeZone === 'Etc/UTC' ? undefined : format;
  }

  /** The local wall time of `t`, as milliseconds of a UTC date with the same fields. */
  wall(t: number): number {
    if (this.format === undefined) return t;
    let year = 0;
    let month = 1;
    let day = 1;
    let hour = 0;
    let minute = 0;
    let second = 0;
    for (const part of this.format.formatToParts(t)) {
      switch (part.type) {
        case 'year':
          year = Number(part.value);
          break;
        case 'month':
          month = Number(part.value);
          break;
        case 'day':
          day = Number(part.value);
          break;
        case 'hour':
          hour = Number(part.value) % 24;
          break;
        case 'minute':
          minute = Number(part.value);
          break;
        case 'second':
          second = Number(part.value);
          break;
      }
    }
    const ms = ((t % 1_000) + 1_000) % 1_000;
    return Date.UTC(year, month - 1, day, hour, minute, second) + ms;
  }

  fields(t: number): LocalFields {
    const d = new Date(this.wall(t));
    return {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      hour: d.getUTCHours(),
      minute: d.getUTCMinutes(),
    };
  }

  /** The first instant whose local wall time is at or after `wall`. */
  instantOf(wall: number): number {
    if (this.format === undefined) return wall;
    // Offsets a day and a half either side bracket any single transition near `wall`.
    const before = wall - this.offsetAt(wall - 1.5 * DAY);
    const after = wall - this.offsetAt(wall + 1.5 * DAY);
    const candidates = [before, after].filter((c) => this.wall(c) === wall);
    if (candidates.length > 0) return Math.min(...candidates);
    // `wall` was skipped (a DST gap): the answer is the transition, where local time jumps
    // past it. Local time is increasing across the gap, so bisect.
    let lo = Math.min(before, after);
    let hi = Math.max(before, after);
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (this.wall(mid) >= wall) hi = mid;
      else lo = mid;
    }
    return hi;
  }

  private offsetAt(t: number): number {
    return this.wall(t) - t;
  }
}

export { DAY, HOUR, MINUTE };
