// The rate limiters' events: what a token bucket and a sliding window report to `subscribe`
// listeners and the `observer` option, and that nobody listening leaves the slot empty.
import { describe, expect, it } from 'vitest';
import { slidingWindow } from '../src/budgets/sliding-window.js';
import { tokenBucket } from '../src/budgets/token-bucket.js';
import { BudgetError } from '../src/spec/budget-error.js';
import type { Clock } from '../src/spec/clock.js';
import type { BudgetEvent } from '../src/spec/events.js';

function manualClock(): Clock & { advance(ms: number): void } {
  let now = 0;
  return {
    now: () => now,
    setTimer: () => () => {},
    advance(ms) {
      now += ms;
    },
  };
}

const record = (events: BudgetEvent[]) => (e: BudgetEvent) => events.push(e);

describe('tokenBucket events', () => {
  it('reports reservations and denials, count and permit, with what is left', () => {
    const seen: BudgetEvent[] = [];
    const bucket = tokenBucket({ burst: 5, rate: 1, clock: manualClock(), name: 'rps' });
    bucket.subscribe(record(seen));
    bucket.tryReserveSync(2);
    bucket.tryAcquireSync(4);
    bucket.tryAcquireSync(3);
    expect(seen).toEqual([
      { type: 'reserve', budget: 'rps', cost: 2, available: 3 },
      { type: 'deny', budget: 'rps', cost: 4, available: 3 },
      { type: 'reserve', budget: 'rps', cost: 3, available: 0 },
    ]);
  });

  it('reports a release with what came back, never past the burst', () => {
    const clock = manualClock();
    const seen: BudgetEvent[] = [];
    const bucket = tokenBucket({ burst: 5, rate: 1, per: 1_000, clock });
    const permit = bucket.tryAcquireSync(4)!;
    bucket.subscribe(record(seen));
    clock.advance(3_000); // three tokens accrue: 4 of 5 are there
    permit.releaseSync();
    expect(seen).toEqual([
      { type: 'release', budget: undefined, cost: 4, refunded: 1, available: 5 },
    ]);
  });

  it('reports commits, partial ones with the units they refunded', () => {
    const seen: BudgetEvent[] = [];
    const bucket = tokenBucket({ burst: 10, rate: 1, clock: manualClock() });
    const whole = bucket.tryAcquireSync(3)!;
    const part = bucket.tryAcquireSync(4)!;
    bucket.subscribe(record(seen));
    whole.commitSync();
    part.commitSync(1);
    part.releaseSync(); // settled already: no event
    expect(seen).toEqual([
      { type: 'commit', budget: undefined, cost: 3, used: 3, refunded: 0 },
      { type: 'commit', budget: undefined, cost: 4, used: 1, refunded: 3 },
    ]);
    expect(bucket.available()).toBe(6);
  });

  it('reports a count over-release after the release, with the excess ignored', () => {
    const seen: BudgetEvent[] = [];
    const bucket = tokenBucket({ burst: 10, rate: 1, clock: manualClock(), name: 'b' });
    bucket.tryReserveSync(3);
    bucket.subscribe(record(seen));
    bucket.releaseSync(5);
    expect(seen).toEqual([
      { type: 'release', budget: 'b', cost: 5, refunded: 3, available: 10 },
      { type: 'over-release', budget: 'b', requested: 5, accepted: 3, excess: 2 },
    ]);
    expect(bucket.overReleased()).toBe(2);
  });

  it('tells the observer option and listeners, until each unsubscribes', () => {
    const seen: string[] = [];
    const bucket = tokenBucket({
      burst: 2,
      rate: 1,
      clock: manualClock(),
      observer: (e) => seen.push(`own:${e.type}`),
    });
    const stop = bucket.subscribe((e) => seen.push(`a:${e.type}`));
    bucket.tryReserveSync(1);
    stop();
    stop();
    bucket.tryReserveSync(5);
    expect(seen).toEqual(['own:reserve', 'a:reserve', 'own:deny']);
  });

  it('keeps its observer slot empty while nobody listens, and again once all stop', () => {
    const bucket = tokenBucket({ burst: 2, rate: 1, clock: manualClock() });
    const slot = () => (bucket as unknown as { observers: { fn: unknown } }).observers.fn;
    expect(slot()).toBeUndefined();
    const stop = bucket.subscribe(() => {});
    expect(slot()).toBeTypeOf('function');
    stop();
    expect(slot()).toBeUndefined();
  });

  it('refuses a listener or options that are not functions or strings, changing nothing', () => {
    const bucket = tokenBucket({ burst: 2, rate: 1 });
    for (const bad of [
      () => bucket.subscribe('log' as never),
      () => tokenBucket({ burst: 2, rate: 1, observer: 'log' as never }),
      () => tokenBucket({ burst: 2, rate: 1, name: 7 as never }),
    ]) {
      let error: unknown;
      try {
        bad();
      } catch (e) {
        error = e;
      }
      expect(BudgetError.isInstance(error) && error.code).toBe('INVALID_ARGUMENT');
    }
  });

  it('does not let a throwing listener fail the reservation', async () => {
    const bucket = tokenBucket({ burst: 2, rate: 1, clock: manualClock() });
    const warned: string[] = [];
    const onWarning = (w: Error) => warned.push(w.name);
    process.on('warning', onWarning);
    bucket.subscribe(() => {
      throw new Error('boom');
    });
    expect(bucket.tryReserveSync(1)).toBe(true);
    expect(bucket.available()).toBe(1);
    await new Promise((resolve) => setImmediate(resolve));
    process.off('warning', onWarning);
    expect(warned).toContain('BudgetryObserverWarning');
  });
});

describe('slidingWindow events', () => {
  it('reports grants and denials, count and permit, with what is left', () => {
    const seen: BudgetEvent[] = [];
    const window = slidingWindow({ limit: 5, windowMs: 1_000, clock: manualClock(), name: 'w' });
    window.subscribe(record(seen));
    window.tryReserveSync(2);
    window.tryReserveSync(4);
    window.tryAcquireSync(3);
    window.tryAcquireSync(1);
    expect(seen).toEqual([
      { type: 'reserve', budget: 'w', cost: 2, available: 3 },
      { type: 'deny', budget: 'w', cost: 4, available: 3 },
      { type: 'reserve', budget: 'w', cost: 3, available: 0 },
      { type: 'deny', budget: 'w', cost: 1, available: 0 },
    ]);
  });

  it('reports a permit release as refunded only while its grant is in the window', () => {
    const clock = manualClock();
    const seen: BudgetEvent[] = [];
    const window = slidingWindow({ limit: 5, windowMs: 1_000, clock });
    const early = window.tryAcquireSync(2)!;
    clock.advance(500);
    const late = window.tryAcquireSync(3)!;
    window.subscribe(record(seen));
    clock.advance(600); // the early grant slid out
    early.releaseSync();
    late.commitSync(1);
    expect(seen).toEqual([
      { type: 'release', budget: undefined, cost: 2, refunded: 0, available: 2 },
      { type: 'commit', budget: undefined, cost: 3, used: 1, refunded: 2 },
    ]);
    expect(window.available()).toBe(4);
  });

  it('reports a count over-release after the release', () => {
    const seen: BudgetEvent[] = [];
    const window = slidingWindow({ limit: 5, windowMs: 1_000, clock: manualClock() });
    window.tryReserveSync(2);
    window.subscribe(record(seen));
    window.releaseSync(3);
    expect(seen).toEqual([
      { type: 'release', budget: undefined, cost: 3, refunded: 2, available: 5 },
      { type: 'over-release', budget: undefined, requested: 3, accepted: 2, excess: 1 },
    ]);
  });

  it('tells the observer option, and keeps the slot empty while nobody listens', () => {
    const seen: string[] = [];
    const window = slidingWindow({
      limit: 1,
      windowMs: 1_000,
      clock: manualClock(),
      observer: (e) => seen.push(e.type),
    });
    window.tryReserveSync(1);
    window.tryReserveSync(1);
    expect(seen).toEqual(['reserve', 'deny']);
    const quiet = slidingWindow({ limit: 1, windowMs: 1_000 });
    const slot = () => (quiet as unknown as { observers: { fn: unknown } }).observers.fn;
    const stop = quiet.subscribe(() => {});
    expect(slot()).toBeTypeOf('function');
    stop();
    expect(slot()).toBeUndefined();
  });
});
