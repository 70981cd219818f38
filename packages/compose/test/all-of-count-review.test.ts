// allOf's count-API shortcuts — the loop-free pair entry, the tight loops of count-loops.ts,
// and a core token member's count calls going straight to its AtomicTokenBudget instead of
// through the guard view — keep every behaviour of the general path: bad amounts refused
// before anything is compared or converted, views the caller holds called as they are, events
// and rollbacks as before. Written as a hostile review of the shortcuts.
import {
  AtomicBudget,
  AtomicTokenBudget,
  BudgetError,
  type BudgetEvent,
  type SyncBudgetGuard,
} from '@budgetry/core';
import { describe, expect, it, vi } from 'vitest';
import { allOf } from '../src/all-of/all-of.js';
import type { SyncAllOf } from '../src/all-of/index.js';
import { anyOf } from '../src/any-of/any-of.js';
import { tokenGuard } from '../src/token-guard/index.js';
import { waiting } from '../src/waiting/index.js';

const MAX = Number.MAX_SAFE_INTEGER;

/** The error `fn` throws: the BudgetError, or a string naming what else it was. */
const errorOf = (fn: () => unknown): BudgetError | string | undefined => {
  try {
    fn();
  } catch (error) {
    return BudgetError.isInstance(error)
      ? error
      : `not a BudgetError: ${(error as Error)?.constructor?.name}`;
  }
  return undefined;
};

/** rows + tokens, the headline shape (the loop-free pair entry). */
function headline(rowsCap = 10, tokensCap = 100) {
  const rows = new AtomicBudget(rowsCap);
  const tokens = new AtomicTokenBudget(tokensCap);
  const gate = allOf({ rows, tokens });
  return { rows, tokens, gate };
}

function state(gate: { held(): number; overReleased(): number; available(): number }) {
  return { held: gate.held(), overReleased: gate.overReleased(), available: gate.available() };
}

describe('bad amounts on the pair entry: a typed BudgetError before anything changes', () => {
  it('tryReserveSync(Symbol()) throws INVALID_AMOUNT, not a TypeError', () => {
    const { rows, tokens, gate } = headline();
    const e = errorOf(() => gate.tryReserveSync(Symbol('cost') as unknown as number));
    expect(e).toBeInstanceOf(BudgetError);
    expect((e as BudgetError).code).toBe('INVALID_AMOUNT');
    expect([rows.available(), tokens.available(), gate.held()]).toEqual([10, 100, 0]);
  });

  it('releaseSync(Symbol()) throws INVALID_AMOUNT, not a TypeError', () => {
    const { rows, tokens, gate } = headline();
    expect(gate.tryReserveSync(3)).toBe(true);
    const e = errorOf(() => gate.releaseSync(Symbol('cost') as unknown as number));
    expect(e).toBeInstanceOf(BudgetError);
    expect((e as BudgetError).code).toBe('INVALID_AMOUNT');
    expect([rows.available(), tokens.available(), gate.held(), gate.overReleased()]).toEqual([
      7, 97, 3, 0,
    ]);
  });

  it('a cost object is rejected without being converted (its valueOf is never run)', () => {
    const { rows, tokens, gate } = headline();
    let conversions = 0;
    const sneaky = {
      valueOf() {
        conversions++;
        throw new Error('converted');
      },
    } as unknown as number;
    const reserveError = errorOf(() => gate.tryReserveSync(sneaky));
    expect(reserveError).toBeInstanceOf(BudgetError);
    expect((reserveError as BudgetError).code).toBe('INVALID_AMOUNT');
    expect(gate.tryReserveSync(2)).toBe(true);
    const releaseError = errorOf(() => gate.releaseSync(sneaky));
    expect(releaseError).toBeInstanceOf(BudgetError);
    expect((releaseError as BudgetError).code).toBe('INVALID_AMOUNT');
    expect(conversions).toBe(0);
    expect([rows.available(), tokens.available(), gate.held()]).toEqual([8, 98, 2]);
  });

  it('every other invalid value class is refused with INVALID_AMOUNT on every entry shape', () => {
    const bad: unknown[] = [
      -1,
      1.5,
      Number.NaN,
      Infinity,
      -Infinity,
      MAX + 1,
      '3',
      3n,
      null,
      undefined,
      {},
      [3],
      true,
    ];
    const shapes = [
      () => headline(),
      () => {
        const rows = new AtomicBudget(10);
        const tokens = new AtomicTokenBudget(100);
        return { rows, tokens, gate: allOf([rows, tokens, new AtomicBudget(10)]) };
      },
      () => {
        const rows = new AtomicBudget(10);
        const tokens = new AtomicTokenBudget(100);
        return { rows, tokens, gate: allOf({ rows, tokens }, { charge: { rows: 1 } }) };
      },
    ];
    for (const make of shapes) {
      const { rows, tokens, gate } = make();
      expect(gate.tryReserveSync(2)).toBe(true);
      const before = [rows.available(), tokens.available(), gate.held(), gate.overReleased()];
      for (const v of bad) {
        for (const call of [
          () => gate.tryReserveSync(v as number),
          () => gate.releaseSync(v as number),
        ]) {
          const e = errorOf(call);
          expect(e, String(v)).toBeInstanceOf(BudgetError);
          expect((e as BudgetError).code).toBe('INVALID_AMOUNT');
        }
      }
      expect([rows.available(), tokens.available(), gate.held(), gate.overReleased()]).toEqual(
        before,
      );
    }
  });
});

describe("a token member's count calls go through its guard view, as before", () => {
  it('a spy on the guard view (added after allOf) sees the count calls', () => {
    const rows = new AtomicBudget(10);
    const tokens = new AtomicTokenBudget(100);
    const view = tokenGuard(tokens);
    const gate = allOf({ rows, tokens: view });
    const reserve = vi.spyOn(view, 'tryReserveSync');
    const release = vi.spyOn(view, 'releaseSync');
    expect(gate.tryReserveSync(4)).toBe(true);
    gate.releaseSync(4);
    expect(reserve).toHaveBeenCalledWith(4);
    expect(release).toHaveBeenCalledWith(4);
  });

  it('control: a spy on an AtomicBudget member (added after allOf) sees the count calls', () => {
    const rows = new AtomicBudget(10);
    const tokens = new AtomicTokenBudget(100);
    const gate = allOf({ rows, tokens });
    const reserve = vi.spyOn(rows, 'tryReserveSync');
    const release = vi.spyOn(rows, 'releaseSync');
    expect(gate.tryReserveSync(4)).toBe(true);
    gate.releaseSync(4);
    expect(reserve).toHaveBeenCalledWith(4);
    expect(release).toHaveBeenCalledWith(4);
  });

  it('a guard view whose tryReserveSync is replaced after allOf still denies', () => {
    const rows = new AtomicBudget(10);
    const tokens = new AtomicTokenBudget(100);
    const view = tokenGuard(tokens);
    const gate = allOf([rows, view, new AtomicBudget(10)]);
    // e.g. a kill switch installed on the view at run time
    view.tryReserveSync = () => false;
    expect(gate.tryReserveSync(4)).toBe(false);
    expect([rows.available(), tokens.available(), gate.held()]).toEqual([10, 100, 0]);
  });

  it('a guard view whose releaseSync is wrapped (instance property) sees the releases', () => {
    const rows = new AtomicBudget(10);
    const tokens = new AtomicTokenBudget(100);
    const view = tokenGuard(tokens);
    const seen: number[] = [];
    const original = view.releaseSync.bind(view);
    view.releaseSync = (cost: number) => {
      seen.push(cost);
      original(cost);
    };
    const gate = allOf({ rows, tokens: view });
    expect(gate.tryReserveSync(5)).toBe(true);
    gate.releaseSync(5);
    expect(seen).toEqual([5]);
    expect([rows.available(), tokens.available()]).toEqual([10, 100]);
  });

  it('a token budget whose guard view keeps a ledger (no count release declared) is charged through the view', () => {
    const rows = new AtomicBudget(10);
    const tokens = new AtomicTokenBudget(100);
    // An instance that says it has no pool count release: its guard view keeps reservations.
    Object.defineProperty(tokens, 'capabilities', {
      value: { ...tokens.capabilities, countRelease: false },
    });
    const view = tokenGuard(tokens);
    expect(view.capabilities.countRelease).toBe(false);
    const gate = allOf({ rows, tokens: view });
    expect(gate.tryReserveSync(5)).toBe(true);
    // Through the view the all-of's 5 are a TokenReservation in the view's ledger, not tokens
    // held by the budget's own count API: a stray count release made directly on the budget
    // finds nothing there (an over-release) and cannot free units the all-of still holds.
    tokens.releaseSync(5);
    expect(tokens.overReleased()).toBe(5);
    expect(tokens.available()).toBe(95);
    gate.releaseSync(5);
    expect([rows.available(), tokens.available(), gate.held()]).toEqual([10, 100, 0]);
  });
});

describe('other findings', () => {
  it("core token budget's deny event reports the availability the decision saw, not a subclass's available()", () => {
    const events: BudgetEvent[] = [];
    class Floor extends AtomicTokenBudget {
      override available(): number {
        return Math.max(0, super.available() - 3);
      }
    }
    const tokens = new Floor(10, { observer: (e) => events.push(e) });
    expect(tokens.tryReserveSync(20)).toBe(false);
    // The deny event carries max(net, 0), not what a subclass's available() would say.
    expect(events).toEqual([{ type: 'deny', budget: undefined, cost: 20, available: 10 }]);
  });

  it('a token budget given twice, raw and behind tokenGuard, is refused', () => {
    const tokens = new AtomicTokenBudget(10);
    // allOf refuses the same budget twice; the raw budget and its view are not compared.
    const e = errorOf(() => allOf([tokens, tokenGuard(tokens)]));
    expect(e).toBeInstanceOf(BudgetError);
    expect((e as BudgetError).code).toBe('INVALID_ARGUMENT');
  });
});

describe('semantics that held (pinned)', () => {
  it('cost 0 is granted and charges nobody, even over a token budget in debt', () => {
    const { rows, tokens, gate } = headline(10, 10);
    const r = tokens.tryReserveTokensSync(10)!;
    tokens.recordUsageSync(r, 15, 0); // 5 in debt
    expect(tokens.debt()).toBe(5);
    expect(gate.tryReserveSync(0)).toBe(true);
    gate.releaseSync(0);
    expect(state(gate)).toEqual({ held: 0, overReleased: 0, available: 0 });
    expect([rows.available(), tokens.available(), tokens.debt()]).toEqual([10, 0, 5]);
  });

  it('a token budget in debt denies the pair and rows are rolled back; refunds pay the debt first', () => {
    const { rows, tokens, gate } = headline(10, 10);
    const r = tokens.tryReserveTokensSync(10)!;
    tokens.recordUsageSync(r, 12, 0); // 2 in debt
    expect(gate.tryReserveSync(1)).toBe(false);
    expect([rows.available(), tokens.available(), gate.held()]).toEqual([10, 0, 0]);
    tokens.refill(); // reset: capacity minus the debt
    expect(tokens.available()).toBe(8);
    expect(gate.tryReserveSync(8)).toBe(true);
    expect(gate.tryReserveSync(1)).toBe(false);
    expect(rows.available()).toBe(2);
  });

  it('cost 2^53−1 on the pair: reserved, released, and a second release is an over-release', () => {
    const rows = new AtomicBudget(MAX);
    const tokens = new AtomicTokenBudget(MAX);
    const gate = allOf({ rows, tokens });
    expect(gate.tryReserveSync(MAX)).toBe(true);
    expect(gate.tryReserveSync(1)).toBe(false);
    expect(state(gate)).toEqual({ held: MAX, overReleased: 0, available: 0 });
    gate.releaseSync(MAX);
    gate.releaseSync(MAX);
    expect(state(gate)).toEqual({ held: 0, overReleased: MAX, available: MAX });
    expect([rows.overReleased(), tokens.overReleased()]).toEqual([0, 0]);
  });

  it('a cost above a member capacity is denied without touching anything', () => {
    const { rows, tokens, gate } = headline(10, 100);
    expect(gate.tryReserveSync(11)).toBe(false);
    expect(gate.tryReserveSync(101)).toBe(false);
    expect([rows.available(), tokens.available(), rows.held(), tokens.reserved()]).toEqual([
      10, 100, 0, 0,
    ]);
  });

  it('releases are capped at what the all-of holds (both orders of the pair)', () => {
    for (const order of ['rows-first', 'tokens-first'] as const) {
      const rows = new AtomicBudget(10);
      const tokens = new AtomicTokenBudget(100);
      const gate = order === 'rows-first' ? allOf([rows, tokens]) : allOf([tokens, rows]);
      expect(gate.tryReserveSync(3)).toBe(true);
      // someone else holds rows through the count API directly
      expect(rows.tryReserveSync(2)).toBe(true);
      gate.releaseSync(5);
      expect(state(gate)).toEqual({ held: 0, overReleased: 2, available: 8 });
      expect([rows.available(), tokens.available()]).toEqual([8, 100]);
    }
  });

  it('reset refill between reserve and release: a strict token member throws, rows are still released, the release counts as done', () => {
    const rows = new AtomicBudget(10);
    const tokens = new AtomicTokenBudget(100, { strict: true });
    const gate = allOf({ rows, tokens });
    expect(gate.tryReserveSync(4)).toBe(true);
    tokens.refill(); // reset: forgets the 4
    const e = errorOf(() => gate.releaseSync(4));
    expect(e).toBeInstanceOf(BudgetError);
    expect((e as BudgetError).code).toBe('OVER_RELEASE');
    expect([rows.available(), tokens.available(), gate.held()]).toEqual([10, 100, 0]);
    expect(tokens.overReleased()).toBe(0);
  });

  it('reset refill, strict member first: the second member is still released', () => {
    const rows = new AtomicBudget(10, { strict: true });
    const tokens = new AtomicTokenBudget(100);
    const gate = allOf([rows, tokens]);
    expect(gate.tryReserveSync(4)).toBe(true);
    rows.refill();
    const e = errorOf(() => gate.releaseSync(4));
    expect((e as BudgetError).code).toBe('OVER_RELEASE');
    expect([rows.available(), tokens.available(), gate.held()]).toEqual([10, 100, 0]);
  });

  it('reset refill, non-strict: the member counts its own over-release; carry keeps the hold', () => {
    const rows = new AtomicBudget(10, { refillPolicy: 'carry' });
    const tokens = new AtomicTokenBudget(100);
    const gate = allOf({ rows, tokens });
    expect(gate.tryReserveSync(4)).toBe(true);
    rows.refill();
    tokens.refill();
    expect([rows.available(), tokens.available()]).toEqual([6, 100]);
    gate.releaseSync(4);
    expect([
      rows.available(),
      tokens.available(),
      tokens.overReleased(),
      rows.overReleased(),
    ]).toEqual([10, 100, 4, 0]);
    expect(state(gate)).toEqual({ held: 0, overReleased: 0, available: 10 });
  });

  it('observers see the same events as through the guard view, and one that throws changes nothing', () => {
    const events: BudgetEvent[] = [];
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      const rows = new AtomicBudget(10, {
        observer: () => {
          throw new Error('observer down');
        },
      });
      const tokens = new AtomicTokenBudget(5, { observer: (e) => events.push(e), name: 't' });
      const gate = allOf({ rows, tokens });
      expect(gate.tryReserveSync(3)).toBe(true);
      expect(gate.tryReserveSync(3)).toBe(false);
      gate.releaseSync(3);
      expect([rows.available(), tokens.available(), gate.held()]).toEqual([10, 5, 0]);
      expect(events.map((e) => [e.type, (e as { available?: number }).available])).toEqual([
        ['reserve', 2],
        ['deny', 2],
        ['release', 5],
      ]);
    } finally {
      warn.mockRestore();
    }
  });

  it('an observer that re-enters the all-of (reserve inside a member event) keeps all-or-none', () => {
    let reenter = true;
    let gate!: SyncAllOf<'rows' | 'tokens'>;
    const rows = new AtomicBudget(10);
    const tokens = new AtomicTokenBudget(5, {
      observer: (e) => {
        if (e.type === 'deny' && reenter) {
          reenter = false;
          gate.tryReserveSync(1); // re-enters while the outer reservation is being rolled back
        }
      },
    });
    gate = allOf({ rows, tokens });
    expect(gate.tryReserveSync(6)).toBe(false);
    expect([rows.available(), tokens.available(), gate.held()]).toEqual([9, 4, 1]);
    gate.releaseSync(1);
    expect([rows.available(), tokens.available(), gate.held()]).toEqual([10, 5, 0]);
  });

  it('a member shared by two all-ofs: each caps its releases at its own hold', () => {
    const rows = new AtomicBudget(10);
    const a = allOf([rows, new AtomicTokenBudget(100)]);
    const b = allOf([rows, new AtomicBudget(100), new AtomicTokenBudget(100)]);
    expect(a.tryReserveSync(4)).toBe(true);
    expect(b.tryReserveSync(5)).toBe(true);
    expect(a.tryReserveSync(2)).toBe(false);
    a.releaseSync(9); // only 4 of it is a's
    expect([rows.available(), a.held(), a.overReleased(), b.held()]).toEqual([5, 0, 5, 5]);
    b.releaseSync(5);
    expect(rows.available()).toBe(10);
  });

  it('nested: an all-of inside an all-of and inside an any-of', () => {
    const rows = new AtomicBudget(10);
    const tokens = new AtomicTokenBudget(20);
    const inner = allOf({ rows, tokens });
    const outer = allOf({ inner, extra: new AtomicBudget(6) });
    expect(outer.tryReserveSync(6)).toBe(true);
    expect(outer.tryReserveSync(1)).toBe(false);
    expect([rows.available(), tokens.available(), inner.held()]).toEqual([4, 14, 6]);
    outer.releaseSync(6);
    expect([rows.available(), tokens.available(), inner.held(), outer.held()]).toEqual([
      10, 20, 0, 0,
    ]);
    const either = anyOf([inner, new AtomicBudget(3)]);
    const p = either.tryAcquireSync(8);
    expect(p?.member).toBe(0);
    expect([rows.available(), tokens.available()]).toEqual([2, 12]);
    p?.releaseSync();
    expect([rows.available(), tokens.available()]).toEqual([10, 20]);
  });

  it('waiting(allOf(...)): a count release through the all-of wakes a waiter', async () => {
    const rows = new AtomicBudget(4);
    const tokens = new AtomicTokenBudget(40);
    const gate = allOf({ rows, tokens });
    const line = waiting(gate);
    expect(line.tryReserveSync(4)).toBe(true);
    const pending = line.acquire(3);
    await Promise.resolve();
    expect(line.pending).toBe(1);
    gate.releaseSync(4); // directly on the all-of, not through the line
    const permit = await pending;
    expect([rows.available(), tokens.available()]).toEqual([1, 37]);
    permit.releaseSync();
    expect([rows.available(), tokens.available()]).toEqual([4, 40]);
    line.close();
  });

  it('fixed charges (`charge`): release must match a reservation; others are over-releases', () => {
    const rows = new AtomicBudget(3);
    const tokens = new AtomicTokenBudget(100);
    const gate = allOf({ rows, tokens }, { charge: { rows: 1 } });
    expect(gate.tryReserveSync(40)).toBe(true);
    expect(gate.tryReserveSync(30)).toBe(true);
    expect([rows.available(), tokens.available(), gate.held()]).toEqual([1, 30, 70]);
    gate.releaseSync(35); // matches nothing
    expect(state(gate)).toEqual({ held: 70, overReleased: 35, available: 30 });
    gate.releaseSync(40);
    expect([rows.available(), tokens.available(), gate.held()]).toEqual([2, 70, 30]);
    expect(gate.tryReserveSync(0)).toBe(true);
    expect(rows.available()).toBe(2);
  });

  it('a member that throws after charging is rolled back (probed), one that throws before is not', () => {
    class After implements SyncBudgetGuard {
      armed = true;
      constructor(readonly inner: AtomicBudget) {}
      get capacity() {
        return this.inner.capacity;
      }
      available() {
        return this.inner.available();
      }
      tryReserveSync(cost: number) {
        const ok = this.inner.tryReserveSync(cost);
        if (this.armed) throw new Error('hook failed after charging');
        return ok;
      }
      releaseSync(cost: number) {
        this.inner.releaseSync(cost);
      }
      tryAcquireSync(cost: number) {
        return this.inner.tryAcquireSync(cost);
      }
      async tryAcquire(cost: number) {
        return this.inner.tryAcquireSync(cost);
      }
      async tryReserve(cost: number) {
        return this.tryReserveSync(cost);
      }
      async release(cost: number) {
        this.releaseSync(cost);
      }
    }
    for (const at of [1, 2]) {
      const rows = new AtomicBudget(10);
      const tokens = new AtomicTokenBudget(100);
      const inner = new AtomicBudget(10);
      const members: SyncBudgetGuard[] = [rows, tokenGuard(tokens)];
      members.splice(at, 0, new After(inner));
      const gate = allOf(members);
      const e = errorOf(() => gate.tryReserveSync(4));
      expect((e as BudgetError).code).toBe('BACKEND');
      expect([rows.available(), tokens.available(), inner.available(), gate.held()]).toEqual([
        10, 100, 10, 0,
      ]);
    }
  });

  it('core: a token budget in debt denies every cost above 0 and reports available 0', () => {
    const events: BudgetEvent[] = [];
    const tokens = new AtomicTokenBudget(10, { observer: (e) => events.push(e) });
    const r = tokens.tryReserveTokensSync(10)!;
    tokens.recordUsageSync(r, 13, 0);
    events.length = 0;
    expect(tokens.tryReserveSync(1)).toBe(false);
    expect(tokens.tryReserveSync(0)).toBe(true);
    expect(events.map((e) => [e.type, (e as { available?: number }).available])).toEqual([
      ['deny', 0],
      ['reserve', 0],
    ]);
    expect([tokens.debt(), tokens.reserved()]).toEqual([3, 0]);
  });

  it('core: strict over-release throws and changes nothing (both budgets)', () => {
    const a = new AtomicBudget(10, { strict: true });
    const t = new AtomicTokenBudget(10, { strict: true });
    for (const b of [a, t]) {
      expect(b.tryReserveSync(3)).toBe(true);
      const e = errorOf(() => b.releaseSync(4));
      expect((e as BudgetError).code).toBe('OVER_RELEASE');
      expect([b.available(), b.overReleased()]).toEqual([7, 0]);
      b.releaseSync(3);
      expect(b.available()).toBe(10);
    }
  });
});
