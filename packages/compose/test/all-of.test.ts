import {
  AtomicBudget,
  AtomicTokenBudget,
  BudgetError,
  type BudgetPermit,
  type PermitBudgetGuard,
  type SyncBudgetGuard,
  type SyncBudgetPermit,
} from '@budgetry/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allOf } from '../src/all-of/all-of.js';
import { AllOf } from '../src/all-of/async-all-of.js';
import { SyncAllOf } from '../src/all-of/sync-all-of.js';
import type { SyncAllOfPermit } from '../src/all-of/sync-permit.js';
import { HintedBudget } from './helpers/hinted.js';
import { remoteGuard } from './helpers/remote-guard.js';

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (error) {
    return BudgetError.isInstance(error) ? error.code : 'not a BudgetError';
  }
  return undefined;
};

/** A guard that throws on chosen calls, to check rollback after a member's exception. */
class FlakyGuard implements SyncBudgetGuard {
  calls = 0;
  constructor(
    readonly inner: AtomicBudget,
    private readonly failOn: Set<number>,
  ) {}
  get capacity(): number {
    return this.inner.capacity;
  }
  available(): number {
    return this.inner.available();
  }
  private maybeFail(): void {
    if (this.failOn.has(this.calls++)) throw new Error('member exploded');
  }
  tryReserveSync(cost: number): boolean {
    this.maybeFail();
    return this.inner.tryReserveSync(cost);
  }
  releaseSync(cost: number): void {
    this.inner.releaseSync(cost);
  }
  tryAcquireSync(cost: number): SyncBudgetPermit | null {
    this.maybeFail();
    return this.inner.tryAcquireSync(cost);
  }
  async tryReserve(cost: number): Promise<boolean> {
    return this.tryReserveSync(cost);
  }
  async release(cost: number): Promise<void> {
    this.releaseSync(cost);
  }
  async tryAcquire(cost: number): Promise<SyncBudgetPermit | null> {
    return this.tryAcquireSync(cost);
  }
}

describe('allOf: behaviour', () => {
  it('charges every member on success and each member exactly once on release', () => {
    const a = new AtomicBudget(10);
    const b = new AtomicBudget(20);
    const both = allOf([a, b]);
    expect(both).toBeInstanceOf(SyncAllOf);
    const permit = both.tryAcquireSync(7)!;
    expect([a.available(), b.available()]).toEqual([3, 13]);
    expect(permit.releaseSync()).toBe(true);
    expect(permit.releaseSync()).toBe(false);
    expect(permit.commitSync()).toBe(false);
    expect([a.available(), b.available()]).toEqual([10, 20]);
  });

  it('rolls back every member and names the one that denied', () => {
    const rows = new AtomicBudget(10);
    const tokens = new AtomicBudget(5);
    const both = allOf({ rows, tokens });
    const decision = both.tryAcquireDetailedSync(6);
    // 6 is above the tokens' capacity: no wait can admit it, and the denial says so.
    expect(decision).toEqual({ ok: false, deniedBy: 'tokens', exceedsCapacity: true });
    expect([rows.available(), tokens.available()]).toEqual([10, 5]);
    expect(both.tryReserveSync(6)).toBe(false);
    expect([rows.available(), tokens.available()]).toEqual([10, 5]);
  });

  it('puts the denying member’s retry hint in the denial', () => {
    const rows = new AtomicBudget(10);
    const hinted = new HintedBudget(3, 250);
    hinted.tryReserveSync(2);
    const decision = allOf({ rows, hinted }).tryAcquireDetailedSync(2);
    expect(decision).toEqual({ ok: false, deniedBy: 'hinted', retryAfterMs: 250 });
    // A cost above the capacity gets no hint: it can never be admitted.
    expect(allOf({ rows, hinted }).tryAcquireDetailedSync(4)).toEqual({
      ok: false,
      deniedBy: 'hinted',
      exceedsCapacity: true,
    });
  });

  it('takes a retry hint only from a member that declares one, never by probing for the method', () => {
    const undeclared = Object.assign(new AtomicBudget(3), { retryAfterMs: () => 250 });
    undeclared.tryReserveSync(2);
    const decision = allOf({ rows: new AtomicBudget(10), undeclared }).tryAcquireDetailedSync(2);
    expect(decision).toEqual({ ok: false, deniedBy: 'undeclared' });
  });

  it('rolls back and rethrows as a BudgetError with the cause when a member throws', () => {
    const a = new AtomicBudget(10);
    const flaky = new FlakyGuard(new AtomicBudget(10), new Set([0, 1]));
    const both = allOf([a, flaky]);
    let caught: unknown;
    try {
      both.tryAcquireSync(3);
    } catch (error) {
      caught = error;
    }
    expect(BudgetError.isInstance(caught) && caught.code).toBe('BACKEND');
    expect((caught as BudgetError).details).toEqual({ member: 1 });
    expect(((caught as Error).cause as Error).message).toBe('member exploded');
    expect(a.available()).toBe(10);
    expect(codeOf(() => both.tryReserveSync(3))).toBe('BACKEND');
    expect(a.available()).toBe(10);
    expect(both.tryReserveSync(3)).toBe(true);
    expect([a.available(), flaky.available()]).toEqual([7, 7]);
  });

  it('makes row guard + token budget one reservation, with a fixed charge for rows', () => {
    const rows = new AtomicBudget(100);
    const tokens = new AtomicTokenBudget(10_000);
    const both = allOf({ rows, tokens }, { charge: { rows: 1 } });
    const permit = both.tryAcquireSync(1_200)!;
    expect([rows.available(), tokens.available()]).toEqual([99, 8_800]);
    const part = permit.part('tokens') as unknown as {
      reservation: Parameters<typeof tokens.recordUsageSync>[0];
    };
    tokens.recordUsageSync(part.reservation, 1_000, 500); // 300 over the estimate: owed
    expect(tokens.available()).toBe(8_500);
    permit.releaseSync(); // the row comes back; the recorded tokens stay spent
    expect([rows.available(), tokens.available()]).toEqual([100, 8_500]);
    expect(both.available()).toBe(8_500);
    expect(both.capacity).toBe(10_000);
  });

  it('fences each member: a permit released after a reset refill returns nothing', () => {
    const a = new AtomicBudget(10, { refillPolicy: 'reset' });
    const b = new AtomicBudget(10, { refillPolicy: 'carry' });
    const permit = allOf([a, b]).tryAcquireSync(8)!;
    a.refill();
    b.refill();
    permit.releaseSync();
    expect([a.available(), b.available()]).toEqual([10, 10]);
    expect(a.held()).toBe(0);
  });

  it('counts an over-release on the count API instead of refunding', () => {
    const a = new AtomicBudget(10);
    const b = new AtomicBudget(10);
    const both = allOf([a, b]);
    a.tryReserveSync(5); // someone else's count reservation on a
    both.tryReserveSync(3);
    both.releaseSync(3);
    both.releaseSync(3);
    expect(both.overReleased()).toBe(3);
    expect([a.available(), b.available()]).toEqual([5, 10]);
  });

  it('grants cost 0 without touching any member, even one with a fixed charge', () => {
    const a = new AtomicBudget(0);
    const both = allOf({ a, b: new AtomicBudget(3) }, { charge: { a: 1 } });
    expect(both.tryReserveSync(0)).toBe(true);
    expect(both.tryAcquireSync(0)?.releaseSync()).toBe(true);
    expect(both.tryReserveSync(1)).toBe(false);
  });
});

describe('allOf: bad input', () => {
  it('rejects bad members and options at construction', () => {
    const a = new AtomicBudget(1);
    expect(codeOf(() => allOf([]))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => allOf([a, a]))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => allOf({ x: a, y: a }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => allOf([a, {} as AtomicBudget]))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => allOf(null as never))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => allOf({ a }, { charge: { b: 1 } as never }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => allOf({ a }, { charge: { a: -1 } }))).toBe('INVALID_AMOUNT');
  });

  it('rejects invalid costs before touching any member', () => {
    const a = new AtomicBudget(10);
    const both = allOf([a, new AtomicBudget(10)]);
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '3', 2n ** 60n]) {
      expect(codeOf(() => both.tryReserveSync(bad as number))).toBe('INVALID_AMOUNT');
      expect(codeOf(() => both.tryAcquireSync(bad as number))).toBe('INVALID_AMOUNT');
      expect(codeOf(() => both.releaseSync(bad as number))).toBe('INVALID_AMOUNT');
    }
    expect(a.available()).toBe(10);
  });
});

type Op =
  | { kind: 'acquire'; cost: number }
  | { kind: 'reserve'; cost: number }
  | { kind: 'release'; index: number }
  | { kind: 'commit'; index: number }
  | { kind: 'countRelease'; cost: number }
  | { kind: 'outside'; member: number; cost: number };

const opArb = (members: number): fc.Arbitrary<Op> =>
  fc.oneof(
    fc.record({ kind: fc.constant('acquire' as const), cost: fc.nat(12) }),
    fc.record({ kind: fc.constant('reserve' as const), cost: fc.nat(12) }),
    fc.record({ kind: fc.constant('release' as const), index: fc.nat(20) }),
    fc.record({ kind: fc.constant('commit' as const), index: fc.nat(20) }),
    fc.record({ kind: fc.constant('countRelease' as const), cost: fc.nat(12) }),
    fc.record({
      kind: fc.constant('outside' as const),
      member: fc.nat(members - 1),
      cost: fc.nat(6),
    }),
  );

describe('allOf: properties', () => {
  it('matches a sequential model; success charges every member, denial none', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat(20), { minLength: 1, maxLength: 4 }),
        fc.array(opArb(4), { maxLength: 60 }),
        (caps, ops) => {
          const members = caps.map((c) => new AtomicBudget(c));
          const both = allOf(members);
          const avail = [...caps];
          const permits: { p: SyncAllOfPermit<number>; cost: number }[] = [];
          let countHeld = 0;
          for (const op of ops) {
            const m = op.kind === 'outside' ? op.member % caps.length : 0;
            switch (op.kind) {
              case 'acquire':
              case 'reserve': {
                const fits = op.cost === 0 || avail.every((a) => a >= op.cost);
                const ok =
                  op.kind === 'acquire'
                    ? (() => {
                        const p = both.tryAcquireSync(op.cost);
                        if (p) permits.push({ p, cost: op.cost });
                        return p !== null;
                      })()
                    : both.tryReserveSync(op.cost);
                expect(ok).toBe(fits);
                if (fits) {
                  for (let i = 0; i < avail.length; i++) avail[i]! -= op.cost;
                  if (op.kind === 'reserve') countHeld += op.cost;
                }
                break;
              }
              case 'release':
              case 'commit': {
                const entry = permits[op.index % Math.max(permits.length, 1)];
                if (!entry) break;
                const wasHeld = entry.p.state === 'held';
                const settled =
                  op.kind === 'release' ? entry.p.releaseSync() : entry.p.commitSync();
                expect(settled).toBe(wasHeld);
                if (settled && op.kind === 'release') {
                  for (let i = 0; i < avail.length; i++) avail[i]! += entry.cost;
                }
                break;
              }
              case 'countRelease': {
                const accepted = Math.min(op.cost, countHeld);
                both.releaseSync(op.cost);
                countHeld -= accepted;
                for (let i = 0; i < avail.length; i++) avail[i]! += accepted;
                break;
              }
              case 'outside': {
                if (members[m]!.tryReserveSync(op.cost)) avail[m]! -= op.cost;
                break;
              }
            }
            expect(members.map((x) => x.available())).toEqual(avail);
            for (let i = 0; i < caps.length; i++) {
              expect(avail[i]!).toBeGreaterThanOrEqual(0);
              expect(avail[i]!).toBeLessThanOrEqual(caps[i]!);
            }
            expect(both.held()).toBe(countHeld);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('leaves every member where it was after a member throws', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat(15), { minLength: 2, maxLength: 4 }),
        fc.uniqueArray(fc.nat(30), { maxLength: 10 }),
        fc.array(fc.tuple(fc.boolean(), fc.nat(8)), { maxLength: 30 }),
        (caps, failures, ops) => {
          const inner = caps.map((c) => new AtomicBudget(c));
          const flaky = inner.map((b, i) => (i === 1 ? new FlakyGuard(b, new Set(failures)) : b));
          const both = allOf(flaky);
          for (const [usePermit, cost] of ops) {
            const before = inner.map((b) => b.available());
            let threw = false;
            let ok = false;
            try {
              ok = usePermit ? both.tryAcquireSync(cost) !== null : both.tryReserveSync(cost);
            } catch (error) {
              threw = true;
              expect(BudgetError.isInstance(error)).toBe(true);
            }
            const after = inner.map((b) => b.available());
            if (threw || !ok) expect(after).toEqual(before);
            else expect(after).toEqual(before.map((a) => a - cost));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

/** An async guard whose calls resume in an order the scheduler picks. */
class ScheduledGuard implements PermitBudgetGuard {
  constructor(
    readonly inner: AtomicBudget,
    private readonly hop: () => Promise<unknown>,
  ) {}
  async tryAcquire(cost: number): Promise<BudgetPermit | null> {
    await this.hop();
    const p = this.inner.tryAcquireSync(cost);
    if (p === null) return null;
    const hop = this.hop;
    return {
      cost: p.cost,
      epoch: p.epoch,
      get state() {
        return p.state;
      },
      async release() {
        await hop();
        return p.releaseSync();
      },
      async commit() {
        await hop();
        return p.commitSync();
      },
      async [Symbol.asyncDispose]() {
        await hop();
        p.releaseSync();
      },
    };
  }
  async tryReserve(cost: number): Promise<boolean> {
    await this.hop();
    return this.inner.tryReserveSync(cost);
  }
  async release(cost: number): Promise<void> {
    await this.hop();
    this.inner.releaseSync(cost);
  }
}

describe('allOf: interleavings (async members)', () => {
  it('never over-admits and conserves every member under concurrent acquires and releases', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(fc.nat(12), { minLength: 2, maxLength: 3 }),
        fc.array(fc.tuple(fc.nat(8), fc.boolean()), { minLength: 1, maxLength: 8 }),
        async (s, caps, ops) => {
          const inner = caps.map((c) => new AtomicBudget(c));
          const hop = () => s.schedule(Promise.resolve('hop'));
          const both = allOf(inner.map((b) => new ScheduledGuard(b, hop)));
          expect(both).toBeInstanceOf(AllOf);
          const held: { p: BudgetPermit; cost: number }[] = [];
          const tasks = ops.map(async ([cost, releaseAfter]) => {
            const p = await both.tryAcquire(cost);
            if (p === null) return;
            held.push({ p, cost });
            // G2: held never exceeds any member's capacity.
            const live = held.filter((h) => h.p.state === 'held').reduce((a, h) => a + h.cost, 0);
            for (const c of caps) expect(live).toBeLessThanOrEqual(c);
            if (releaseAfter) await p.release();
          });
          await s.waitFor(Promise.all(tasks));
          const stillHeld = held
            .filter((h) => h.p.state === 'held')
            .reduce((a, h) => a + h.cost, 0);
          expect(inner.map((b) => b.available())).toEqual(caps.map((c) => c - stillHeld));
          await s.waitFor(Promise.all(held.map((h) => h.p.release())));
          expect(inner.map((b) => b.available())).toEqual(caps);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('allOf: async member exceptions', () => {
  it('rolls back earlier members through their permits and wraps the failure', async () => {
    const a = new AtomicBudget(10);
    const failing: PermitBudgetGuard = {
      tryAcquire: async () => {
        throw new Error('connection reset');
      },
      tryReserve: async () => false,
      release: async () => {},
    };
    const both = allOf({ a, failing });
    expect(both).toBeInstanceOf(AllOf);
    await expect(both.tryAcquire(4)).rejects.toMatchObject({
      code: 'BACKEND',
      details: { member: 'failing' },
    });
    expect(a.available()).toBe(10);
    expect(a.held()).toBe(0);
  });
});

describe('allOf: fixed charges on the count API', () => {
  it('returns a fixed charge once per matching reservation, never for a lumped release', () => {
    const rows = new AtomicBudget(10);
    const tokens = new AtomicBudget(100);
    const both = allOf({ rows, tokens }, { charge: { rows: 1 } });
    expect(both.tryReserveSync(30)).toBe(true);
    expect(both.tryReserveSync(20)).toBe(true);
    expect([rows.available(), tokens.available()]).toEqual([8, 50]);
    both.releaseSync(50); // matches no single reservation: ignored
    expect(both.overReleased()).toBe(50);
    both.releaseSync(30);
    both.releaseSync(20);
    both.releaseSync(20);
    expect([rows.available(), tokens.available()]).toEqual([10, 100]);
    expect(both.overReleased()).toBe(70);
  });
});

describe('allOf: a different cost per member', () => {
  it('charges each member its own cost, all or nothing, naming the denier', () => {
    const rows = new AtomicBudget(10);
    const tokens = new AtomicTokenBudget(1_000);
    const both = allOf({ rows, tokens });
    const d = both.tryAcquireEachSync({ rows: 2, tokens: 700 });
    if (!d.ok) throw new Error('expected a permit');
    expect([rows.available(), tokens.available(), d.permit.cost]).toEqual([8, 300, 702]);
    expect(both.tryAcquireEachSync([1, 400])).toEqual({ ok: false, deniedBy: 'tokens' });
    expect(rows.available()).toBe(8);
    d.permit.releaseSync();
    expect([rows.available(), tokens.available()]).toEqual([10, 1_000]);
  });

  it('validates the whole cost vector before charging anything', () => {
    const a = new AtomicBudget(10);
    const both = allOf({ a, b: new AtomicBudget(10) });
    expect(codeOf(() => both.tryAcquireEachSync([1]))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => both.tryAcquireEachSync({ a: 1, c: 1 } as never))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => both.tryAcquireEachSync({ a: 1, b: -1 }))).toBe('INVALID_AMOUNT');
    expect(a.available()).toBe(10);
  });
});

describe('allOf: a remote member that fails badly', () => {
  it('rolls back every other member when a permit release throws synchronously', async () => {
    const a = new AtomicBudget(10);
    const b = new AtomicBudget(10);
    const c = new AtomicBudget(10);
    const gate = allOf([
      remoteGuard(a, { throwOnRelease: true }),
      b,
      remoteGuard(c, { rejectAcquire: true }),
    ]);
    await expect(gate.tryAcquire(3)).rejects.toMatchObject({ code: 'BACKEND' });
    // a's release failed, so a keeps its 3; b must not be stranded by it.
    expect(b.available()).toBe(10);
    expect(c.available()).toBe(10);
  });

  it('settles every other part when one part throws synchronously on release', async () => {
    const a = new AtomicBudget(10);
    const b = new AtomicBudget(10);
    const gate = allOf({ a: remoteGuard(a, { throwOnRelease: true }), b });
    const permit = await gate.tryAcquire(3);
    await expect(permit!.release()).rejects.toMatchObject({ code: 'BACKEND' });
    expect(b.available()).toBe(10);
    // Still held, for a retry: it tries the failing part again and never b's a second time.
    expect(permit!.state).toBe('held');
    await expect(permit!.release()).rejects.toMatchObject({ code: 'BACKEND' });
    expect([a.available(), b.available()]).toEqual([7, 10]);
  });
});
