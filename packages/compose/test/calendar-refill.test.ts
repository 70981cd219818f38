import { AtomicBudget, AtomicTokenBudget, BudgetError } from '@budgetry/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CalendarUnit,
  calendarBoundaries,
  calendarRefill,
} from '../src/refill/calendar-refill.js';
import { ZonedTime } from '../src/refill/zoned-time.js';
import { TestClock } from './helpers/test-clock.js';

const at = (iso: string) => Date.parse(iso);
const iso = (t: number) => new Date(t).toISOString();

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (error) {
    return BudgetError.isInstance(error) ? error.code : 'not a BudgetError';
  }
  return undefined;
};

const nextOf = (unit: CalendarUnit, zone: string, from: string, weekStartsOn = 1) =>
  iso(calendarBoundaries(unit, new ZonedTime(zone), weekStartsOn).next(at(from)));

describe('calendar boundaries', () => {
  it('finds UTC minute, hour, day, week and month starts', () => {
    expect(nextOf('minute', 'UTC', '2024-05-10T10:20:30.500Z')).toBe('2024-05-10T10:21:00.000Z');
    expect(nextOf('hour', 'UTC', '2024-05-10T10:20:30Z')).toBe('2024-05-10T11:00:00.000Z');
    expect(nextOf('day', 'UTC', '2024-12-31T23:59:59.999Z')).toBe('2025-01-01T00:00:00.000Z');
    expect(nextOf('week', 'UTC', '2024-05-10T10:00:00Z')).toBe('2024-05-13T00:00:00.000Z'); // Monday
    expect(nextOf('week', 'UTC', '2024-05-13T00:00:00Z')).toBe('2024-05-20T00:00:00.000Z');
    expect(nextOf('week', 'UTC', '2024-05-10T10:00:00Z', 0)).toBe('2024-05-12T00:00:00.000Z'); // Sunday
    expect(nextOf('month', 'UTC', '2024-02-29T12:00:00Z')).toBe('2024-03-01T00:00:00.000Z');
  });

  it('starts a month at local midnight on the 1st in a zone', () => {
    expect(nextOf('month', 'America/New_York', '2024-03-15T12:00:00Z')).toBe(
      '2024-04-01T04:00:00.000Z',
    );
    expect(nextOf('month', 'America/New_York', '2024-11-15T12:00:00Z')).toBe(
      '2024-12-01T05:00:00.000Z',
    );
    expect(nextOf('month', 'Asia/Kathmandu', '2024-01-31T18:14:59Z')).toBe(
      '2024-01-31T18:15:00.000Z',
    );
  });

  it('lets a day last 23 or 25 hours across DST', () => {
    const spring = at(nextOf('day', 'America/New_York', '2024-03-10T06:00:00Z'));
    expect(iso(spring)).toBe('2024-03-11T04:00:00.000Z');
    expect(spring - at('2024-03-10T05:00:00Z')).toBe(23 * 3_600_000);
    const fall = at(nextOf('day', 'America/New_York', '2024-11-03T05:00:00Z'));
    expect(iso(fall)).toBe('2024-11-04T05:00:00.000Z');
    expect(fall - at('2024-11-03T04:00:00Z')).toBe(25 * 3_600_000);
  });

  it('begins a day whose midnight was skipped at the transition', () => {
    // Chile moves from 00:00 to 01:00 on 2024-09-08: that day begins at 01:00 local (-03).
    expect(nextOf('day', 'America/Santiago', '2024-09-07T12:00:00Z')).toBe(
      '2024-09-08T04:00:00.000Z',
    );
  });

  it('handles half-hour DST (Lord Howe) and the repeated hour', () => {
    // Lord Howe leaves +11 for +10:30 at 02:00 local on 2024-04-07.
    expect(nextOf('day', 'Australia/Lord_Howe', '2024-04-06T12:00:00Z')).toBe(
      '2024-04-06T13:00:00.000Z',
    );
    // ... so 7 April lasts 24.5 hours.
    expect(nextOf('day', 'Australia/Lord_Howe', '2024-04-06T13:00:00Z')).toBe(
      '2024-04-07T13:30:00.000Z',
    );
    // New York's 01:00–02:00 repeats on 2024-11-03: hour boundaries still move forward.
    const t = at('2024-11-03T05:30:00Z'); // 01:30 EDT, first pass
    const b = calendarBoundaries('hour', new ZonedTime('America/New_York'), 1);
    expect(b.next(t)).toBeGreaterThan(t);
  });

  it('rejects unknown zones, units and week starts at construction', () => {
    const budget = new AtomicBudget(1);
    expect(codeOf(() => calendarRefill(budget, { unit: 'day', timeZone: 'Mars/Olympus' }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(codeOf(() => calendarRefill(budget, { unit: 'day', timeZone: '' }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(codeOf(() => calendarRefill(budget, { unit: 'fortnight' as never }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(codeOf(() => calendarRefill(budget, { unit: 'week', weekStartsOn: 7 }))).toBe(
      'INVALID_ARGUMENT',
    );
  });
});

describe('calendarRefill', () => {
  it('resets a monthly dollar cap at local midnight on the 1st, debt paid first', () => {
    const clock = new TestClock(at('2024-03-31T12:00:00Z'));
    const monthly = calendarRefill(new AtomicTokenBudget(500), {
      unit: 'month',
      timeZone: 'America/New_York',
      clock,
    });
    monthly.recordUsageSync(monthly.tryReserveTokensSync(500)!, 530, 0);
    expect(monthly.debt()).toBe(30);
    expect(iso(monthly.nextRefillAt())).toBe('2024-04-01T04:00:00.000Z');
    expect(monthly.retryAfterMs(1)).toBe(at('2024-04-01T04:00:00Z') - clock.now());
    clock.set(at('2024-04-01T03:59:59.999Z'));
    expect(monthly.available()).toBe(0);
    clock.set(at('2024-04-01T04:00:00Z'));
    expect([monthly.available(), monthly.debt(), monthly.epoch]).toEqual([470, 0, 1]);
  });

  it('refills from a timer when asked, and stops on close', () => {
    const clock = new TestClock(at('2024-05-10T10:20:00Z'));
    const budget = new AtomicBudget(2);
    const hourly = calendarRefill(budget, { unit: 'hour', clock, timer: true });
    budget.tryReserveSync(2);
    clock.set(at('2024-05-10T11:00:00Z'));
    expect(budget.available()).toBe(2);
    hourly.close();
    expect(clock.pending()).toBe(0);
  });
});

describe('calendar boundaries: properties', () => {
  const zones = [
    'UTC',
    'America/New_York',
    'Europe/London',
    'Australia/Lord_Howe',
    'Asia/Kathmandu',
    'America/Santiago',
    'Pacific/Chatham',
  ];
  it('next(t) is the first instant after t where the local period changes', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        fc.constantFrom<CalendarUnit>('day', 'week', 'month'),
        fc.integer({ min: at('2020-01-01T00:00:00Z'), max: at('2030-01-01T00:00:00Z') }),
        (zone, unit, t) => {
          const b = calendarBoundaries(unit, new ZonedTime(zone), 1);
          const n = b.next(t);
          expect(n).toBeGreaterThan(t);
          // Exactly one boundary is crossed, at n and not a millisecond earlier.
          expect(b.index(n - 1)).toBe(b.index(t));
          expect(b.index(n)).toBe(b.index(t) + 1);
          expect(n - t).toBeLessThanOrEqual(32 * 86_400_000);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('calendar boundaries: minutes and hours through DST', () => {
  it('keeps refilling every minute and hour through a repeated hour', () => {
    // New York shows 01:00–02:00 twice on 2024-11-03 (05:00–07:00Z).
    expect(nextOf('minute', 'America/New_York', '2024-11-03T05:59:30Z')).toBe(
      '2024-11-03T06:00:00.000Z',
    );
    expect(nextOf('minute', 'America/New_York', '2024-11-03T06:00:00Z')).toBe(
      '2024-11-03T06:01:00.000Z',
    );
    expect(nextOf('hour', 'America/New_York', '2024-11-03T05:30:00Z')).toBe(
      '2024-11-03T06:00:00.000Z',
    );
    expect(nextOf('hour', 'America/New_York', '2024-11-03T06:00:00Z')).toBe(
      '2024-11-03T07:00:00.000Z',
    );
  });

  it('begins the hour after a forward jump at the jump', () => {
    expect(nextOf('hour', 'America/New_York', '2024-03-10T06:30:00Z')).toBe(
      '2024-03-10T07:00:00.000Z',
    );
    // Lord Howe jumps from 02:00 (+10:30) to 02:30 (+11) at 15:30Z on 2024-10-05.
    expect(nextOf('hour', 'Australia/Lord_Howe', '2024-10-05T15:15:00Z')).toBe(
      '2024-10-05T15:30:00.000Z',
    );
    expect(nextOf('hour', 'Australia/Lord_Howe', '2024-10-05T15:30:00Z')).toBe(
      '2024-10-05T16:00:00.000Z',
    );
  });

  it('a per-minute budget refills 120 times over the two passes of a repeated hour', () => {
    const clock = new TestClock(at('2024-11-03T05:00:00Z'));
    const perMinute = calendarRefill(new AtomicBudget(1), {
      unit: 'minute',
      timeZone: 'America/New_York',
      clock,
    });
    let granted = 0;
    for (let minute = 0; minute < 120; minute++) {
      if (perMinute.tryReserveSync(1)) granted++;
      expect(perMinute.tryReserveSync(1)).toBe(false); // one per minute, never two
      clock.advance(60_000);
    }
    expect(granted).toBe(120);
  });

  it('reads a clock with fractions of a millisecond, and has no boundary for one that is not finite', () => {
    for (const unit of ['minute', 'hour', 'day'] as const) {
      for (const zone of ['America/New_York', 'Europe/Amsterdam', 'Asia/Kathmandu']) {
        const b = calendarBoundaries(unit, new ZonedTime(zone), 1);
        for (const t of [-160_212.9999999991, 1_700_000_000_000.25, 0.5, -0.5]) {
          const n = b.next(t);
          expect(n, `${unit} ${zone} ${t}`).toBe(b.next(Math.floor(t)));
          expect(n).toBeGreaterThan(t);
        }
        // The index too: near 1970 a fraction blurred the offset and moved it by one.
        expect(b.index(812_523.4)).toBe(b.index(812_523));
        for (const t of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -9e15]) {
          expect(b.next(t), `${unit} ${zone} ${t}`).toBeNaN();
        }
      }
    }
  });

  it('an hour a clock goes back into by half an hour runs on to its end: 90 minutes', () => {
    // Lord Howe, 2021-04-04: at 02:00 daylight (15:00 UTC) the wall clock goes back to 01:30,
    // and shows hour 1 until 02:00 standard (15:30 UTC).
    const hours = calendarBoundaries('hour', new ZonedTime('Australia/Lord_Howe'), 1);
    expect(hours.next(at('2021-04-03T14:00:00Z'))).toBe(at('2021-04-03T15:30:00Z'));
    expect(hours.index(at('2021-04-03T15:29:59Z'))).toBe(hours.index(at('2021-04-03T14:00:00Z')));
    expect(hours.index(at('2021-04-03T15:30:00Z'))).toBe(
      hours.index(at('2021-04-03T14:00:00Z')) + 1,
    );
    // Going forward by half an hour (2021-10-03, 02:00 standard → 02:30 daylight) hour 2 is
    // the 30 minutes from the jump to 03:00.
    expect(hours.next(at('2021-10-02T14:30:00Z'))).toBe(at('2021-10-02T15:30:00Z'));
    expect(hours.next(at('2021-10-02T15:30:00Z'))).toBe(at('2021-10-02T16:00:00Z'));
  });

  it('a budget read only after a clock change gets the refills of one read at every boundary', () => {
    // Two budgets 900 in debt; one is read at `to` only, the other at every boundary on the
    // way: the wall-clock index counts a repeated hour once and a skipped hour or day twice,
    // so the first used to get one refill too few or too many.
    const drive = (unit: CalendarUnit, timeZone: string, from: string, to: string) => {
      const run = (step: boolean) => {
        const clock = new TestClock(at(from));
        const budget = calendarRefill(new AtomicTokenBudget(100), { unit, timeZone, clock });
        budget.recordUsageSync(budget.tryReserveTokensSync(100)!, 1_000, 0);
        if (step) {
          const b = calendarBoundaries(unit, new ZonedTime(timeZone), 1);
          for (let n = b.next(at(from)); n <= at(to); n = b.next(n)) {
            clock.set(n);
            budget.available();
          }
        }
        clock.set(at(to));
        return { epoch: budget.epoch, debt: budget.debt(), available: budget.available() };
      };
      return [run(false), run(true)];
    };
    const cases: [CalendarUnit, string, string, string, number][] = [
      ['hour', 'America/New_York', '2024-11-03T04:30:00Z', '2024-11-03T06:30:00Z', 2], // 01:00 twice
      ['minute', 'America/New_York', '2024-11-03T05:30:00Z', '2024-11-03T06:30:00Z', 60],
      ['hour', 'America/New_York', '2024-03-10T05:30:00Z', '2024-03-10T07:30:00Z', 2], // 02:00 skipped
      ['hour', 'Antarctica/Troll', '2024-10-26T23:30:00Z', '2024-10-27T01:30:00Z', 2],
      ['day', 'Pacific/Apia', '2011-12-29T05:00:00Z', '2011-12-30T12:00:00Z', 2], // 30 December skipped
    ];
    for (const [unit, zone, from, to, crossed] of cases) {
      const [jumped, stepped] = drive(unit, zone, from, to);
      expect(jumped, `${unit} in ${zone}`).toEqual(stepped);
      expect(jumped!.epoch, `${unit} in ${zone}`).toBe(crossed);
    }
  });

  it('next(t) and index(t) agree right around every clock change, minutes and hours', () => {
    // Random instants of a decade almost never fall near a change; these fall within two
    // hours of one (found by scanning each zone's offset, day by day, and bisecting).
    const zones = [
      'America/New_York',
      'Australia/Lord_Howe', // back and forward by 30 minutes
      'Pacific/Chatham', // +12:45 / +13:45
      'Antarctica/Troll', // +00 / +02
      'Europe/Dublin', // summer time is its standard time
      'America/Santiago', // changes at midnight
      'Africa/Casablanca', // changes around Ramadan
    ];
    const near: [string, number][] = [];
    for (const zone of zones) {
      const z = new ZonedTime(zone);
      const offset = (t: number) => z.wall(t) - t;
      for (
        let day = at('2020-01-01T00:00:00Z');
        day < at('2026-01-01T00:00:00Z');
        day += 86_400_000
      ) {
        let [lo, hi] = [day, day + 86_400_000];
        if (offset(lo) === offset(hi)) continue;
        while (hi - lo > 1) {
          const mid = Math.floor((lo + hi) / 2);
          if (offset(mid) === offset(day)) lo = mid;
          else hi = mid;
        }
        near.push([zone, hi]);
      }
    }
    expect(near.length).toBeGreaterThanOrEqual(80); // about two changes a year, six years, seven zones
    fc.assert(
      fc.property(
        fc.constantFrom(...near),
        fc.constantFrom<CalendarUnit>('minute', 'hour'),
        fc.integer({ min: -7_200_000, max: 7_200_000 }),
        ([zone, change], unit, delta) => {
          const b = calendarBoundaries(unit, new ZonedTime(zone), 1);
          const period = unit === 'minute' ? 60_000 : 3_600_000;
          const t = change + delta;
          const n = b.next(t);
          expect(n).toBeGreaterThan(t);
          // At most a period and a half: an hour a clock goes back into by 30 minutes.
          expect(n - t).toBeLessThanOrEqual(period * 1.5);
          expect(b.next(n - 1)).toBe(n); // no boundary in between
          // The index grows by exactly one at each boundary, and nowhere else.
          expect(b.index(n - 1)).toBe(b.index(t));
          expect(b.index(n)).toBe(b.index(t) + 1);
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('next(t) is the first whole local minute or hour after t, in every zone', () => {
    const zones = ['America/New_York', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'Pacific/Chatham'];
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        fc.constantFrom<CalendarUnit>('minute', 'hour'),
        fc.integer({ min: at('2020-01-01T00:00:00Z'), max: at('2030-01-01T00:00:00Z') }),
        (zone, unit, t) => {
          const b = calendarBoundaries(unit, new ZonedTime(zone), 1);
          const period = unit === 'minute' ? 60_000 : 3_600_000;
          const n = b.next(t);
          expect(n).toBeGreaterThan(t);
          // Lord Howe's clock goes back by half an hour: that hour runs for 90 minutes.
          expect(n - t).toBeLessThanOrEqual(zone === 'Australia/Lord_Howe' ? period * 1.5 : period);
          expect(b.next(n - 1)).toBe(n); // no boundary in between
        },
      ),
      { numRuns: 300 },
    );
  });
});
