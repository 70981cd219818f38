// SharedBudget in one thread: the same answers as AtomicBudget for every sequence of calls
// (a differential test over random sequences, through two handles on the same memory), typed
// errors for bad input and misused descriptors, and leases that give back a silent handle's
// holds exactly once.
import {
  AtomicBudget,
  BudgetError,
  type BudgetEvent,
  type RefillPolicy,
  SharedBudget,
  type SyncBudgetPermit,
} from '@budgetry/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { closedAfterEach } from './shared/close-after-each.js';
import { ManualClock } from './shared/manual-clock.js';

const track = closedAfterEach<SharedBudget>();
const shared = (
  capacity: number,
  options: ConstructorParameters<typeof SharedBudget>[1] = {},
): SharedBudget => track(new SharedBudget(capacity, { leakBackstop: false, ...options }));

type Op =
  | { op: 'reserve' | 'acquire' | 'release'; cost: number; via: 0 | 1 }
  | { op: 'releasePermit' | 'commitPermit'; index: number; used: number }
  | { op: 'refill'; times: number; via: 0 | 1 };

const via = fc.constantFrom<0 | 1>(0, 1);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constantFrom('reserve', 'acquire', 'release' as const),
    cost: fc.nat(60),
    via,
  }),
  fc.record({
    op: fc.constantFrom('releasePermit', 'commitPermit' as const),
    index: fc.nat(20),
    used: fc.nat(60),
  }),
  fc.record({ op: fc.constant('refill' as const), times: fc.integer({ min: 1, max: 3 }), via }),
);

function outcome(run: () => unknown): unknown {
  try {
    return { value: run() };
  } catch (error) {
    return { error: BudgetError.isInstance(error) ? error.code : String(error) };
  }
}

describe('SharedBudget answers as AtomicBudget does', () => {
  for (const policy of ['reset', 'carry'] as RefillPolicy[]) {
    for (const strict of [false, true]) {
      it(`for random call sequences (${policy}${strict ? ', strict' : ''})`, () => {
        fc.assert(
          fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
            const events: [BudgetEvent[], BudgetEvent[]] = [[], []];
            const reference = new AtomicBudget(50, {
              refillPolicy: policy,
              strict,
              leakBackstop: false,
              observer: (e) => events[0].push(e),
            });
            const creator = shared(50, { refillPolicy: policy, strict });
            const other = SharedBudget.open(creator.share(), {
              leakBackstop: false,
              observer: (e) => events[1].push(e),
            });
            creator.subscribe((e) => events[1].push(e));
            const handles = [creator, other];
            const permits: [SyncBudgetPermit, SyncBudgetPermit][] = [];
            for (const op of ops) {
              let a: unknown;
              let b: unknown;
              if (op.op === 'reserve') {
                a = outcome(() => reference.tryReserveSync(op.cost));
                b = outcome(() => handles[op.via]!.tryReserveSync(op.cost));
              } else if (op.op === 'release') {
                a = outcome(() => reference.releaseSync(op.cost));
                b = outcome(() => handles[op.via]!.releaseSync(op.cost));
              } else if (op.op === 'acquire') {
                const pa = reference.tryAcquireSync(op.cost);
                const pb = handles[op.via]!.tryAcquireSync(op.cost);
                a = pa === null;
                b = pb === null;
                if (pa !== null && pb !== null) permits.push([pa, pb]);
              } else if (op.op === 'refill') {
                a = outcome(() => reference.refill(op.times));
                b = outcome(() => handles[op.via]!.refill(op.times));
              } else if (op.op === 'releasePermit' || op.op === 'commitPermit') {
                const pair = permits[op.index % Math.max(permits.length, 1)];
                if (pair === undefined) continue;
                const used = op.op === 'commitPermit' ? op.used : undefined;
                const settle = (p: SyncBudgetPermit) =>
                  used === undefined ? p.releaseSync() : p.commitSync(used);
                a = [outcome(() => settle(pair[0])), pair[0].state];
                b = [outcome(() => settle(pair[1])), pair[1].state];
              }
              expect(b).toEqual(a);
              const {
                reclaimed,
                reclaimedHandles,
                handles: n,
                waiting,
                lockTakeovers,
                sliced,
                ...rest
              } = other.snapshot();
              expect(rest).toEqual(reference.snapshot());
              expect([reclaimed, reclaimedHandles, n, waiting, lockTakeovers, sliced]).toEqual([
                0, 0, 2, 0, 0, 0,
              ]);
            }
            expect(events[1]).toEqual(events[0]);
            other.close();
          }),
          { numRuns: 150 },
        );
      });
    }
  }
});

describe('SharedBudget input and misuse', () => {
  it('rejects invalid amounts and options with typed errors and changes nothing', () => {
    const budget = shared(10);
    budget.tryReserveSync(3);
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '2', 2n]) {
      for (const call of [
        () => budget.tryReserveSync(bad as number),
        () => budget.releaseSync(bad as number),
        () => budget.tryAcquireSync(bad as number),
      ]) {
        expect(call).toThrow(expect.objectContaining({ code: 'INVALID_AMOUNT' }));
      }
    }
    expect(budget.snapshot()).toMatchObject({ available: 7, held: 3 });
    for (const options of [
      { maxHandles: 0 },
      { maxHandles: 4097 },
      { maxWaiters: 1.5 },
      { leaseMs: -1 },
      { clock: {} },
      { strict: 'yes' },
      { refillPolicy: 'sometimes' },
    ]) {
      expect(() => new SharedBudget(1, options as never)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
    expect(() => new SharedBudget(-1)).toThrow(expect.objectContaining({ code: 'INVALID_AMOUNT' }));
  });

  it('refuses descriptors that cannot be reopened, saying why', () => {
    const budget = shared(10);
    const descriptor = budget.share();
    const refuse = (d: unknown, pattern: RegExp) =>
      expect(() => SharedBudget.open(d as never)).toThrow(pattern);
    refuse(JSON.parse(JSON.stringify(descriptor)), /not a SharedArrayBuffer/);
    refuse(null, /descriptor/);
    refuse({ ...descriptor, type: 'other' }, /not a shared budget descriptor/);
    refuse({ ...descriptor, version: 99 }, /layout version 99/);
    refuse({ ...descriptor, buffer: new SharedArrayBuffer(512) }, /does not hold/);
    const foreign = new SharedArrayBuffer(descriptor.buffer.byteLength);
    new Uint8Array(foreign).set(new Uint8Array(descriptor.buffer));
    new Int32Array(foreign)[5] = process.pid + 1; // the creator's pid, as another process's buffer
    refuse({ ...descriptor, buffer: foreign }, /another process/);
    budget.close();
    expect(() => SharedBudget.open(descriptor)).toThrow(
      expect.objectContaining({ code: 'CLOSED' }),
    );
  });

  it('closes for every handle when its creator closes, and a handle alone otherwise', () => {
    const budget = shared(10);
    const a = SharedBudget.open(budget.share());
    const b = SharedBudget.open(budget.share());
    expect(a.tryReserveSync(4)).toBe(true);
    const permit = a.tryAcquireSync(2)!;
    a.close();
    expect(budget.snapshot()).toMatchObject({ available: 10, held: 0, handles: 2 });
    expect(() => a.tryReserveSync(1)).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    expect(permit.releaseSync()).toBe(true);
    expect(budget.available()).toBe(10); // a's close already gave the permit's units back
    budget.close();
    expect(() => b.tryReserveSync(1)).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    b.close();
  });

  it('says plainly when every handle is taken', () => {
    const budget = shared(10, { maxHandles: 2 });
    const second = SharedBudget.open(budget.share());
    expect(() => SharedBudget.open(budget.share())).toThrow(/all 2 handles/);
    second.close();
    SharedBudget.open(budget.share()).close();
  });
});

describe('SharedBudget leases', () => {
  it("gives back a silent handle's holds once, and its later calls fail", () => {
    const clock = new ManualClock();
    const budget = shared(100, { leaseMs: 1_000, clock });
    const silent = SharedBudget.open(budget.share(), { clock, leakBackstop: false });
    expect(silent.tryReserveSync(10)).toBe(true);
    const permit = silent.tryAcquireSync(20)!;
    expect(budget.tryReserveSync(5)).toBe(true);
    (silent as unknown as { region: { stopHeartbeat(): void } }).region.stopHeartbeat();
    clock.advance(900);
    expect(budget.reclaimExpired()).toEqual({ handles: 0, units: 0 }); // still within its lease
    clock.advance(200);
    expect(budget.reclaimExpired()).toEqual({ handles: 1, units: 30 });
    expect(budget.reclaimExpired()).toEqual({ handles: 0, units: 0 });
    expect(budget.snapshot()).toMatchObject({
      available: 95,
      held: 5,
      reclaimed: 30,
      reclaimedHandles: 1,
      handles: 1,
    });
    expect(() => silent.tryReserveSync(1)).toThrow(
      expect.objectContaining({ code: 'LEASE_EXPIRED' }),
    );
    expect(permit.commitSync(3)).toBe(true); // settles, refunds nothing: it came back already
    expect(budget.snapshot()).toMatchObject({ available: 95, held: 5 });
  });

  it('does not give back count units another handle already released', () => {
    const clock = new ManualClock();
    const budget = shared(10, { leaseMs: 1_000, clock });
    const victim = SharedBudget.open(budget.share(), { clock });
    const other = SharedBudget.open(budget.share(), { clock });
    expect(victim.tryReserveSync(5)).toBe(true);
    budget.releaseSync(5); // the count API is one pool: this returns the victim's units
    expect(other.tryReserveSync(5)).toBe(true);
    (victim as unknown as { region: { stopHeartbeat(): void } }).region.stopHeartbeat();
    clock.advance(1200); // the other handles keep beating on their timers
    expect(budget.reclaimExpired()).toEqual({ handles: 1, units: 0 });
    expect(budget.snapshot()).toMatchObject({ available: 5, held: 5 });
    other.releaseSync(5);
    expect(budget.snapshot()).toMatchObject({ available: 10, held: 0, overReleased: 0 });
    other.close();
  });

  it('keeps a beating handle alive however long it holds', () => {
    const clock = new ManualClock();
    const budget = shared(10, { leaseMs: 1_000, clock });
    const busy = SharedBudget.open(budget.share(), { clock });
    expect(busy.tryReserveSync(4)).toBe(true);
    for (let i = 0; i < 20; i++) clock.advance(300);
    expect(budget.reclaimExpired()).toEqual({ handles: 0, units: 0 });
    expect(budget.held()).toBe(4);
    busy.close();
  });

  it('under reset, gives back only holds of the live epoch', () => {
    const clock = new ManualClock();
    const budget = shared(10, { leaseMs: 1_000, clock });
    const silent = SharedBudget.open(budget.share(), { clock });
    silent.tryReserveSync(6);
    budget.refill();
    silent.tryAcquireSync(2);
    (silent as unknown as { region: { stopHeartbeat(): void } }).region.stopHeartbeat();
    clock.advance(5000);
    expect(budget.reclaimExpired()).toEqual({ handles: 1, units: 2 });
    expect(budget.snapshot()).toMatchObject({ available: 10, held: 0 });
  });

  it('under reset, gives back nothing a refill already fenced off', () => {
    const clock = new ManualClock();
    const budget = shared(10, { leaseMs: 1_000, clock });
    const silent = SharedBudget.open(budget.share(), { clock });
    silent.tryAcquireSync(6);
    silent.tryReserveSync(3);
    budget.refill(); // the silent handle makes no call after it
    (silent as unknown as { region: { stopHeartbeat(): void } }).region.stopHeartbeat();
    clock.advance(5000);
    expect(budget.reclaimExpired()).toEqual({ handles: 1, units: 0 });
    expect(budget.snapshot()).toMatchObject({ available: 10, held: 0, reclaimedHandles: 1 });
  });
});
