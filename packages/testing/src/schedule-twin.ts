import type { FakeClock } from './fake-clock.js';

/** How many boundaries a twin walks at most in one run (a run crosses a few dozen). */
const MAX_MARKS = 10_000;

/**
 * @internal A second subject built by the factory on a clock of its own, which the kit steps
 * from boundary to boundary to learn where the schedule puts them, so that it can move the
 * subject's clock past several at once without asking the subject (which would catch it up one
 * boundary at a time). The twin is trusted only while it agrees with every boundary the subject
 * itself has reported; a schedule that depends on more than the clock and the time it was
 * built (traffic, randomness) disagrees sooner or later, and then gets single moves only.
 */
export class ScheduleTwin {
  /** The twin's boundaries, in order. */
  private readonly marks: number[] = [];
  private broken = false;

  constructor(
    readonly subject: { nextRefillAt(): number },
    private readonly clock: FakeClock,
  ) {}

  /** Walks the twin until it has `count` boundaries and one past `after`; false if it cannot. */
  private extend(count: number, after: number): boolean {
    const { marks, clock } = this;
    while (!this.broken && (marks.length < count || (marks.at(-1) ?? -Infinity) <= after)) {
      const last = marks.at(-1);
      if (last !== undefined && last > clock.now()) clock.set(last);
      let next: unknown;
      try {
        next = this.subject.nextRefillAt();
      } catch {
        next = undefined;
      }
      const sane =
        typeof next === 'number' &&
        Number.isFinite(next) &&
        (last === undefined || next > last) &&
        marks.length < MAX_MARKS;
      if (!sane) this.broken = true;
      else marks.push(next as number);
    }
    return !this.broken;
  }

  /**
   * Where to move the subject's clock so that it crosses `boundaries` boundaries starting with
   * `at` (the subject's next): halfway between the last of them and the one after. `undefined`
   * when the twin does not know `at` or disagrees with a boundary in `reported`.
   */
  plan(at: number, boundaries: number, reported: readonly number[]): number | undefined {
    let highest = at;
    for (const r of reported) if (r > highest) highest = r;
    if (!this.extend(0, highest)) return undefined;
    const known = new Set(this.marks);
    if (!known.has(at) || reported.some((r) => !known.has(r))) return undefined;
    const i = this.marks.indexOf(at);
    if (!this.extend(i + boundaries + 1, highest)) return undefined;
    const last = this.marks[i + boundaries - 1]!;
    const next = this.marks[i + boundaries]!;
    return last + Math.floor((next - last) / 2);
  }
}
