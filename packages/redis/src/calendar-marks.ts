import type { CalendarSchedule } from '@budgetry/compose';

/** The longest epoch of each calendar unit, with room to spare (a DST day is 25 hours). */
const LONGEST: Readonly<Record<string, number>> = {
  minute: 2 * 60_000,
  hour: 2 * 3_600_000,
  day: 26 * 3_600_000,
  week: 8 * 86_400_000,
  month: 32 * 86_400_000,
};

/**
 * @internal A calendar budget's boundaries, sent with every call: the start of the epoch the
 * server's clock is in (as far as this process can tell), its calendar index, and the next
 * boundary, appended to the calendar's configuration text after '@'. The script begins the
 * epochs passed by that index, or, when the boundaries do not bracket its own `TIME`, refuses
 * the call with the server's time; {@link CalendarMarks.correct} then learns the offset
 * between the two clocks, and the call is sent again with boundaries computed around it.
 */
export class CalendarMarks {
  /** The server's clock minus this process's, as last learned. */
  private offset = 0;
  private start = Number.POSITIVE_INFINITY;
  private next = Number.NEGATIVE_INFINITY;
  private text = '';

  constructor(
    private readonly schedule: CalendarSchedule,
    /** The calendar as stored in the configuration: `cal:<unit>:<zone>:<weekStartsOn>`. */
    private readonly calendar: string,
    private readonly unit: string,
    private readonly localNow: () => number = Date.now,
  ) {}

  /** The period argument for a call made now. */
  argument(): string {
    const t = this.localNow() + this.offset;
    if (t < this.start || t >= this.next) this.around(t);
    return this.text;
  }

  /** The server said its time is `serverNow`: boundaries from now on are computed around it. */
  correct(serverNow: number): void {
    this.offset = serverNow - this.localNow();
    this.next = Number.NEGATIVE_INFINITY;
  }

  private around(t: number): void {
    const { schedule } = this;
    // The last boundary at or before t: boundaries after t - LONGEST, stepped through.
    let start = schedule.next(t - LONGEST[this.unit]!);
    for (let after = schedule.next(start); after <= t; after = schedule.next(start)) {
      start = after;
    }
    const next = schedule.next(t);
    this.start = start;
    this.next = next;
    this.text = `${this.calendar}@${start},${schedule.index(t)},${next}`;
  }
}
