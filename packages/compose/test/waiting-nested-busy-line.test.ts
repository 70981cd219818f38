// A waiting line with someone in it grants nobody else, whatever room its guard has. A line
// over it (through an all-of or any-of) must not read that room as "retry now" and poll every
// millisecond: it waits for an event — a release underneath, or the inner line emptying
// (found by a hostile review: 1 000 timer firings per fake second).
import { AtomicBudget } from '@budgetry/core';
import { FakeClock } from '@budgetry/testing';
import { describe, expect, it } from 'vitest';
import { allOf, anyOf, waiting } from '../src/index.js';
import { flush, outcome } from './helpers/waiting-outcome.js';

const exact = (capacity: number) => new AtomicBudget(capacity, { leakBackstop: false });

describe('a line over an all-of with a busy waiting line inside', () => {
  it('sets no timer while the inner line has a waiter, and is served when units come back', async () => {
    const clock = new FakeClock(0);
    const b = exact(5);
    const inner = waiting(b, { clock });
    const hold = inner.tryAcquireSync(3)!;
    const innerW = outcome(inner.acquire(5));
    const y = exact(100);
    const both = allOf({ inner, y });
    expect(both.retryAfterMs(1)).toBeUndefined(); // room, but not for anyone else now
    const outer = waiting(both, { clock });
    const w = outcome(outer.acquire(1));
    await flush();
    expect(clock.advance(1_000)).toBe(0);
    expect(w.now()).toBe('pending');
    hold.releaseSync(); // the inner waiter goes first and takes all 5
    await flush();
    expect([innerW.now(), w.now(), b.available()]).toEqual(['granted 5', 'pending', 0]);
    innerW.permit().releaseSync();
    await flush();
    expect(w.now()).toBe('granted 1');
    expect([b.available(), y.available()]).toEqual([4, 99]);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('is served when the inner waiter times out, which frees no units', async () => {
    const clock = new FakeClock(0);
    const b = exact(5);
    const inner = waiting(b, { clock });
    inner.tryAcquireSync(3);
    const innerW = outcome(inner.acquire(5, { timeoutMs: 100 }));
    const outer = waiting(allOf({ inner, y: exact(100) }), { clock });
    const w = outcome(outer.acquire(2));
    await flush();
    expect(clock.advance(100)).toBe(1); // the inner timeout, and no other timer
    await flush();
    expect([innerW.now(), w.now(), b.available()]).toEqual(['TIMEOUT', 'granted 2', 0]);
  });

  it('is served when the inner line is served and leaves room to spare', async () => {
    const clock = new FakeClock(0);
    const b = exact(10);
    const inner = waiting(b, { clock });
    const hold = inner.tryAcquireSync(8)!;
    const y = exact(100);
    const yHold = y.tryAcquireSync(100)!;
    // The outer line joins first, so it hears b's releases before the inner line does.
    const outer = waiting(allOf({ inner, y }), { clock });
    const w = outcome(outer.acquire(1));
    await flush();
    const innerW = outcome(inner.acquire(5));
    yHold.releaseSync(); // y has room; the inner line still grants nobody but its waiter
    await flush();
    expect([w.now(), clock.pendingTimers()]).toEqual(['pending', 0]);
    hold.releaseSync(); // the outer line is denied first; the inner waiter then takes 5 of 10
    await flush();
    expect([innerW.now(), w.now(), b.available()]).toEqual(['granted 5', 'granted 1', 4]);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('hears an inner line over a guard that reports nothing, served through its permits', async () => {
    const clock = new FakeClock(0);
    const b = exact(10);
    // No subscribe: the inner line is served only through its own permits (or notify()).
    const silent = Object.create(b) as AtomicBudget;
    Object.assign(silent, { subscribe: undefined });
    const inner = waiting(silent, { clock });
    const hold = inner.tryAcquireSync(8)!;
    const innerW = outcome(inner.acquire(5));
    const outer = waiting(allOf({ inner, y: exact(100) }), { clock });
    const w = outcome(outer.acquire(1));
    await flush();
    hold.releaseSync(); // through the inner line: it serves its waiter, 5 are left
    await flush();
    expect([innerW.now(), w.now(), silent.available()]).toEqual(['granted 5', 'granted 1', 4]);
    expect(clock.pendingTimers()).toBe(0);
  });
});

describe('a line over an any-of of busy waiting lines', () => {
  it('sets no timer, and is served by the first inner line to empty', async () => {
    const clock = new FakeClock(0);
    const a = exact(5);
    const b = exact(5);
    const lineA = waiting(a, { clock });
    const lineB = waiting(b, { clock });
    lineA.tryAcquireSync(3);
    const holdB = lineB.tryAcquireSync(3)!;
    const waitA = outcome(lineA.acquire(5));
    const waitB = outcome(lineB.acquire(5));
    const either = anyOf([lineA, lineB]);
    expect(either.retryAfterMs(1)).toBeUndefined();
    const outer = waiting(either, { clock });
    const w = outcome(outer.acquire(1));
    await flush();
    expect(clock.advance(1_000)).toBe(0);
    expect(w.now()).toBe('pending');
    holdB.releaseSync(); // lineB serves its waiter: b is full again
    await flush();
    expect([waitB.now(), w.now()]).toEqual(['granted 5', 'pending']);
    waitB.permit().releaseSync();
    await flush();
    expect([waitA.now(), w.now(), a.available(), b.available()]).toEqual([
      'pending',
      'granted 1',
      2,
      4,
    ]);
  });
});

describe('cost 0 and lines with nobody waiting keep their hints', () => {
  it('an all-of over an idle line gives 0 when the cost fits, and 0 for cost 0 over a busy one', () => {
    const b = exact(5);
    const inner = waiting(b);
    const both = allOf({ inner, y: exact(100) });
    expect(both.retryAfterMs(5)).toBe(0);
    inner.tryAcquireSync(3);
    const queued = outcome(inner.acquire(5));
    expect(both.retryAfterMs(1)).toBeUndefined();
    expect(both.retryAfterMs(0)).toBe(0); // cost 0 passes the inner waiter
    expect(queued.now()).toBe('pending');
  });
});
