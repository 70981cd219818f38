// The kit's clock jumps past several boundaries (a process paused, a machine asleep), placed by
// a second subject from the factory: a correct schedule of any shape passes, a catch-up of one
// epoch per access is caught, and a schedule the twin cannot predict gets single moves only.
import { describe, expect, it } from 'vitest';
import { type CheckOptions, ConformanceError, checkGuard, type FakeClock } from '../src/index.js';
import { type ScheduleBug, ScheduledGuard, schedules } from './scheduled-guard.js';

const capabilities = (policy: 'reset' | 'carry') =>
  ({ available: true, permits: true, refill: { policy, by: 'clock' } }) as const;

function run(
  next: (t: number) => number,
  policy: 'reset' | 'carry',
  options: CheckOptions,
  bug: ScheduleBug = 'none',
): { built: ScheduledGuard[]; check: Promise<unknown> } {
  const built: ScheduledGuard[] = [];
  const check = checkGuard(
    ({ capacity, clock }: { capacity: number; clock: FakeClock }) => {
      const g = new ScheduledGuard(capacity, policy, clock, next, bug);
      built.push(g);
      return g;
    },
    { ...options, replayFromEnv: false, capabilities: capabilities(policy) },
  );
  return { built, check };
}

describe('clock jumps past several boundaries', () => {
  for (const [name, next] of Object.entries(schedules)) {
    for (const policy of ['reset', 'carry'] as const) {
      it(`pass a correct schedule with uneven gaps: ${name} (${policy})`, async () => {
        for (const seed of [1, 2, 3]) {
          const { built, check } = run(next, policy, { seed, numRuns: 60, focus: 'refill' });
          await check;
          // Some access began several epochs at once: the jumps happened.
          expect(Math.max(...built.map((g) => g.maxCatchUp))).toBeGreaterThan(1);
        }
      });
    }
    it(`catch a catch-up of one epoch per access: ${name}`, async () => {
      for (const seed of [1, 2, 3]) {
        const { check } = run(next, 'reset', { seed }, 'catch-up-one-per-access');
        const error = await check.catch((e: unknown) => e);
        expect(ConformanceError.isInstance(error), String(error)).toBe(true);
        expect((error as ConformanceError).commands).toMatch(/advance\(past [2-4] boundaries\)/);
      }
    });
  }

  it('catch a catch-up capped at four epochs: some jumps pass dozens of boundaries', async () => {
    for (const seed of [1, 2, 3]) {
      const { check } = run(
        schedules['two shifts a day (09:00, 17:00)'],
        'reset',
        { seed },
        'catch-up-capped-at-4',
      );
      expect(ConformanceError.isInstance(await check.catch((e: unknown) => e))).toBe(true);
    }
  });

  it('catch a schedule that restarts from the time it woke after a pause (R2)', async () => {
    for (const seed of [1, 2, 3]) {
      const { check } = run(
        schedules['weekdays at 09:00'],
        'reset',
        { seed },
        're-anchor-after-pause',
      );
      const error = await check.catch((e: unknown) => e);
      expect(ConformanceError.isInstance(error), String(error)).toBe(true);
      expect((error as ConformanceError).message).toMatch(/the pause moved the schedule/);
    }
  });

  it('work with a factory that allows one live subject at a time (the twin is gone first)', async () => {
    let live = 0;
    const summary = await checkGuard(
      ({ capacity, clock }) => {
        if (live > 0) throw new Error('pool exhausted: one subject at a time');
        live++;
        return new ScheduledGuard(capacity, 'reset', clock, schedules['weekdays at 09:00']);
      },
      {
        seed: 5,
        numRuns: 30,
        replayFromEnv: false,
        capabilities: capabilities('reset'),
        teardown: () => {
          live--;
        },
      },
    );
    expect([summary.runs, live]).toEqual([30, 0]);
  });

  it('move one boundary at a time for a schedule the twin cannot predict, which passes', async () => {
    // Every second, but each subject built shifted by a phase of its own, alternately 0 and
    // 250 ms: a run's subject and its twin (built next) never agree.
    let made = 0;
    const built: ScheduledGuard[] = [];
    await checkGuard(
      ({ capacity, clock }) => {
        const phase = (made++ % 2) * 250;
        const next = (t: number) => Math.floor((t - phase) / 1_000) * 1_000 + 1_000 + phase;
        const g = new ScheduledGuard(capacity, 'reset', clock, next);
        built.push(g);
        return g;
      },
      {
        seed: 4,
        numRuns: 60,
        focus: 'refill',
        replayFromEnv: false,
        capabilities: capabilities('reset'),
      },
    );
    expect(built.length).toBeGreaterThan(100);
    expect(Math.max(...built.map((g) => g.maxCatchUp))).toBe(1);
  });
});
