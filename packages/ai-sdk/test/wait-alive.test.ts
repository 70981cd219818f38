// A call waiting for its budget is pending work: it keeps the process alive, as a pending
// request would, even though the clock's own timers are unref'd. Otherwise a script whose
// calls wait for a refill exits in the middle (status 0), its remaining calls never made.
import { AtomicTokenBudget } from '@budgetry/core';
import { FakeClock } from '@budgetry/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mocks } from './mock.js';
import { ai6 } from './sdk-ai6.js';

const { generating } = mocks(ai6);

// The ref'd intervals set during a test and not cleared: what keeps the process alive on the
// middleware's behalf. Counted through the globals the middleware calls, so a timer anything
// else in the process has pending (the runner's, a library's) never shifts the count.
const live = new Set<ReturnType<typeof setInterval>>();
const realSet = globalThis.setInterval;
const realClear = globalThis.clearInterval;
beforeEach(() => {
  live.clear();
  globalThis.setInterval = ((...args: Parameters<typeof setInterval>) => {
    const handle = realSet(...args);
    live.add(handle);
    return handle;
  }) as typeof setInterval;
  globalThis.clearInterval = ((handle?: ReturnType<typeof setInterval>) => {
    if (handle !== undefined) live.delete(handle);
    realClear(handle);
  }) as typeof clearInterval;
});
afterEach(() => {
  globalThis.setInterval = realSet;
  globalThis.clearInterval = realClear;
  for (const handle of live) realClear(handle);
});
const timers = () => [...live].filter((handle) => handle.hasRef()).length;
const fixed = (input: number, output: number) => () => ({ input, output });
const tick = () => new Promise((r) => setImmediate(r));

describe('budgetMiddleware: a call waiting for its budget', () => {
  it('keeps the process alive while it waits, and lets go once admitted', async () => {
    const clock = new FakeClock(); // its timers hold nothing alive, as the system clock's
    const tokens = new AtomicTokenBudget(10);
    const model = ai6.wrap(generating(1, 1), {
      budget: tokens,
      estimate: fixed(10, 0),
      onDenied: 'wait',
      clock,
    });
    const before = timers();
    const first = tokens.tryReserveTokensSync(10)!;
    const call = ai6.generateText({ model, prompt: 'hi', maxRetries: 0 });
    await tick();
    expect(timers()).toBe(before + 1);
    first[Symbol.dispose]();
    clock.advance(250);
    await call;
    expect(timers()).toBe(before);
  });

  it('lets go when the wait is aborted or gives up', async () => {
    const clock = new FakeClock();
    const tokens = new AtomicTokenBudget(10);
    const model = ai6.wrap(generating(1, 1), {
      budget: tokens,
      estimate: fixed(10, 0),
      onDenied: 'wait',
      maxWaitMs: 500,
      clock,
    });
    const before = timers();
    const held = tokens.tryReserveTokensSync(10)!; // referenced to the end: no leak refund
    const controller = new AbortController();
    const aborted = ai6
      .generateText({ model, prompt: 'a', maxRetries: 0, abortSignal: controller.signal })
      .catch((e: unknown) => e);
    const timedOut = ai6.generateText({ model, prompt: 'b', maxRetries: 0 }).catch((e) => e);
    await tick();
    expect(timers()).toBe(before + 1); // one hold, however many calls wait
    controller.abort();
    await aborted;
    for (let i = 0; i < 3; i++) {
      clock.advance(250);
      await tick();
    }
    await timedOut;
    expect(timers()).toBe(before);
    held[Symbol.dispose]();
  });
});
