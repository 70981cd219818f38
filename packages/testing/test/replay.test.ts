import { afterEach, describe, expect, it } from 'vitest';
import {
  type CheckOptions,
  ConformanceError,
  checkGuard,
  FakeClock,
  parseReplayToken,
  REPLAY_ENV,
} from '../src/index.js';
import { PlainGuard } from './outside/plain-guard.js';
import { type GuardBug, ToyGuard } from './toy-guard.js';

const caps = { available: true, permits: true, refill: { policy: 'reset' } } as const;

const subjects: [string, (options: CheckOptions) => Promise<unknown>][] = [
  [
    'a race behind a plain await (outside guard, check-then-act)',
    (o) =>
      checkGuard(({ capacity }) => new PlainGuard(capacity, { bug: 'check-then-act' }), {
        ...o,
        capabilities: caps,
      }),
  ],
  [
    'a race behind setImmediate (outside guard, lost-release)',
    (o) =>
      checkGuard(
        ({ capacity }) => new PlainGuard(capacity, { bug: 'lost-release', boundary: 'immediate' }),
        { ...o, capabilities: caps },
      ),
  ],
  ...(['double-refund-on-dispose', 'lost-refund'] as GuardBug[]).map(
    (bug): [string, (options: CheckOptions) => Promise<unknown>] => [
      `toy guard through hop: ${bug}`,
      (o) =>
        checkGuard((ctx) => new ToyGuard(ctx.capacity, bug, ctx.hop), { ...o, capabilities: caps }),
    ],
  ),
];

async function failure(run: () => Promise<unknown>): Promise<ConformanceError> {
  try {
    await run();
  } catch (error) {
    if (ConformanceError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

describe('replay', () => {
  afterEach(() => {
    delete process.env[REPLAY_ENV];
  });

  for (const [name, run] of subjects) {
    it(`reproduces ${name} exactly from the printed replay line`, async () => {
      for (const seed of [1, 2, 3]) {
        const first = await failure(() => run({ seed, replayFromEnv: false }));
        const json = /^BUDGETRY_REPLAY='(.*)'$/.exec(first.replayLine)?.[1];
        expect(parseReplayToken(json)).toEqual(first.replay);
        process.env[REPLAY_ENV] = json;
        const again = await failure(() => run({}));
        expect(again.invariant).toBe(first.invariant);
        expect(again.commands).toBe(first.commands);
        expect(again.detail).toBe(first.detail);
        delete process.env[REPLAY_ENV];
      }
    });
  }

  it('ignores a replay token recorded for another subject or check', async () => {
    const first = await failure(() => subjects[0]![1]({ seed: 1, replayFromEnv: false }));
    process.env[REPLAY_ENV] = JSON.stringify({ ...first.replay, check: 'probe' });
    // The token names another check: this run draws its own seed, and still finds the race.
    const again = await failure(() => subjects[0]![1]({}));
    expect(again.replay.seed === first.replay.seed && again.commands === first.commands).toBe(
      false,
    );
  });
});

describe('FakeClock', () => {
  it('fires timers in due order as time advances, and cancels', () => {
    const clock = new FakeClock(1_000);
    const fired: string[] = [];
    clock.setTimer(() => fired.push('b'), 20);
    clock.setTimer(() => fired.push('a'), 10);
    const cancel = clock.setTimer(() => fired.push('never'), 15);
    cancel();
    expect(clock.pendingTimers()).toBe(2);
    expect(clock.advance(15)).toBe(1);
    expect(fired).toEqual(['a']);
    clock.set(1_030);
    expect(fired).toEqual(['a', 'b']);
    expect(clock.now()).toBe(1_030);
    expect(() => clock.set(0)).toThrow(RangeError);
  });

  it('holds timers back under lag and delivers them late on flush', () => {
    const clock = new FakeClock(0);
    const seen: number[] = [];
    clock.setTimer(() => seen.push(clock.now()), 10);
    expect(clock.lag(25)).toBe(1);
    expect(seen).toEqual([]);
    expect(clock.now()).toBe(25);
    expect(clock.flush()).toBe(1);
    expect(seen).toEqual([25]);
    expect(clock.flush()).toBe(0);
  });
});
