// allOf over core budgets changes their counts in place (countFits / countTake …) when nobody is
// told, with a class per width: one or two members, three or four, five to eight, more. These
// tests run each width against the general path (the same members as subclasses, which allOf
// calls through their own methods) under histories that also change the members behind the
// all-of's back: refills, direct calls, observers, refill schedules and replaced methods coming
// and going, token debt. Every result, error, event and count must match.
import {
  AtomicBudget,
  AtomicTokenBudget,
  BudgetError,
  type BudgetEvent,
  type RefillPolicy,
} from '@budgetry/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allOf } from '../src/all-of/all-of.js';
import type { SyncAllOf } from '../src/all-of/sync-all-of.js';

type Member = AtomicBudget | AtomicTokenBudget;
interface Spec {
  kind: 'a' | 't';
  capacity: number;
  strict: boolean;
  refillPolicy: RefillPolicy;
}
type Op =
  | { kind: 'reserve' | 'release'; cost: number }
  | { kind: 'direct-reserve' | 'direct-release'; at: number; cost: number }
  | { kind: 'refill' | 'observe' | 'schedule' | 'replace' | 'overuse'; at: number }
  | { kind: 'tick' }
  | { kind: 'late-reserve' | 'late-release'; cost: number };

class SlowAtomic extends AtomicBudget {}
class SlowTokens extends AtomicTokenBudget {}

const specArb: fc.Arbitrary<Spec> = fc.record({
  kind: fc.constantFrom('a' as const, 't' as const),
  capacity: fc.integer({ min: 0, max: 40 }),
  strict: fc.boolean(),
  refillPolicy: fc.constantFrom('reset' as const, 'carry' as const),
});
const cost = fc.integer({ min: 0, max: 12 });
const at = fc.nat(11);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constantFrom('reserve', 'release'), cost }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constantFrom('direct-reserve', 'direct-release'), at, cost }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constantFrom('refill', 'observe', 'schedule', 'replace', 'overuse'),
      at,
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'tick' as const }) },
  // Time passes, then the call: the first to see a due refill is the all-of's own call.
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constantFrom('late-reserve', 'late-release'), cost }),
  },
) as fc.Arbitrary<Op>;

/** One side of the comparison: its members, its gate and everything it was told. */
class World {
  readonly members: Member[];
  readonly gate: SyncAllOf<number>;
  readonly events: BudgetEvent[][];
  private readonly stops: ((() => void) | undefined)[];
  private readonly detach: ((() => void) | undefined)[];
  private readonly seen: number[];
  private clock = 0;

  constructor(specs: readonly Spec[], slow: boolean) {
    this.members = specs.map((s, i) => {
      const options = { strict: s.strict, refillPolicy: s.refillPolicy, name: `m${i}` };
      if (s.kind === 'a')
        return slow ? new SlowAtomic(s.capacity, options) : new AtomicBudget(s.capacity, options);
      return slow
        ? new SlowTokens(s.capacity, options)
        : new AtomicTokenBudget(s.capacity, options);
    });
    this.gate = allOf(this.members) as SyncAllOf<number>;
    this.events = specs.map(() => []);
    this.stops = specs.map(() => undefined);
    this.detach = specs.map(() => undefined);
    this.seen = specs.map(() => 0);
  }

  /** Applies `op`; returns what it returned, or the error's code and member. */
  apply(op: Op): unknown {
    try {
      return this.run(op);
    } catch (error) {
      if (!BudgetError.isInstance(error)) return `thrown: ${String(error)}`;
      return `${error.code} ${String(error.details?.member)}`;
    }
  }

  private run(op: Op): unknown {
    if (op.kind === 'reserve') return this.gate.tryReserveSync(op.cost);
    if (op.kind === 'release') return this.gate.releaseSync(op.cost);
    if (op.kind === 'tick') return void this.clock++;
    if (op.kind === 'late-reserve' || op.kind === 'late-release') {
      this.clock++;
      if (op.kind === 'late-reserve') return this.gate.tryReserveSync(op.cost);
      return this.gate.releaseSync(op.cost);
    }
    if (!('at' in op)) throw new Error(`no such op: ${op.kind}`);
    const i = op.at % this.members.length;
    const m = this.members[i]!;
    switch (op.kind) {
      case 'direct-reserve':
        return m.tryReserveSync(op.cost);
      case 'direct-release':
        return m.releaseSync(op.cost);
      case 'refill':
        return m.refill();
      case 'observe':
        if (this.stops[i] === undefined) {
          this.stops[i] = m.subscribe((e) => this.events[i]!.push(e));
        } else {
          this.stops[i]!();
          this.stops[i] = undefined;
        }
        return;
      case 'schedule':
        // A schedule that catches up on the clock: calling it twice changes nothing. (It
        // replaces methods on the instance too, so a member has one or the other.)
        if (Object.hasOwn(m, 'tryReserveSync') && this.detach[i] === undefined) return;
        if (this.detach[i] === undefined) {
          this.seen[i] = this.clock;
          this.detach[i] = m.followSchedule(() => {
            const due = this.clock - this.seen[i]!;
            this.seen[i] = this.clock; // first: the refill's event reads the budget again
            if (due > 0) m.refill(due);
          });
        } else {
          this.detach[i]!();
          this.detach[i] = undefined;
        }
        return;
      case 'replace':
        // A method replaced on the instance (a spy, a wrapper) must still be called.
        if (this.detach[i] !== undefined) return;
        if (Object.hasOwn(m, 'tryReserveSync')) {
          delete (m as { tryReserveSync?: unknown }).tryReserveSync;
        } else {
          const own = Object.getPrototypeOf(m).tryReserveSync as (cost: number) => boolean;
          m.tryReserveSync = function (this: Member, c: number): boolean {
            if (c % 3 === 1) throw new Error(`member refuses ${c}`);
            return own.call(this, c);
          };
        }
        return;
      case 'overuse': {
        if (!(m instanceof AtomicTokenBudget)) return;
        const r = m.tryReserveTokensSync(1);
        if (r !== null) m.recordUsageSync(r, 4, 1);
        return r !== null;
      }
    }
  }

  state(): unknown {
    return {
      gate: [this.gate.available(), this.gate.held(), this.gate.overReleased()],
      members: this.members.map((m) => m.snapshot()),
      events: this.events,
    };
  }
}

describe('allOf over core budgets, every width, against the general path', () => {
  it('returns, throws, tells and counts the same under histories that change the members too', () => {
    fc.assert(
      fc.property(
        fc.array(specArb, { minLength: 1, maxLength: 10 }),
        fc.array(opArb, { maxLength: 80, size: 'max' }),
        (specs, ops) => {
          const fast = new World(specs, false);
          const slow = new World(specs, true);
          for (const op of ops) {
            expect(fast.apply(op)).toEqual(slow.apply(op));
            expect(fast.state()).toEqual(slow.state());
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});
