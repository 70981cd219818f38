import { afterEach, describe, expect, it } from 'vitest';
import {
  type CheckOptions,
  ConformanceError,
  checkGuard,
  FakeClock,
  parseReplayToken,
  REPLAY_ENV,
} from '../src/index.js';
import { type GuardBug, ToyGuard } from './toy-guard.js';

const broken = (bug: GuardBug, options: CheckOptions) =>
  checkGuard((ctx) => new ToyGuard(ctx.capacity, bug, ctx.hop), options);

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

  const cases: [GuardBug, CheckOptions][] = [
    ['double-refund-on-dispose', { invariants: ['G3'] }],
    // A race: the failure depends on the interleaving, which the replay must reproduce.
    ['racy-reserve', {}],
    ['lost-refund', {}],
  ];
  for (const [bug, options] of cases) {
    it(`reproduces a ${bug} failure exactly from the printed replay line`, async () => {
      for (const seed of [1, 2, 3]) {
        const first = await failure(() => broken(bug, { ...options, seed }));
        expect(first.message).toContain(first.replayLine);
        const json = /^BUDGETRY_REPLAY='(.*)'$/.exec(first.replayLine)?.[1];
        expect(parseReplayToken(json)).toEqual(first.replay);
        process.env[REPLAY_ENV] = json;
        const again = await failure(() => broken(bug, options));
        expect(again.invariant).toBe(first.invariant);
        expect(again.commands).toBe(first.commands);
        expect(again.trace).toBe(first.trace);
        delete process.env[REPLAY_ENV];
      }
    });
  }
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
