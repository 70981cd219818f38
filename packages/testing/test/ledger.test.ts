// The auditor on its own: hand-worked cases from the brief and the issues, each with the
// numbers worked out in the comment, and its replay of recorded events.
import { describe, expect, it } from 'vitest';
import { Auditor } from '../src/index.js';

describe('Auditor', () => {
  it('owes overage in full (capacity 100, reserve 50 + 50, record 80 on the first, drop the second: 20)', () => {
    const a = new Auditor({ capacity: 100 });
    const first = a.grant(50)!;
    const second = a.grant(50)!;
    a.record(first, 80, 0);
    expect([a.available, a.debt]).toEqual([0, 30]);
    a.release(second);
    expect([a.available, a.debt]).toEqual([20, 0]);
    expect(a.consumed).toBe(80);
  });

  it('carries held reservations into a new epoch once, never also as old debt', () => {
    // 1000; 500 + 500 held; 700 recorded on the second: 1200 charged, 200 owed. Under carry
    // the first 500 leaves the old epoch (700 charged there, no debt) and is charged to the
    // new one: 500 available; refunded, 1000.
    const a = new Auditor({ capacity: 1_000, policy: 'carry' });
    const first = a.grant(500)!;
    a.record(a.grant(500)!, 700, 0);
    expect([a.available, a.debt]).toEqual([0, 200]);
    a.refill();
    expect([a.available, a.debt, a.epoch]).toEqual([500, 0, 1]);
    expect(a.release(first)).toBe(true);
    expect(a.available).toBe(1_000);
  });

  it('pays debt first out of a refill, and carries what the refill cannot pay', () => {
    const a = new Auditor({ capacity: 100 });
    a.record(a.grant(100)!, 260, 0); // 160 owed
    a.refill();
    expect([a.available, a.debt]).toEqual([0, 60]);
    a.refill();
    expect([a.available, a.debt]).toEqual([40, 0]);
  });

  it('fences older handles under reset: settling them returns nothing, overage is still owed', () => {
    const a = new Auditor({ capacity: 10 });
    const old = a.grant(8)!;
    const kept = a.grant(2)!;
    a.refill();
    expect(a.available).toBe(10);
    expect(a.release(old)).toBe(true);
    expect(a.available).toBe(10);
    a.record(kept, 5, 0); // 3 over its estimate, charged to the new epoch
    expect(a.available).toBe(7);
  });

  it('settles a handle once: a second release or record changes nothing', () => {
    const a = new Auditor({ capacity: 10 });
    const h = a.grant(4)!;
    expect(a.release(h)).toBe(true);
    expect(a.release(h)).toBe(false);
    expect(a.record(h, 9, 0)).toBe(false);
    expect([a.available, a.consumed]).toEqual([10, 0]);
  });

  it('commits part of a permit and returns the rest in one step', () => {
    const a = new Auditor({ capacity: 10 });
    const h = a.grant(8)!;
    a.commit(h, 3);
    expect(a.available).toBe(7);
    a.refill();
    expect(a.available).toBe(10);
    expect(() => a.commit(a.grant(2)!, 3)).toThrow(RangeError);
  });

  it('clamps count-API releases to what the count API holds and counts the excess', () => {
    const a = new Auditor({ capacity: 10 });
    a.reserve(3);
    a.reserve(4);
    a.releaseCount(3);
    a.releaseCount(3);
    a.releaseCount(3); // only 1 held: 2 over-released
    expect([a.available, a.overReleased]).toEqual([10, 2]);
  });

  it('writes off debt beyond maxDebt and counts it', () => {
    const a = new Auditor({ capacity: 10, maxDebt: 5 });
    a.record(a.grant(10)!, 30, 0); // 20 over, 5 kept
    expect([a.debt, a.forgiven]).toEqual([5, 15]);
  });

  it('recomputes the same account from its recorded events', () => {
    const a = new Auditor({ capacity: 50, policy: 'carry', maxDebt: 20 });
    const h = a.grant(30)!;
    a.reserve(10);
    a.record(a.grant(10)!, 40, 5);
    a.refill();
    a.release(h);
    a.releaseCount(10);
    const b = Auditor.replay(a.config, a.events);
    expect([b.available, b.debt, b.consumed, b.epoch, b.forgiven]).toEqual([
      a.available,
      a.debt,
      a.consumed,
      a.epoch,
      a.forgiven,
    ]);
  });

  it('rejects invalid configuration and amounts', () => {
    expect(() => new Auditor({ capacity: -1 })).toThrow(RangeError);
    expect(() => new Auditor({ capacity: 1, maxDebt: 1.5 })).toThrow(RangeError);
    const a = new Auditor({ capacity: 1 });
    expect(() => a.grant(Number.NaN)).toThrow(RangeError);
    expect(() => a.release(7)).toThrow(RangeError);
  });
});
