// compose over SharedBudget / SharedTokenBudget behaves exactly as over their in-process twins
// AtomicBudget / AtomicTokenBudget (issue #12: "exactly the semantics and declared
// capabilities of the in-process ones ... so compose and the kit accept them unchanged"): for
// random histories of coordinator dispatches (settled under, at and over the estimate,
// cancelled), all-of permits with partial commits, all-of count reservations, token-guard
// permits, bad input and refills of either policy, both sides give the same decisions and
// reports, and the same availability, holds and debt after every step.
import {
  AtomicBudget,
  AtomicTokenBudget,
  capabilitiesOf,
  type RefillPolicy,
  SharedBudget,
  SharedTokenBudget,
} from '@budgetry/core';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { allOf, coordinator, tokenGuard } from '../src/index.js';

const open: { close(): void }[] = [];
afterEach(() => {
  for (const b of open.splice(0)) b.close();
});

type Op =
  | { k: 'dispatch'; rows: number; tokens: number }
  | { k: 'settle'; which: number; rows: number; tokens: number }
  | { k: 'cancel'; which: number }
  | { k: 'all'; cost: number }
  | { k: 'all-settle'; which: number; used: number | 'release' }
  | { k: 'count'; cost: number }
  | { k: 'count-release'; cost: number }
  | { k: 'guard'; cost: number }
  | { k: 'guard-settle'; which: number; used: number | 'release' }
  | { k: 'bad'; value: number }
  | { k: 'refill-rows' }
  | { k: 'refill-tokens' };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      k: fc.constant('dispatch' as const),
      rows: fc.nat(12),
      tokens: fc.nat(40),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      k: fc.constant('settle' as const),
      which: fc.nat(9),
      rows: fc.nat(15),
      tokens: fc.nat(60),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('cancel' as const), which: fc.nat(9) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('all' as const), cost: fc.nat(12) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('all-settle' as const),
      which: fc.nat(9),
      used: fc.oneof(fc.constant('release' as const), fc.nat(12)),
    }),
  },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('count' as const), cost: fc.nat(8) }) },
  {
    weight: 2,
    arbitrary: fc.record({ k: fc.constant('count-release' as const), cost: fc.nat(10) }),
  },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('guard' as const), cost: fc.nat(20) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('guard-settle' as const),
      which: fc.nat(9),
      used: fc.oneof(fc.constant('release' as const), fc.nat(20)),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('bad' as const),
      value: fc.constantFrom(-1, 1.5, Number.NaN, 2 ** 53, Number.POSITIVE_INFINITY),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ k: 'refill-rows' as const }) },
  { weight: 1, arbitrary: fc.constant({ k: 'refill-tokens' as const }) },
);

interface World {
  rows: { available(): number; held(): number; refill(): void; overReleased(): number };
  tokens: {
    available(): number;
    debt(): number;
    reserved(): number;
    refill(): void;
    tokensConsumedSync(): number;
  };
  step(o: Op): unknown;
}

function world(
  rows: AtomicBudget | SharedBudget,
  tokens: AtomicTokenBudget | SharedTokenBudget,
): World {
  const llm = coordinator({ rows, tokens });
  const both = allOf({ rows, tokens });
  const guard = tokenGuard(tokens);
  const dispatches: NonNullable<ReturnType<typeof llm.tryReserveSync> & { ok: true }>['permit'][] =
    [];
  const permits: ReturnType<typeof both.tryAcquireSync>[] = [];
  const guardPermits: ReturnType<typeof guard.tryAcquireSync>[] = [];
  const code = (f: () => unknown): unknown => {
    try {
      return f();
    } catch (e) {
      return { threw: (e as { code?: string }).code };
    }
  };
  const settle = (
    p: { releaseSync(): boolean; commitSync(u?: number): boolean } | null | undefined,
    used: number | 'release',
  ) => (p == null ? 'none' : used === 'release' ? p.releaseSync() : p.commitSync(used));
  return {
    rows,
    tokens,
    step(o) {
      switch (o.k) {
        case 'dispatch':
          return code(() => {
            const r = llm.tryReserveSync({ rows: o.rows, tokens: o.tokens });
            if (r.ok) dispatches.push(r.permit);
            return r.ok ? 'ok' : r.deniedBy;
          });
        case 'settle': {
          const d = dispatches[o.which];
          if (d === undefined) return 'none';
          dispatches.splice(o.which, 1);
          return code(() => d.settleSync({ rows: o.rows, tokens: o.tokens }));
        }
        case 'cancel': {
          const d = dispatches[o.which];
          if (d === undefined) return 'none';
          dispatches.splice(o.which, 1);
          return code(() => d.cancelSync());
        }
        case 'all':
          return code(() => {
            const p = both.tryAcquireSync(o.cost);
            if (p !== null) permits.push(p);
            return p !== null;
          });
        case 'all-settle': {
          const p = permits[o.which];
          return code(() => settle(p, o.used));
        }
        case 'count':
          return code(() => both.tryReserveSync(o.cost));
        case 'count-release':
          return code(() => both.releaseSync(o.cost));
        case 'guard':
          return code(() => {
            const p = guard.tryAcquireSync(o.cost);
            if (p !== null) guardPermits.push(p);
            return p !== null;
          });
        case 'guard-settle': {
          const p = guardPermits[o.which];
          return code(() => settle(p, o.used));
        }
        case 'bad':
          return [
            code(() => llm.tryReserveSync({ rows: o.value, tokens: 1 })),
            code(() => both.tryAcquireSync(o.value)),
            code(() => both.tryReserveSync(o.value)),
            code(() => guard.tryAcquireSync(o.value)),
          ];
        case 'refill-rows':
          return code(() => rows.refill());
        case 'refill-tokens':
          return code(() => tokens.refill());
      }
    },
  };
}

function state(w: World) {
  return {
    rows: { available: w.rows.available(), held: w.rows.held(), over: w.rows.overReleased() },
    tokens: {
      available: w.tokens.available(),
      debt: w.tokens.debt(),
      reserved: w.tokens.reserved(),
      consumed: w.tokens.tokensConsumedSync(),
    },
  };
}

describe('compose over shared budgets is the twin of compose over in-process budgets', () => {
  it('declares the same capabilities, so combinators and the coordinator treat both alike', () => {
    for (const policy of ['reset', 'carry'] as const) {
      const s = new SharedBudget(5, { refillPolicy: policy });
      const t = new SharedTokenBudget(5, { refillPolicy: policy });
      open.push(s, t);
      expect(capabilitiesOf(s)).toEqual(
        capabilitiesOf(new AtomicBudget(5, { refillPolicy: policy })),
      );
      expect(capabilitiesOf(t)).toEqual(
        capabilitiesOf(new AtomicTokenBudget(5, { refillPolicy: policy })),
      );
      expect(capabilitiesOf(allOf({ s, t }))).toEqual(
        capabilitiesOf(
          allOf({
            s: new AtomicBudget(5, { refillPolicy: policy }),
            t: new AtomicTokenBudget(5, { refillPolicy: policy }),
          }),
        ),
      );
    }
  });

  it.each(['reset', 'carry'] as RefillPolicy[])(
    'same decisions, reports and state after every step (%s)',
    (policy) => {
      fc.assert(
        fc.property(
          fc.array(op, { minLength: 1, maxLength: 80, size: 'max' }),
          fc.nat(30),
          fc.nat(120),
          fc.option(fc.nat(40), { nil: undefined }),
          (ops, rowCap, tokenCap, maxDebt) => {
            const sr = new SharedBudget(rowCap, { refillPolicy: policy, leakBackstop: false });
            const st = new SharedTokenBudget(tokenCap, {
              refillPolicy: policy,
              leakBackstop: false,
              ...(maxDebt === undefined ? {} : { maxDebt }),
            });
            try {
              const shared = world(sr, st);
              const twin = world(
                new AtomicBudget(rowCap, { refillPolicy: policy, leakBackstop: false }),
                new AtomicTokenBudget(tokenCap, {
                  refillPolicy: policy,
                  leakBackstop: false,
                  ...(maxDebt === undefined ? {} : { maxDebt }),
                }),
              );
              for (const [i, o] of ops.entries()) {
                const a = shared.step(o);
                const b = twin.step(o);
                expect({ i, o, out: a }).toEqual({ i, o, out: b });
                expect({ i, o, state: state(shared) }).toEqual({ i, o, state: state(twin) });
              }
            } finally {
              sr.close();
              st.close();
            }
          },
        ),
        { numRuns: 150 },
      );
    },
  );
});
