// Hostile review of watchFreed (shared budgets): told, in its thread, whenever units may have
// come free through any handle — including a reclaim — and a watcher count in the shared
// memory that must come back to zero.
//
// Regression 1 (a defect the review found; fixed) — a watching handle whose own lane is reclaimed (its lease expired: its thread's
// event loop was blocked for longer than `leaseMs`, then another handle called
// reclaimExpired()) is never told, though the reclaim gave units back, and it never hears
// anything again. Expected: its listeners are called at the reclaim (core's own `acquire` wakes
// its waiters there and rejects them with LEASE_EXPIRED), as for any freed units. Observed:
// not called, not at the reclaim and not at later releases; W_WATCHERS stays 0. Cause
// (region.ts `reclaimLane` + memory.ts `wake`): reclaimLane subtracts the lane's L_WATCHING from
// W_WATCHERS in its tail, and reclaimWhere's wake() then reads W_WATCHERS === 0 and skips
// bumpFreed(); the handle's FreedWatch keeps `counted = true`, so it is never counted again.
//
// Regression 2 (a defect the review found; fixed) — watchFreed on a closed handle is accepted: the listener is never called (the
// handle counts nowhere), yet FreedWatch.add() calls holdOpen(), which keeps the thread's event
// loop alive until the forgotten stop() is called. Expected, as for every other call on a
// closed handle: BudgetError CLOSED, nothing changed.
import { SharedBudget, SharedHierarchy, SharedTokenBudget } from '@budgetry/core';
import { describe, expect, it, vi } from 'vitest';
import { W_WATCHERS } from '../src/shared/layout.js';
import { closedAfterEach } from './shared/close-after-each.js';
import { ManualClock } from './shared/manual-clock.js';

const closeLater = closedAfterEach<{ close(): void }>();
const track = <B extends { close(): void }>(budget: B): B => {
  closeLater(budget);
  return budget;
};

function watchers(budget: { share(): { buffer: SharedArrayBuffer } }): number {
  return Atomics.load(new Int32Array(budget.share().buffer), W_WATCHERS);
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 1));
}

/** Stops `handle`'s heartbeat, as a thread whose event loop is blocked would. */
function silence(handle: object): void {
  (handle as unknown as { region: { stopHeartbeat(): void } }).region.stopHeartbeat();
}

describe('fixed: watchFreed on a handle whose lane is reclaimed', () => {
  it('twin in core: acquire() on such a handle is woken and rejected with LEASE_EXPIRED', async () => {
    const clock = new ManualClock();
    const budget = track(new SharedBudget(2, { clock, leaseMs: 1_000 }));
    const stalled = track(SharedBudget.open(budget.share(), { clock }));
    expect(stalled.tryReserveSync(2)).toBe(true);
    const outcome = stalled.acquire(1).then(
      () => 'served',
      (e: { code?: string }) => e.code,
    );
    silence(stalled);
    clock.advance(3_000);
    expect(budget.reclaimExpired()).toEqual({ handles: 1, units: 2 });
    expect(await outcome).toBe('LEASE_EXPIRED');
  });

  it('the sole watcher hears the reclaim that gave its units back (and later releases)', async () => {
    const clock = new ManualClock();
    const budget = track(new SharedBudget(2, { clock, leaseMs: 1_000 }));
    const stalled = track(SharedBudget.open(budget.share(), { clock }));
    const heard = vi.fn();
    stalled.watchFreed(heard);
    expect(stalled.tryReserveSync(2)).toBe(true);
    silence(stalled);
    clock.advance(3_000);
    expect(budget.reclaimExpired()).toEqual({ handles: 1, units: 2 });
    await settle();
    const atReclaim = heard.mock.calls.length;
    expect(budget.tryReserveSync(1)).toBe(true);
    budget.releaseSync(1);
    await settle();
    // Observed: 0 calls at the reclaim, 0 after the release — deaf for good, W_WATCHERS 0.
    expect(watchers(budget)).toBe(0);
    expect(atReclaim).toBeGreaterThan(0);
  });

  it('a SharedTokenBudget watcher likewise', async () => {
    const clock = new ManualClock();
    const tokens = track(new SharedTokenBudget(10, { clock, leaseMs: 1_000 }));
    const stalled = track(SharedTokenBudget.open(tokens.share(), { clock }));
    const heard = vi.fn();
    stalled.watchFreed(heard);
    expect(stalled.tryReserveTokensSync(10)).not.toBeNull();
    silence(stalled);
    clock.advance(3_000);
    expect(tokens.reclaimExpired().handles).toBe(1);
    await settle();
    expect(heard).toHaveBeenCalled(); // observed: never called
  });
});

describe('fixed: watchFreed on a closed handle', () => {
  it('is refused with CLOSED instead of holding the thread open for a listener never called', () => {
    const budget = track(new SharedBudget(10));
    const other = SharedBudget.open(budget.share());
    other.close();
    expect(() => other.tryReserveSync(1)).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    let stop: (() => void) | undefined;
    let refused: unknown;
    try {
      stop = other.watchFreed(() => {});
    } catch (error) {
      refused = error;
    }
    stop?.(); // (let go of the event loop it holds)
    expect(refused).toEqual(expect.objectContaining({ code: 'CLOSED' }));
  });
});

describe('watchFreed: regressions worth keeping', () => {
  it('a reclaimed watching lane gives its count back while another handle watches, and that one hears the reclaim', async () => {
    const clock = new ManualClock();
    const budget = track(new SharedBudget(2, { clock, leaseMs: 1_000 }));
    const stalled = track(SharedBudget.open(budget.share(), { clock }));
    const heardHere = vi.fn();
    const heardThere = vi.fn();
    budget.watchFreed(heardHere);
    const stopThere = stalled.watchFreed(heardThere);
    expect(watchers(budget)).toBe(2);
    expect(stalled.tryReserveSync(2)).toBe(true);
    silence(stalled);
    clock.advance(3_000);
    expect(budget.reclaimExpired().units).toBe(2);
    expect(watchers(budget)).toBe(1);
    await settle();
    expect(heardHere).toHaveBeenCalledTimes(1);
    // The reclaimed handle's own stop() must not take a second count away.
    stopThere();
    expect(watchers(budget)).toBe(1);
  });

  it('thousands of subscribe / unsubscribe cycles over several handles leave the count at 0', async () => {
    const budget = track(new SharedBudget(100));
    const handles = [
      budget,
      ...Array.from({ length: 5 }, () => track(SharedBudget.open(budget.share()))),
    ];
    let heard = 0;
    for (let i = 0; i < 3_000; i++) {
      const h = handles[i % handles.length]!;
      const a = h.watchFreed(() => heard++);
      const b = i % 3 === 0 ? h.watchFreed(() => heard++) : undefined;
      const other = handles[(i + 1) % handles.length]!;
      if (other.tryReserveSync(1)) other.releaseSync(1);
      if (i % 97 === 0) await settle();
      a();
      if (i % 2 === 0) b?.();
      b?.();
      a();
    }
    expect(watchers(budget)).toBe(0);
    await settle();
    expect(heard).toBeGreaterThan(0);
    expect(budget.available()).toBe(100);
  });

  it('a hierarchy handle counts once, whichever nodes it watches through, and closing gives it back', async () => {
    const tree = new SharedHierarchy({ capacity: 100, children: { capacity: 10 } });
    const other = SharedHierarchy.open(tree.share());
    const stops = ['a', 'b', 'c'].map((k) => other.child(k).watchFreed(() => {}));
    expect(watchers(tree)).toBe(1);
    stops[0]!();
    expect(watchers(tree)).toBe(1);
    const heard = vi.fn();
    other.child('d').watchFreed(heard);
    other.close();
    expect(watchers(tree)).toBe(0);
    await settle();
    expect(heard).toHaveBeenCalledTimes(1); // told once more on close
    tree.close();
  });
});
