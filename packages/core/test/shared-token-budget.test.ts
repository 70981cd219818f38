// SharedTokenBudget in one thread: the same answers, events and counters as AtomicTokenBudget for
// random call sequences (through two handles on the same memory), typed errors for bad input and
// misused descriptors, and leases that give back a silent handle's estimates exactly once; then
// two worker threads on one budget, whose logs add up to its final state.
import {
  AtomicTokenBudget,
  BudgetError,
  type BudgetEvent,
  type RefillPolicy,
  SharedBudget,
  SharedTokenBudget,
  type SharedTokenBudgetOptions,
  type TokenReservation,
} from '@budgetry/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { closedAfterEach } from './shared/close-after-each.js';
import { ManualClock } from './shared/manual-clock.js';
import { exited, firstMessage, startWorker } from './shared/spawn.js';
import type { TokenWorkerInput, TokenWorkerReport } from './shared/token-worker.js';

const track = closedAfterEach<SharedTokenBudget>();
const shared = (capacity: number, options: SharedTokenBudgetOptions = {}): SharedTokenBudget =>
  track(new SharedTokenBudget(capacity, { leakBackstop: false, ...options }));

type Op =
  | { op: 'reserve' | 'count' | 'release'; amount: number; via: 0 | 1 }
  | { op: 'record'; index: number; prompt: number; completion: number }
  | { op: 'dispose' | 'disarm' | 'refundDisarmed'; index: number }
  | { op: 'refill'; times: number; via: 0 | 1 };

const CAPACITY = 40;
const via = fc.constantFrom<0 | 1>(0, 1);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({
      op: fc.constantFrom('reserve', 'count', 'release' as const),
      amount: fc.nat(CAPACITY + 5),
      via,
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({
      op: fc.constant('record' as const),
      index: fc.nat(30),
      prompt: fc.nat(30),
      completion: fc.nat(30),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      op: fc.constantFrom('dispose', 'disarm', 'refundDisarmed' as const),
      index: fc.nat(30),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      op: fc.constant('refill' as const),
      times: fc.integer({ min: 1, max: 4 }),
      via,
    }),
    weight: 1,
  },
);

function outcome(run: () => unknown): unknown {
  try {
    const value = run();
    return { value: value === null || typeof value !== 'object' ? value : 'handle' };
  } catch (error) {
    return { error: BudgetError.isInstance(error) ? error.code : String(error) };
  }
}

type Pair<T> = [T, T];

describe('SharedTokenBudget answers as AtomicTokenBudget does', () => {
  for (const policy of ['reset', 'carry'] as RefillPolicy[]) {
    for (const strict of [false, true]) {
      it(`for random call sequences (${policy}${strict ? ', strict' : ''})`, () => {
        fc.assert(
          fc.property(
            fc.constantFrom(undefined, Number.POSITIVE_INFINITY, 0, 7, 25),
            fc.array(opArb, { maxLength: 60, size: 'max' }),
            (maxDebt, ops) => {
              const events: Pair<BudgetEvent[]> = [[], []];
              const options = {
                refillPolicy: policy,
                strict,
                name: 'tokens',
                ...(maxDebt === undefined ? {} : { maxDebt }),
              };
              const reference = new AtomicTokenBudget(CAPACITY, {
                ...options,
                leakBackstop: false,
                observer: (e) => events[0].push(e),
              });
              const creator = shared(CAPACITY, options);
              const other = SharedTokenBudget.open(creator.share(), {
                leakBackstop: false,
                observer: (e) => events[1].push(e),
              });
              creator.subscribe((e) => events[1].push(e));
              expect(other.maxDebt).toBe(reference.maxDebt);
              expect(other.capabilities).toEqual(reference.capabilities);
              const handles = [creator, other];
              const reservations: Pair<TokenReservation>[] = [];
              const refunds: Pair<() => unknown>[] = [];
              for (const op of ops) {
                let a: unknown;
                let b: unknown;
                if (op.op === 'reserve') {
                  const ra = reference.tryReserveTokensSync(op.amount);
                  const rb = handles[op.via]!.tryReserveTokensSync(op.amount);
                  a = ra === null;
                  b = rb === null;
                  if (ra !== null && rb !== null) reservations.push([ra, rb]);
                } else if (op.op === 'count') {
                  a = outcome(() => reference.tryReserveSync(op.amount));
                  b = outcome(() => handles[op.via]!.tryReserveSync(op.amount));
                } else if (op.op === 'release') {
                  a = outcome(() => reference.releaseSync(op.amount));
                  b = outcome(() => handles[op.via]!.releaseSync(op.amount));
                } else if (op.op === 'refill') {
                  a = outcome(() => reference.refill(op.times));
                  b = outcome(() => handles[op.via]!.refill(op.times));
                } else if (op.op === 'refundDisarmed') {
                  const pair = refunds[op.index % Math.max(refunds.length, 1)];
                  if (pair === undefined) continue;
                  a = outcome(pair[0]);
                  b = outcome(pair[1]);
                } else {
                  const { index } = op as { index: number };
                  const pair = reservations[index % Math.max(reservations.length, 1)];
                  if (pair === undefined) continue;
                  const [ra, rb] = pair;
                  const issuer = handles.find((h) => rb.isIssuedBy(h))!;
                  if (op.op === 'record') {
                    const { prompt, completion } = op;
                    a = outcome(() => reference.recordUsageSync(ra, prompt, completion));
                    b = outcome(() => issuer.recordUsageSync(rb, prompt, completion));
                  } else if (op.op === 'dispose') {
                    a = outcome(() => ra[Symbol.dispose]());
                    b = outcome(() => rb[Symbol.dispose]());
                  } else {
                    const fa = ra.disarm();
                    const fb = rb.disarm();
                    a = fa === null;
                    b = fb === null;
                    if (fa !== null && fb !== null) refunds.push([fa, fb]);
                  }
                  expect(rb.state).toBe(ra.state);
                }
                expect(b).toEqual(a);
                const {
                  reclaimed,
                  reclaimedHandles,
                  handles: n,
                  waiting,
                  ...rest
                } = handles[ops.length % 2]!.snapshot();
                expect(rest).toEqual(reference.snapshot());
                expect([reclaimed, reclaimedHandles, n, waiting]).toEqual([0, 0, 2, 0]);
              }
              for (const handle of handles) {
                expect([
                  handle.available(),
                  handle.debt(),
                  handle.reserved(),
                  handle.tokensConsumedSync(),
                  handle.forgivenDebt(),
                  handle.overReleased(),
                  handle.leaks(),
                  handle.epoch,
                  handle.utilization(),
                ]).toEqual([
                  reference.available(),
                  reference.debt(),
                  reference.reserved(),
                  reference.tokensConsumedSync(),
                  reference.forgivenDebt(),
                  reference.overReleased(),
                  reference.leaks(),
                  reference.epoch,
                  reference.utilization(),
                ]);
              }
              expect(events[1]).toEqual(events[0]);
              other.close();
            },
          ),
          { numRuns: 120 },
        );
      });
    }
  }

  it('keeps debt exact near 2^53 and carries an unlimited debt cap through open()', () => {
    const big = Number.MAX_SAFE_INTEGER - 10;
    const reference = new AtomicTokenBudget(big, { leakBackstop: false });
    const budget = shared(big);
    const other = SharedTokenBudget.open(budget.share());
    expect(other.maxDebt).toBe(Number.POSITIVE_INFINITY);
    for (const b of [reference, other]) {
      const r = b.tryReserveTokensSync(big)!;
      b.recordUsageSync(r, big, 5);
      b.refill(3);
    }
    expect(other.snapshot()).toMatchObject(reference.snapshot());
    expect(other.debt()).toBe(0);
    other.close();
  });
});

describe('SharedTokenBudget input and misuse', () => {
  it('rejects invalid amounts, reservations and options with typed errors, changing nothing', () => {
    const budget = shared(10);
    const reservation = budget.tryReserveTokensSync(4)!;
    budget.tryReserveSync(1);
    const before = budget.snapshot();
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '2', 2n, null]) {
      for (const call of [
        () => budget.tryReserveTokensSync(bad as number),
        () => budget.tryReserveSync(bad as number),
        () => budget.releaseSync(bad as number),
        () => budget.recordUsageSync(reservation, bad as number, 1),
        () => budget.recordUsageSync(reservation, 1, bad as number),
      ]) {
        expect(call).toThrow(expect.objectContaining({ code: 'INVALID_AMOUNT' }));
      }
    }
    const max = Number.MAX_SAFE_INTEGER;
    expect(() => budget.recordUsageSync(reservation, max, 1)).toThrow(/prompt \+ completion/);
    expect(() => budget.refill(0)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => budget.recordUsageSync({} as never, 1, 1)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    const foreign = new AtomicTokenBudget(10).tryReserveTokensSync(1)!;
    expect(() => budget.recordUsageSync(foreign, 1, 1)).toThrow(
      expect.objectContaining({ code: 'FOREIGN_HANDLE' }),
    );
    const other = SharedTokenBudget.open(budget.share());
    expect(() => other.recordUsageSync(reservation, 1, 1)).toThrow(
      expect.objectContaining({ code: 'FOREIGN_HANDLE' }),
    );
    expect(budget.snapshot()).toEqual({ ...before, handles: 2 });
    expect(reservation.state).toBe('armed');
    budget.recordUsageSync(reservation, 1, 1);
    expect(() => budget.recordUsageSync(reservation, 1, 1)).toThrow(
      expect.objectContaining({ code: 'ALREADY_SETTLED' }),
    );
    expect(budget.snapshot()).toMatchObject({ available: 7, reserved: 1, consumed: 2 });
    other.close();
    for (const options of [
      { maxDebt: -1 },
      { maxDebt: 1.5 },
      { maxDebt: '3' },
      { maxDebt: Number.NaN },
      { maxHandles: 0 },
      { leaseMs: -1 },
      { clock: {} },
      { strict: 'yes' },
      { refillPolicy: 'sometimes' },
      { observer: 3 },
    ]) {
      expect(() => new SharedTokenBudget(1, options as never)).toThrow(BudgetError);
    }
    expect(() => new SharedTokenBudget(-1)).toThrow(
      expect.objectContaining({ code: 'INVALID_AMOUNT' }),
    );
    expect(() => SharedTokenBudget.open(budget.share(), { clock: {} } as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });

  it('refuses descriptors that cannot be reopened, saying why', () => {
    const budget = shared(10);
    const descriptor = budget.share();
    expect(descriptor.kind).toBe('tokens');
    const refuse = (d: unknown, pattern: RegExp) => {
      expect(() => SharedTokenBudget.open(d as never)).toThrow(pattern);
      expect(() => SharedTokenBudget.open(d as never)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    };
    refuse(JSON.parse(JSON.stringify(descriptor)), /not a SharedArrayBuffer/);
    refuse(undefined, /descriptor/);
    refuse({ ...descriptor, version: 1 }, /layout version 1/);
    const guard = new SharedBudget(10);
    refuse(guard.share(), /SharedBudget\.open/);
    expect(() => SharedBudget.open(descriptor)).toThrow(/SharedTokenBudget\.open/);
    guard.close();
    // structuredClone is what postMessage does: the buffer is shared, not copied.
    const copy = SharedTokenBudget.open(structuredClone(descriptor));
    expect(copy.tryReserveSync(3)).toBe(true);
    expect(budget.available()).toBe(7);
    copy.close();
    expect(budget.available()).toBe(10); // closing a handle gives its holds back
  });

  it('closes for every handle when its creator closes', () => {
    const budget = shared(10);
    const other = SharedTokenBudget.open(budget.share());
    const mine = other.tryReserveTokensSync(4)!;
    const kept = other.tryReserveTokensSync(2)!;
    budget.close();
    const closed = expect.objectContaining({ code: 'CLOSED' });
    expect(() => SharedTokenBudget.open(budget.share())).toThrow(closed);
    expect(() => other.tryReserveTokensSync(1)).toThrow(closed);
    expect(() => other.tryReserveSync(1)).toThrow(closed);
    expect(() => other.releaseSync(1)).toThrow(closed);
    expect(() => other.refill()).toThrow(closed);
    expect(() => other.recordUsageSync(mine, 1, 1)).toThrow(closed);
    expect(mine.state).toBe('armed');
    const before = other.snapshot();
    mine[Symbol.dispose](); // disposing never throws; nothing is refunded any more
    expect(mine.state).toBe('refunded');
    expect(other.snapshot()).toEqual(before);
    kept.disarm()!();
    expect(other.snapshot()).toEqual(before);
    other.close();
    budget.close();
  });

  it("a handle's own close gives back its estimates; its later calls fail with CLOSED", () => {
    const budget = shared(10);
    const other = SharedTokenBudget.open(budget.share());
    const r = other.tryReserveTokensSync(6)!;
    expect(other.tryReserveSync(2)).toBe(true);
    other.close();
    other.close();
    expect(budget.snapshot()).toMatchObject({ available: 10, reserved: 0, handles: 1 });
    expect(() => other.tryReserveTokensSync(1)).toThrow(
      expect.objectContaining({ code: 'CLOSED' }),
    );
    // Its estimate came back with the lane: recording charges the whole usage, once.
    other.recordUsageSync(r, 3, 1);
    expect(budget.snapshot()).toMatchObject({ available: 6, reserved: 0, consumed: 4 });
  });
});

describe('SharedTokenBudget leases', () => {
  it("gives back a silent handle's estimates once; its old reservation is charged in full", () => {
    const clock = new ManualClock();
    const budget = shared(100, { leaseMs: 1_000, clock, refillPolicy: 'carry' });
    const silent = SharedTokenBudget.open(budget.share(), { clock, leakBackstop: false });
    const recorded = silent.tryReserveTokensSync(30)!;
    const disposed = silent.tryReserveTokensSync(10)!;
    expect(silent.tryReserveSync(5)).toBe(true);
    const mine = budget.tryReserveTokensSync(20)!;
    (silent as unknown as { region: { stopHeartbeat(): void } }).region.stopHeartbeat();
    for (let t = 0; t < 4; t++) clock.advance(200); // 80 ms: within the lease
    expect(budget.reclaimExpired()).toEqual({ handles: 0, units: 0 });
    for (let t = 0; t < 3; t++) clock.advance(200);
    expect(budget.reclaimExpired()).toEqual({ handles: 1, units: 45 });
    expect(budget.reclaimExpired()).toEqual({ handles: 0, units: 0 });
    expect(budget.snapshot()).toMatchObject({
      available: 80,
      reserved: 20,
      reclaimed: 45,
      reclaimedHandles: 1,
      handles: 1,
    });
    const expired = expect.objectContaining({ code: 'LEASE_EXPIRED' });
    expect(() => silent.tryReserveTokensSync(1)).toThrow(expired);
    expect(() => silent.tryReserveSync(1)).toThrow(expired);
    expect(() => silent.releaseSync(5)).toThrow(expired);
    expect(() => silent.refill()).toThrow(expired);
    disposed[Symbol.dispose](); // came back already: refunds nothing
    expect(budget.snapshot()).toMatchObject({ available: 80, reserved: 20 });
    silent.recordUsageSync(recorded, 20, 5); // below its estimate, still charged in full
    expect(budget.snapshot()).toMatchObject({ available: 55, reserved: 20, consumed: 25 });
    expect(() => silent.recordUsageSync(recorded, 20, 5)).toThrow(
      expect.objectContaining({ code: 'ALREADY_SETTLED' }),
    );
    budget.recordUsageSync(mine, 60, 0);
    expect(budget.snapshot()).toMatchObject({ available: 15, debt: 0, reserved: 0, consumed: 85 });
    expect(budget.reclaimExpired()).toEqual({ handles: 0, units: 0 });
  });

  it('under reset, a reclaimed reservation of a fenced epoch is charged only its overage', () => {
    const clock = new ManualClock();
    const budget = shared(50, { leaseMs: 1_000, clock });
    const silent = SharedTokenBudget.open(budget.share(), { clock, leakBackstop: false });
    const old = silent.tryReserveTokensSync(10)!;
    budget.refill(); // fences `old`; the silent handle makes no call after it
    (silent as unknown as { region: { stopHeartbeat(): void } }).region.stopHeartbeat();
    clock.advance(5000);
    expect(budget.reclaimExpired()).toEqual({ handles: 1, units: 0 });
    silent.recordUsageSync(old, 12, 3);
    expect(budget.snapshot()).toMatchObject({ available: 45, reserved: 0, consumed: 15 });
  });

  it('under reset, gives back only the estimates of the live epoch', () => {
    const clock = new ManualClock();
    const budget = shared(50, { leaseMs: 1_000, clock });
    const silent = SharedTokenBudget.open(budget.share(), { clock, leakBackstop: false });
    const old = silent.tryReserveTokensSync(10)!;
    silent.tryReserveSync(4);
    budget.refill();
    expect(budget.tryReserveSync(10)).toBe(true); // the count pool holds more than the lane
    expect(silent.tryReserveSync(3)).toBe(true);
    const live = silent.tryReserveTokensSync(5)!;
    (silent as unknown as { region: { stopHeartbeat(): void } }).region.stopHeartbeat();
    clock.advance(5000);
    expect(budget.reclaimExpired()).toEqual({ handles: 1, units: 8 });
    expect(budget.snapshot()).toMatchObject({ available: 40, reserved: 10 });
    silent.recordUsageSync(live, 2, 0); // its estimate came back: charged in full
    silent.recordUsageSync(old, 10, 0); // fenced, within its estimate: nothing more
    expect(budget.snapshot()).toMatchObject({ available: 38, reserved: 10, consumed: 12 });
  });

  it('a reclaimed reservation charged beyond the debt cap is written off like any other', () => {
    const clock = new ManualClock();
    const budget = shared(10, { leaseMs: 1_000, clock, maxDebt: 4 });
    const silent = SharedTokenBudget.open(budget.share(), { clock, leakBackstop: false });
    const r = silent.tryReserveTokensSync(10)!;
    (silent as unknown as { region: { stopHeartbeat(): void } }).region.stopHeartbeat();
    clock.advance(5000);
    expect(budget.reclaimExpired()).toEqual({ handles: 1, units: 10 });
    silent.recordUsageSync(r, 20, 0);
    expect(budget.snapshot()).toMatchObject({ available: 0, debt: 4, forgivenDebt: 6 });
  });
});

const gc = (globalThis as { gc?: () => void }).gc;

// Allocating in a separate function keeps no reference to the reservation in this frame.
function leakReservation(budget: SharedTokenBudget, estimate: number): void {
  budget.tryReserveTokensSync(estimate);
}

describe('SharedTokenBudget backstop and schedule', () => {
  it.skipIf(gc === undefined)(
    'refunds and counts a reservation collected while armed, in every handle',
    async () => {
      const events: BudgetEvent[] = [];
      const budget = shared(100);
      const other = SharedTokenBudget.open(budget.share(), { observer: (e) => events.push(e) });
      leakReservation(other, 40);
      expect(budget.available()).toBe(60);
      for (let attempt = 0; attempt < 50 && budget.leaks() === 0; attempt++) {
        gc!();
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      expect(budget.snapshot()).toMatchObject({ available: 100, reserved: 0, leaks: 1 });
      expect(events.filter((e) => e.type === 'leak')).toEqual([
        { type: 'leak', budget: undefined, amount: 40, refunded: 40 },
      ]);
      other.close();
    },
  );

  it.skipIf(gc === undefined)(
    'reports what the refund returned, though a listener of the refund refilled in between',
    async () => {
      const events: BudgetEvent[] = [];
      const budget = shared(100);
      const other: SharedTokenBudget = SharedTokenBudget.open(budget.share(), {
        observer: (e) => {
          events.push(e);
          if (e.type === 'release') other.refill(); // a new epoch: the leaked one is fenced
        },
      });
      leakReservation(other, 40);
      for (let attempt = 0; attempt < 50 && budget.leaks() === 0; attempt++) {
        gc!();
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      expect(events.filter((e) => e.type === 'leak')).toEqual([
        { type: 'leak', budget: undefined, amount: 40, refunded: 40 },
      ]);
      expect(budget.snapshot()).toMatchObject({ available: 100, reserved: 0, leaks: 1 });
      other.close();
    },
  );

  it('catches a schedule up before each call, after checking its arguments', () => {
    const budget = shared(10);
    let due = 0;
    const stop = budget.followSchedule(() => {
      if (due > 0) budget.refill(due);
      due = 0;
    });
    const r = budget.tryReserveTokensSync(10)!;
    budget.recordUsageSync(r, 25, 0); // 15 in debt
    due = 1;
    expect(() => budget.tryReserveTokensSync(-1)).toThrow(BudgetError);
    expect(due).toBe(1); // a rejected call is never the one that applies a due refill
    expect(budget.epoch).toBe(1);
    expect(budget.snapshot()).toMatchObject({ available: 0, debt: 5, epoch: 1 });
    due = 2;
    expect(budget.debt()).toBe(0);
    expect(budget.available()).toBe(10);
    expect(() => budget.followSchedule(() => {})).toThrow(BudgetError);
    stop();
    due = 1;
    expect(budget.epoch).toBe(3);
  });
});

describe('SharedTokenBudget across worker threads', () => {
  it('two workers reserve and record on one budget; its final state is what their logs add up to', async () => {
    const capacity = 200_000;
    const budget = shared(capacity);
    const gate = new SharedArrayBuffer(4);
    const workers = [1, 2].map((seed) =>
      startWorker('./token-worker.ts', {
        descriptor: budget.share(),
        seed: seed * 7_919,
        ops: 20_000,
        gate,
        workers: 2,
      } satisfies TokenWorkerInput),
    );
    for (const worker of workers) budget.releaseOnExit(worker);
    const reports = await Promise.all(workers.map((w) => firstMessage<TokenWorkerReport>(w)));
    await Promise.all(workers.map(exited));
    const consumed = reports.reduce((sum, r) => sum + r.consumed, 0);
    expect(reports.every((r) => r.granted > 100 && r.recorded > 100)).toBe(true);
    const net = capacity - consumed;
    expect(budget.snapshot()).toMatchObject({
      available: Math.max(net, 0),
      debt: Math.max(-net, 0),
      consumed,
      reserved: 0,
      overReleased: 0,
      reclaimed: 0,
      handles: 1,
    });
    expect(net).toBeLessThan(0); // the run went into debt and back through refunds
  }, 60_000);
});
