// A hostile review of allOf's in-place count path over core budgets (core-all-of.ts): members
// whose counts are reachable through more than one position, members whose writes fail, methods
// replaced on the class rather than the instance, costs the private filler budget refuses, a
// waiting line on one member. Each case is checked against the general path, which the same
// members take when they are subclasses (allOf then calls their own methods).
import {
  AtomicBudget,
  AtomicTokenBudget,
  BudgetError,
  type BudgetEvent,
  type SyncBudgetGuard,
} from '@budgetry/core';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { allOf } from '../src/all-of/all-of.js';
import type { SyncAllOf } from '../src/all-of/sync-all-of.js';
import { lazyRefill } from '../src/refill/index.js';
import { waiting } from '../src/waiting/index.js';

const MAX = Number.MAX_SAFE_INTEGER;

class SlowAtomic extends AtomicBudget {}
class SlowTokens extends AtomicTokenBudget {}

afterEach(() => {
  vi.restoreAllMocks();
});

/** `width` members: the first is `shared` and the last a Proxy of it; the rest are roomy. */
function throughTwoPositions(width: number, slow: boolean) {
  const make = (capacity: number) => (slow ? new SlowAtomic(capacity) : new AtomicBudget(capacity));
  const shared = make(10);
  const members: AtomicBudget[] = [shared];
  for (let i = 1; i < width - 1; i++) members.push(make(1_000));
  members.push(new Proxy(shared, {}));
  return { shared, gate: allOf(members) };
}

/** What `fn` threw: a BudgetError's code and member, or the class of anything else. */
function thrown(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (BudgetError.isInstance(error)) return `${error.code} ${String(error.details?.member)}`;
    return `not a BudgetError: ${(error as Error).constructor.name}`;
  }
  return 'nothing';
}

describe('one budget reachable from two positions (a Proxy) is never overdrawn', () => {
  // The duplicate check compares identities, so a Proxy of a member is a second member. The
  // general path charges positions one after the other: the second sees what the first took and
  // denies. The in-place path must do the same: a path that asked every position before taking
  // from any would let both positions see the whole availability and both take it.
  it.each([2, 3, 5, 9])(
    'width %i: denies 6 + 6 on a capacity of 10, as the general path does',
    (width) => {
      const slow = throughTwoPositions(width, true);
      expect(slow.gate.tryReserveSync(6)).toBe(false);
      expect([slow.shared.available(), slow.shared.held()]).toEqual([10, 0]);

      const fast = throughTwoPositions(width, false);
      expect(fast.gate.tryReserveSync(6)).toBe(false);
      expect([fast.shared.available(), fast.shared.held(), fast.gate.held()]).toEqual([10, 0, 0]);
    },
  );
});

describe('a member whose count write throws leaves no other member charged', () => {
  // A frozen budget's own method throws TypeError before it changes anything; the general path
  // rolls the earlier members back and names the member. The in-place path must undo the takes
  // already made when a later one throws, and leave the report to the general path.
  it.each([2, 3, 5, 9])(
    'width %i: the earlier members are rolled back and the error is typed',
    (width) => {
      const run = (slow: boolean) => {
        const make = () => (slow ? new SlowAtomic(10) : new AtomicBudget(10));
        const members: AtomicBudget[] = [];
        for (let i = 0; i < width - 1; i++) members.push(make());
        members.push(Object.freeze(make()) as AtomicBudget);
        const gate = allOf(members);
        const error = thrown(() => gate.tryReserveSync(3));
        return { error, available: members.map((m) => m.available()), held: gate.held() };
      };
      const slow = run(true);
      expect(slow.error).toBe(`BACKEND ${width - 1}`);
      expect(run(false)).toEqual(slow);
    },
  );
});

describe('a member frozen while held: the release gives back nothing twice', () => {
  // The in-place release gives the first member its units, then the frozen one throws; the
  // first is taken back before the general path releases every member through its own method.
  it.each([2, 3, 5, 9])(
    'width %i: the others are released once, the frozen one is named',
    (width) => {
      const members = Array.from({ length: width }, () => new AtomicBudget(10));
      const gate = allOf(members);
      expect(gate.tryReserveSync(3)).toBe(true);
      Object.freeze(members[width - 1]);
      expect(thrown(() => gate.releaseSync(3))).toBe(`BACKEND ${width - 1}`);
      const others = members.slice(0, -1);
      expect(others.map((m) => [m.available(), m.overReleased()])).toEqual(
        others.map(() => [10, 0]),
      );
      expect(gate.held()).toBe(0);
    },
  );
});

describe('a listener added through a Proxy of a member', () => {
  // A Proxy cannot reach the budget's private fields, where the count API keeps what it
  // compares the methods with; the budget gets methods of its own while the listener is there.
  it.each([
    ['AtomicBudget', () => new AtomicBudget(10)],
    ['AtomicTokenBudget', () => new AtomicTokenBudget(10)],
  ] as const)('%s: hears the all-of reserve and release, until it leaves', (_, make) => {
    const member = make();
    const gate = allOf([member, new AtomicBudget(100)]);
    const heard: string[] = [];
    const stop = new Proxy(member, {}).subscribe((e: BudgetEvent) => heard.push(e.type));
    const also: string[] = [];
    member.subscribe((e: BudgetEvent) => also.push(e.type));
    expect(gate.tryReserveSync(3)).toBe(true);
    gate.releaseSync(3);
    expect(heard).toEqual(['reserve', 'release']);
    expect(also).toEqual(['reserve', 'release']);
    stop();
    expect(gate.tryReserveSync(2)).toBe(true);
    gate.releaseSync(2);
    expect(heard).toEqual(['reserve', 'release']);
    expect([member.available(), gate.held()]).toEqual([10, 0]);
  });

  it('wakes a waiting line built over the Proxy when the all-of releases', async () => {
    const rows = new AtomicBudget(4);
    const gate = allOf([rows, new AtomicBudget(100)]);
    const line = waiting(new Proxy(rows, {}));
    expect(gate.tryReserveSync(4)).toBe(true);
    let done = false;
    const acquired = line.acquire(4).then((permit) => {
      done = true;
      return permit;
    });
    await Promise.resolve();
    expect(done).toBe(false);
    gate.releaseSync(4);
    const permit = await acquired;
    expect(done).toBe(true);
    permit.releaseSync();
    expect(rows.available()).toBe(4);
    line.close();
  });
});

describe("a getter on a member's tryReserveSync that reserves when it is read", () => {
  // The in-place path reads the method before the availability, so what the getter takes is
  // seen; the member is never overdrawn.
  it('is seen before the availability is read: denied, nothing overdrawn', () => {
    const a = new AtomicBudget(10);
    const b = new AtomicBudget(10);
    const gate = allOf([a, b]);
    const own = AtomicBudget.prototype.tryReserveSync;
    let first = true;
    Object.defineProperty(b, 'tryReserveSync', {
      configurable: true,
      get() {
        if (first) {
          first = false;
          own.call(b, 6);
        }
        return own;
      },
    });
    expect(gate.tryReserveSync(6)).toBe(false);
    expect([a.available(), b.available(), gate.held()]).toEqual([10, 4, 0]);
  });
});

describe('a budget given raw and behind lazyRefill', () => {
  // `a` and a scheduled view of `a` would charge `a` twice per reservation. The view is
  // registered as a clean wrapper (clean-wrappers.ts), so the duplicate check can see through it
  // as it sees through token guard views.
  it('is refused as the same budget given twice', () => {
    const a = new AtomicBudget(10);
    expect(thrown(() => allOf([a, lazyRefill(a, { intervalMs: 1_000 })]))).toBe(
      'INVALID_ARGUMENT 1',
    );
  });
});

describe('methods replaced on the class, after allOf was built, are still called', () => {
  it("a spy on AtomicBudget.prototype's count API sees every call and its answer counts", () => {
    const rows = new AtomicBudget(10);
    const more = new AtomicBudget(10);
    const gate = allOf([rows, more]);
    const reserve = vi.spyOn(AtomicBudget.prototype, 'tryReserveSync');
    const release = vi.spyOn(AtomicBudget.prototype, 'releaseSync');
    expect(gate.tryReserveSync(4)).toBe(true);
    gate.releaseSync(4);
    expect(reserve.mock.calls).toEqual([[4], [4]]);
    expect(release.mock.calls).toEqual([[4], [4]]);
    reserve.mockReturnValue(false);
    expect(gate.tryReserveSync(1)).toBe(false);
    expect([rows.available(), more.available(), gate.held()]).toEqual([10, 10, 0]);
  });

  it("a spy on AtomicTokenBudget.prototype's count API sees every call, alone or beside rows", () => {
    const tokens = new AtomicTokenBudget(100);
    const alone = allOf([tokens]);
    const beside = allOf({ rows: new AtomicBudget(10), tokens });
    const reserve = vi.spyOn(AtomicTokenBudget.prototype, 'tryReserveSync');
    const release = vi.spyOn(AtomicTokenBudget.prototype, 'releaseSync');
    expect(alone.tryReserveSync(30)).toBe(true);
    expect(beside.tryReserveSync(5)).toBe(true);
    alone.releaseSync(30);
    beside.releaseSync(5);
    expect(reserve.mock.calls).toEqual([[30], [5]]);
    expect(release.mock.calls).toEqual([[30], [5]]);
    expect(tokens.available()).toBe(100);
  });

  it('a release wrapped on a token member instance (its reserve left alone) sees the release', () => {
    const tokens = new AtomicTokenBudget(100);
    const gate = allOf([new AtomicBudget(10), new AtomicBudget(10), tokens]);
    expect(gate.tryReserveSync(7)).toBe(true); // in place: nothing was replaced yet
    const seen: number[] = [];
    const own = AtomicTokenBudget.prototype.releaseSync;
    tokens.releaseSync = function (this: AtomicTokenBudget, cost: number): void {
      seen.push(cost);
      own.call(this, cost);
    };
    gate.releaseSync(7);
    expect(seen).toEqual([7]);
    expect([tokens.available(), gate.held()]).toEqual([100, 0]);
  });
});

describe('a waiting line on one member hears releases made through the all-of', () => {
  it('a waiter for a member is woken by the all-of releasing that member', async () => {
    const rows = new AtomicBudget(4);
    const tokens = new AtomicTokenBudget(40);
    const gate = allOf({ rows, tokens });
    const line = waiting(rows);
    expect(gate.tryReserveSync(4)).toBe(true);
    const pending = line.acquire(3);
    await Promise.resolve();
    expect(line.pending).toBe(1);
    gate.releaseSync(4);
    const permit = await pending;
    expect([rows.available(), tokens.available(), line.pending]).toEqual([1, 40, 0]);
    permit.releaseSync();
    line.close();
  });
});

type Op =
  | { kind: 'reserve' | 'release'; cost: number }
  | { kind: 'direct'; at: number; cost: number }
  | { kind: 'refill' | 'observe'; at: number };

/** Costs on both sides of the filler's capacity, 2^30 − 1, and up to 2^53 − 1. */
const bigCost = fc.constantFrom(1, 3, 2 ** 30 - 2, 2 ** 30 - 1, 2 ** 30, 2 ** 31, 2 ** 40, MAX);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ kind: fc.constantFrom('reserve', 'release'), cost: bigCost }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('direct'), at: fc.nat(9), cost: bigCost }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constantFrom('refill', 'observe'), at: fc.nat(9) }),
  },
) as fc.Arbitrary<Op>;
const specArb = fc.record({
  tokens: fc.boolean(),
  capacity: fc.constantFrom(MAX, 2 ** 31, 2 ** 30 - 1, 2 ** 30 + 5, 2 ** 40, 7),
});

/** One side of the comparison: members as core budgets (in place) or subclasses (general). */
class World {
  readonly members: (AtomicBudget | AtomicTokenBudget)[];
  readonly gate: SyncAllOf<number>;
  readonly events: BudgetEvent[][];
  private readonly stops: ((() => void) | undefined)[];

  constructor(specs: readonly { tokens: boolean; capacity: number }[], slow: boolean) {
    this.members = specs.map((s, i) => {
      const o = { name: `m${i}` };
      if (s.tokens)
        return slow ? new SlowTokens(s.capacity, o) : new AtomicTokenBudget(s.capacity, o);
      return slow ? new SlowAtomic(s.capacity, o) : new AtomicBudget(s.capacity, o);
    });
    this.gate = allOf(this.members as SyncBudgetGuard[]) as SyncAllOf<number>;
    this.events = specs.map(() => []);
    this.stops = specs.map(() => undefined);
  }

  apply(op: Op): unknown {
    if (!('at' in op)) {
      if (op.kind === 'reserve') return this.gate.tryReserveSync(op.cost);
      return this.gate.releaseSync(op.cost);
    }
    const i = op.at % this.members.length;
    const m = this.members[i]!;
    if (op.kind === 'direct') return m.tryReserveSync(op.cost);
    if (op.kind === 'refill') return m.refill();
    const stop = this.stops[i];
    this.stops[i] = stop === undefined ? m.subscribe((e) => this.events[i]!.push(e)) : undefined;
    stop?.();
    return undefined;
  }

  state(): unknown {
    const g = this.gate;
    return [
      g.available(),
      g.held(),
      g.overReleased(),
      this.members.map((m) => m.snapshot()),
      this.events,
    ];
  }
}

describe('costs the filler refuses, at every width, against the general path', () => {
  it('grants, denies, releases and tells the same for costs up to 2^53 − 1', () => {
    fc.assert(
      fc.property(
        fc.array(specArb, { minLength: 1, maxLength: 10 }),
        fc.array(opArb, { maxLength: 40 }),
        (specs, ops) => {
          const fast = new World(specs, false);
          const slow = new World(specs, true);
          for (const op of ops) {
            expect(fast.apply(op)).toEqual(slow.apply(op));
            expect(fast.state()).toEqual(slow.state());
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it.each([1, 3, 5, 7])(
    'width %i over roomy members: 2^30 and 2^31 are granted and returned',
    (width) => {
      const members = Array.from({ length: width }, (_, i) =>
        i % 2 === 0 ? new AtomicBudget(MAX) : new AtomicTokenBudget(MAX),
      );
      const gate = allOf(members);
      expect(gate.tryReserveSync(2 ** 30)).toBe(true);
      expect(gate.tryReserveSync(2 ** 31)).toBe(true);
      expect(gate.held()).toBe(2 ** 30 + 2 ** 31);
      gate.releaseSync(2 ** 31);
      gate.releaseSync(2 ** 30);
      expect([gate.held(), gate.overReleased(), gate.available()]).toEqual([0, 0, MAX]);
    },
  );
});
