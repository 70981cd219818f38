import type { Clock } from '@budgetry/core';
import { invalid } from '../internal/member-list.js';
import { type RefillingGuard, type RefillingTokenBudget, schedule } from './scheduled-budget.js';
import type { EpochBoundaries } from './scheduler-options.js';
import type { RefillableGuard, RefillableTokenBudget, RefillBudgetSpec } from './targets.js';
import { DAY, HOUR, MINUTE, ZonedTime } from './zoned-time.js';

/**
 * The calendar period one epoch lasts.
 *
 * @example
 * ```ts
 * import { type CalendarUnit, calendarRefill } from '@budgetry/compose';
 *
 * const unit: CalendarUnit = 'week';
 * const weekly = calendarRefill({ capacity: 500 }, { unit, weekStartsOn: 0 }); // from Sunday
 * console.log(new Date(weekly.nextRefillAt()).getUTCDay()); // 0
 * ```
 */
export type CalendarUnit = 'minute' | 'hour' | 'day' | 'week' | 'month';

/**
 * Options for {@link calendarRefill}.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import { type CalendarRefillOptions, calendarRefill } from '@budgetry/compose';
 *
 * // A daily allowance that resets at midnight in Tokyo, refilled on time by a timer.
 * const options: CalendarRefillOptions = { unit: 'day', timeZone: 'Asia/Tokyo', timer: true };
 * using daily = calendarRefill(new AtomicBudget(1_000), options); // close() stops the timer
 * daily.tryReserveSync(10);
 * ```
 */
export interface CalendarRefillOptions {
  /** Epoch length: a calendar minute, hour, day, week or month. */
  unit: CalendarUnit;
  /** IANA time zone whose wall clock defines the boundaries (default `'UTC'`). */
  timeZone?: string;
  /** First day of a week, 0 = Sunday … 6 = Saturday (default 1, Monday). */
  weekStartsOn?: number;
  /** The source of time (default `systemClock`). */
  clock?: Clock;
  /** Also refill from a timer at each boundary (unref'd; stopped by `close()`). */
  timer?: boolean;
  /**
   * Told about errors with no caller to go to: a refill listener that threw, or a refill the
   * timer could not apply; see {@link RefillSchedulerOptions.onError}. Default: a process
   * warning of type `BudgetryRefillWarning`.
   */
  onError?: (error: unknown) => void;
}

const units: readonly CalendarUnit[] = ['minute', 'hour', 'day', 'week', 'month'];

/**
 * Past this instant the next boundary may lie beyond the last date a `Date` holds
 * (8.64e15 ms): `next` answers `NaN`, which the scheduler reads as "no boundary ahead".
 */
const LAST = 8.64e15 - 40 * DAY;

/** An instant whose next boundary a `Date` can hold (`NaN` and ±Infinity are not). */
const inRange = (t: number): boolean => t > -LAST && t < LAST;

/** 2000-01-01T00:00Z: where the minute and hour indexes match the wall-clock count. */
const REFERENCE = 946_684_800_000;

/** @internal Calendar boundaries in a zone. */
export function calendarBoundaries(
  unit: CalendarUnit,
  zone: ZonedTime,
  weekStartsOn: number,
): EpochBoundaries {
  // Days from 1970-01-01 (a Thursday) shifted so that weeks start on `weekStartsOn`.
  const weekShift = (4 - weekStartsOn + 7) % 7;
  const marks = unit === 'minute' || unit === 'hour';
  const period = unit === 'minute' ? MINUTE : HOUR;
  // Minutes and hours: the clock strikes a mark at the instants t with t + offset ≡ 0 (mod
  // period), so counting periods of real time from the last mark grows by exactly one at each
  // one, through clock changes too (a wall-clock count stays put when an hour is shown twice
  // and skips one when an hour is left out). Shifted so that it reads as the wall-clock count
  // whenever the offset is the zone's on 1 January 2000.
  const shift = marks ? Math.ceil((zone.wall(REFERENCE) - REFERENCE) / period) : 0;
  const index = (instant: number): number => {
    // Whole milliseconds, as `next` reads them: a fraction would blur the offset `w − t`.
    const t = Math.floor(instant);
    const w = zone.wall(t);
    switch (unit) {
      case 'minute':
      case 'hour':
        return Math.floor(w / period) - Math.ceil((w - t) / period) + shift;
      case 'day':
        return Math.floor(w / DAY);
      case 'week':
        return Math.floor((Math.floor(w / DAY) + weekShift) / 7);
      case 'month': {
        const d = new Date(w);
        return d.getUTCFullYear() * 12 + d.getUTCMonth();
      }
    }
  };
  const nextWall = (t: number): number => {
    const f = zone.fields(t);
    const m = f.month - 1;
    switch (unit) {
      case 'minute':
        return Date.UTC(f.year, m, f.day, f.hour, f.minute + 1);
      case 'hour':
        return Date.UTC(f.year, m, f.day, f.hour + 1);
      case 'day':
        return Date.UTC(f.year, m, f.day + 1);
      case 'week': {
        const dow = new Date(Date.UTC(f.year, m, f.day)).getUTCDay();
        return Date.UTC(f.year, m, f.day + ((weekStartsOn - dow + 7) % 7 || 7));
      }
      case 'month':
        return Date.UTC(f.year, m + 1, 1);
    }
  };
  // Boundaries fall on whole milliseconds, so the first after `t` is the first after its
  // floor: a clock with fractions of a millisecond (`performance.now()` based) is read whole.
  if (marks) {
    // The index grows by one at every boundary: differences count them.
    const next = (t: number) =>
      inRange(t) ? nextMark(zone, period, index, Math.floor(t)) : Number.NaN;
    return { index, next };
  }
  const next = (t: number) => {
    if (!inRange(t)) return Number.NaN;
    let at = zone.instantOf(nextWall(Math.floor(t)));
    // A repeated local hour can map the next wall time back to or before `t`; step on.
    while (at <= t) at = zone.instantOf(nextWall(at + 1));
    return at;
  };
  return { index, next, countAfter: (a, t) => countAfter(next, index, a, t) };
}

const mod = (a: number, b: number): number => ((a % b) + b) % b;

/** Days, weeks or months walked one by one before the rest are counted by index. */
const WALK = 2_048;

/**
 * The day, week or month boundaries in `(a, t]`, found by walking `next` (the wall-clock
 * index counts a date a zone left out as two) and, past {@link WALK} of them, by index
 * difference.
 */
function countAfter(
  next: (t: number) => number,
  index: (t: number) => number,
  a: number,
  t: number,
): number {
  let at = a;
  for (let n = 0; n < WALK; n++) {
    const b = next(at);
    if (!(b <= t)) return n;
    at = b;
  }
  return WALK + Math.max(0, index(t) - index(at));
}

/**
 * The first instant after `t` where `index` (a minute or hour count, see `calendarBoundaries`)
 * grows: the next instant at which the wall clock shows a whole minute or hour, counted in
 * real time. When DST ends by an hour, 01:00–02:00 is shown twice and begins two epochs (a
 * per-hour budget keeps refilling through the second pass); when it begins, the skipped mark
 * is not an epoch of its own, so every hour is 60 real minutes. Only a change by a part of the
 * period moves the marks, and the epoch around it then runs between half and one and a half
 * periods, as the zone's offsets fall: Lord Howe's hour 1 lasts 90 minutes when its clock goes
 * back by 30 and its hour 2 lasts 30 when it goes forward; Norfolk Island's 2015 change back
 * by 30 gives an hour of 60 minutes, then one of 30, instead.
 */
function nextMark(
  zone: ZonedTime,
  period: number,
  index: (t: number) => number,
  t: number,
): number {
  const start = index(t);
  let from = t;
  for (;;) {
    const wall = zone.wall(from);
    const offset = wall - from;
    const candidate = from + period - mod(wall, period);
    if (zone.wall(candidate) - candidate === offset) return candidate;
    // The offset changes in (from, candidate]: find the first instant with the new one.
    let lo = from;
    let hi = candidate;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (zone.wall(mid) - mid === offset) lo = mid;
      else hi = mid;
    }
    if (index(hi) > start) return hi;
    from = hi; // the marks moved (a change by part of a period): go on from there
  }
}

/**
 * Refill a budget at calendar boundaries — every minute, hour, day, week or month — of the
 * wall clock in an IANA time zone, computed from the clock on access (and, with `timer`,
 * also from a timer). Boundaries follow local time through DST: a day may last 23 or 25
 * hours, and a month begins at local midnight on the 1st. The budget's policy decides what
 * a refill does (`reset` / `carry`); token budgets pay debt first.
 *
 * When to use: caps stated in calendar terms — a monthly dollar cap that resets at local
 * midnight on the 1st, a daily token allowance per tenant in their zone. For fixed-length
 * periods, {@link lazyRefill} is simpler and cheaper.
 *
 * @param budget - an in-process budget with `refill()`, or `{ capacity, policy }`.
 * @param options - `unit`, `timeZone`, `weekStartsOn`, `clock`, `timer`.
 * @returns the scheduled view of the budget.
 * @throws BudgetError `INVALID_ARGUMENT` for an unknown unit or time zone, or a bad
 * `weekStartsOn`; nothing is built.
 *
 * @example
 * ```ts
 * import { AtomicTokenBudget } from '@budgetry/core';
 * import { calendarRefill } from '@budgetry/compose';
 *
 * // $500 a month in micro-dollars, reset at midnight on the 1st in New York.
 * const monthly = calendarRefill(new AtomicTokenBudget(500_000_000), {
 *   unit: 'month',
 *   timeZone: 'America/New_York',
 * });
 * console.log(new Date(monthly.nextRefillAt()).toISOString());
 * ```
 */
export function calendarRefill<B extends RefillableTokenBudget>(
  budget: B,
  options: CalendarRefillOptions,
): RefillingTokenBudget<B>;
export function calendarRefill<B extends RefillableGuard>(
  budget: B,
  options: CalendarRefillOptions,
): RefillingGuard<B>;
export function calendarRefill(
  budget: RefillBudgetSpec,
  options: CalendarRefillOptions,
): RefillingGuard;
export function calendarRefill(
  budget: unknown,
  options: CalendarRefillOptions,
): RefillingGuard | RefillingTokenBudget {
  if (typeof options !== 'object' || options === null) {
    throw invalid('calendarRefill expects options with a unit', {});
  }
  const boundaries = calendarSchedule(options);
  return schedule(budget, 'calendarRefill', options, () => boundaries, options.timer ?? false);
}

/**
 * Calendar epochs as numbers: see {@link calendarSchedule}.
 *
 * @example
 * ```ts
 * import { type CalendarSchedule, calendarSchedule } from '@budgetry/compose';
 *
 * const months: CalendarSchedule = calendarSchedule({ unit: 'month', timeZone: 'Europe/Paris' });
 * console.log(new Date(months.next(Date.now())).toISOString()); // next local midnight on the 1st
 * ```
 */
export interface CalendarSchedule {
  /**
   * The number of the epoch that contains instant `t`: one more at each boundary. Minutes and
   * hours are counted in real time, through clock changes too; days, weeks and months on the
   * wall clock, so the index skips one where a zone left a date out (Samoa's 30 December
   * 2011). `calendarRefill` counts boundaries by walking `next`.
   */
  index(t: number): number;
  /** The first boundary strictly after `t`; `NaN` when there is none a `Date` can hold. */
  next(t: number): number;
}

/**
 * The calendar epochs {@link calendarRefill} follows, without a budget: `index(t)` numbers
 * the epoch that contains instant `t` (the same number for every instant of one local day,
 * week or month; one more for the next: see {@link CalendarSchedule.index}), and `next(t)`
 * is the first boundary after `t` (`NaN` past the last date a `Date` holds). Backends that
 * keep their own epochs (`@budgetry/redis`) use it to follow a calendar on their own clock.
 *
 * @param options - `unit`, `timeZone` (default `'UTC'`), `weekStartsOn` (default 1, Monday).
 * @returns the epoch numbering and the next boundary, both pure functions of the instant.
 * @throws BudgetError `INVALID_ARGUMENT` for an unknown unit or time zone, or a bad
 * `weekStartsOn`.
 *
 * @example
 * ```ts
 * import { calendarSchedule } from '@budgetry/compose';
 *
 * const days = calendarSchedule({ unit: 'day', timeZone: 'America/New_York' });
 * const t = Date.UTC(2026, 2, 8, 12); // noon on the day clocks go forward
 * console.log(days.index(days.next(t)) - days.index(t)); // 1
 * console.log((days.next(t) - days.next(t - 86_400_000)) / 3_600_000); // 23: a short day
 * ```
 */
export function calendarSchedule(
  options: Pick<CalendarRefillOptions, 'unit' | 'timeZone' | 'weekStartsOn'>,
): CalendarSchedule {
  const { unit, timeZone = 'UTC', weekStartsOn = 1 } = options ?? ({} as never);
  if (!units.includes(unit)) {
    throw invalid(`unit must be one of ${units.join(', ')}, got ${String(unit)}`, { unit });
  }
  if (!Number.isInteger(weekStartsOn) || weekStartsOn < 0 || weekStartsOn > 6) {
    throw invalid(`weekStartsOn must be an integer 0 … 6, got ${String(weekStartsOn)}`, {
      weekStartsOn,
    });
  }
  return calendarBoundaries(unit, new ZonedTime(timeZone), weekStartsOn);
}
