import type { FakeClock } from './fake-clock.js';

/**
 * @internal Boundaries a twin is stepped through, from the time both were built: a run of
 * thirty commands crosses a few dozen; a long run past them gets single moves.
 */
export const TWIN_MARKS = 128;

/**
 * @internal Where the schedule puts its boundaries, learned from a second subject the factory
 * built at the same fake time on a clock of its own, stepped from boundary to boundary and
 * torn down before the run's subject is built (a factory that allows one live subject at a
 * time still works). The kit moves the subject's clock past several boundaries by these marks
 * without asking the subject, which would catch it up one boundary at a time. They are trusted
 * only while the subject agrees with them: a schedule that depends on more than the clock and
 * the time it was built (traffic, randomness) disagrees sooner or later, and then gets single
 * moves only.
 */
export class ScheduleTwin {
  private readonly known: Set<number>;

  private constructor(private readonly marks: readonly number[]) {
    this.known = new Set(marks);
  }

  /** Steps `subject` (on `clock`) through up to `count` boundaries. */
  static walk(subject: unknown, clock: FakeClock, count = TWIN_MARKS): ScheduleTwin {
    const marks: number[] = [];
    const next = (subject as { nextRefillAt?: unknown }).nextRefillAt;
    while (typeof next === 'function' && marks.length < count) {
      const last = marks.at(-1);
      if (last !== undefined && last > clock.now()) clock.set(last);
      let at: unknown;
      try {
        at = next.call(subject);
      } catch {
        break;
      }
      if (typeof at !== 'number' || !Number.isFinite(at) || (last !== undefined && at <= last))
        break;
      marks.push(at);
    }
    return new ScheduleTwin(marks);
  }

  /** Whether `at` is one of the twin's boundaries. */
  knows(at: number): boolean {
    return this.known.has(at);
  }

  /** Whether the twin's boundaries reach past `at`, so that it could say what follows it. */
  covers(at: number): boolean {
    const last = this.marks.at(-1);
    return last !== undefined && at < last;
  }

  /**
   * Where to move the subject's clock so that it crosses `boundaries` boundaries starting with
   * `at` (the subject's next): halfway between the last of them and the one after. `undefined`
   * when the twin does not know `at` or does not reach that far. The caller trusts the twin
   * only while every boundary the subject has named is one it {@link ScheduleTwin.knows}.
   */
  plan(at: number, boundaries: number): number | undefined {
    const i = this.marks.indexOf(at);
    if (i < 0) return undefined;
    const last = this.marks[i + boundaries - 1];
    const next = this.marks[i + boundaries];
    if (last === undefined || next === undefined) return undefined;
    return last + Math.floor((next - last) / 2);
  }
}
