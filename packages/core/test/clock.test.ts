// The system clock's timers: delays beyond setTimeout's 32-bit limit are honoured.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../src/budgets/system-clock.js';

describe('systemClock.setTimer', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fires a 30-day timer after 30 days, not after 1 ms', () => {
    vi.useFakeTimers({ now: 0 });
    let fired = 0;
    systemClock.setTimer(() => fired++, 30 * 86_400_000);
    vi.advanceTimersByTime(1_000);
    expect(fired).toBe(0);
    vi.advanceTimersByTime(25 * 86_400_000);
    expect(fired).toBe(0);
    vi.advanceTimersByTime(5 * 86_400_000);
    expect(fired).toBe(1);
    vi.advanceTimersByTime(60 * 86_400_000);
    expect(fired).toBe(1);
  });

  it('cancels a chained timer between links', () => {
    vi.useFakeTimers({ now: 0 });
    let fired = 0;
    const cancel = systemClock.setTimer(() => fired++, 40 * 86_400_000);
    vi.advanceTimersByTime(26 * 86_400_000); // past the first link
    cancel();
    cancel();
    vi.advanceTimersByTime(30 * 86_400_000);
    expect(fired).toBe(0);
  });

  it('treats negative and NaN delays as due now', () => {
    vi.useFakeTimers({ now: 0 });
    let fired = 0;
    systemClock.setTimer(() => fired++, -5);
    systemClock.setTimer(() => fired++, Number.NaN);
    vi.advanceTimersByTime(0);
    expect(fired).toBe(2);
  });
});
