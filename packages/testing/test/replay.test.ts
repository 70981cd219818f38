import { afterEach, describe, expect, it } from 'vitest';
import {
  ConformanceError,
  checkGuard,
  FakeClock,
  parseReplayToken,
  REPLAY_ENV,
} from '../src/index.js';
import { ToyGuard } from './toy-guard.js';

const broken = () =>
  checkGuard((ctx) => new ToyGuard(ctx.capacity, 'double-refund-on-dispose', ctx.hop), {
    invariants: ['G3'],
  });

async function failure(): Promise<ConformanceError> {
  try {
    await broken();
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

  it('reproduces a failing run exactly from the printed replay line', async () => {
    const first = await failure();
    expect(first.message).toContain(first.replayLine);
    const json = /^BUDGETRY_REPLAY='(.*)'$/.exec(first.replayLine)?.[1];
    expect(parseReplayToken(json)).toEqual(first.replay);
    process.env[REPLAY_ENV] = json;
    const again = await failure();
    expect(again.invariant).toBe(first.invariant);
    expect(again.commands).toBe(first.commands);
    expect(again.trace).toBe(first.trace);
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
});
