// Compose over remote members whose calls fail after the server applied them (the answer
// lost) or before it saw them: found by a review that drove coordinators and all-ofs over
// Redis budgets through lost replies. Every retry the errors invite must charge what was used
// once, and answer as the members' own retries do. The members are the in-process stand-ins
// of helpers/lossy-remote.ts, which answer as @budgetry/redis does.
import { AtomicBudget, AtomicTokenBudget, type PermitBudgetGuard } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { allOf } from '../src/all-of/index.js';
import { anyOf } from '../src/any-of/index.js';
import { coordinator } from '../src/coordinator/index.js';
import { tokenGuard } from '../src/token-guard/index.js';
import { waiting } from '../src/waiting/index.js';
import { codeOf } from './helpers/code-of.js';
import { type Fate, LossyGuard, LossyTokens } from './helpers/lossy-remote.js';

const fates: Fate[] = ['unsent', 'lost'];

/** The message `promise` rejects with. */
async function rejection(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'resolved',
    (error: Error) => error.message,
  );
}

describe('a token guard over a remote token budget, whose record failed', () => {
  it('records a dispatch settled again once, whether the first record was applied or not', async () => {
    for (const fate of fates) {
      const t = new LossyTokens(1_000);
      const d = await coordinator({ rq: new AtomicBudget(10), tok: tokenGuard(t) }).tryReserve({
        rq: 1,
        tok: 100,
      });
      if (!d.ok) throw new Error('denied');
      t.faults.next('record', fate);
      expect(await rejection(d.permit.settle({ tok: 80 }))).toMatch(/settle it again to retry/);
      await d.permit.settle({ tok: 80 });
      expect([fate, d.permit.state, t.consumed, t.available()]).toEqual([fate, 'settled', 80, 920]);
    }
  });

  it("commits an all-of's token part on retry, answering as a permit's retry does", async () => {
    for (const [fate, again] of [
      ['unsent', true],
      ['lost', false],
    ] as const) {
      const a = new AtomicBudget(1_000);
      const t = new LossyTokens(1_000);
      const p = (await allOf({ a, t }).tryAcquire(100))!;
      t.faults.next('record', fate);
      await expect(p.commit(80)).rejects.toMatchObject({ code: 'TIMEOUT' });
      expect(await p.commit(80)).toBe(again);
      expect([fate, p.state, t.consumed, a.available()]).toEqual([fate, 'committed', 80, 920]);
    }
  });

  it('releases a permit whose commit was never applied, and keeps one whose commit was', async () => {
    for (const [fate, released, state, consumed, available] of [
      ['unsent', true, 'released', 0, 1_000],
      ['lost', false, 'committed', 80, 920],
    ] as const) {
      const t = new LossyTokens(1_000);
      const p = (await tokenGuard(t).tryAcquire(100))!;
      t.faults.next('record', fate);
      await expect(p.commit(80)).rejects.toMatchObject({ code: 'TIMEOUT' });
      expect(p.state).toBe('held');
      expect(await p.release()).toBe(released);
      expect([fate, p.state, t.consumed, t.available()]).toEqual([
        fate,
        state,
        consumed,
        available,
      ]);
      expect(await p.commit(80)).toBe(false);
    }
  });

  it("is charged by run's fallback when its record never reached the budget", async () => {
    const t = new LossyTokens(1_000);
    t.faults.next('record', 'unsent');
    const run = coordinator({ tok: tokenGuard(t) }).run({ tok: 100 }, async () => ({
      value: 1,
      usage: { tok: 80 },
    }));
    await expect(run).rejects.toMatchObject({ code: 'TIMEOUT', details: { dimension: 'tok' } });
    expect([t.consumed, t.available()]).toEqual([100, 900]); // at its estimate, as run says
  });
});

describe('a remote guard dimension settled over its estimate', () => {
  it('charges the overage once when its commit failed, settled again or cancelled', async () => {
    for (const fate of fates) {
      for (const then of ['settle', 'cancel'] as const) {
        const rows = new LossyGuard(100);
        const tokens = new AtomicTokenBudget(1_000);
        const d = await coordinator({ rows, tokens }).tryReserve({ rows: 10, tokens: 100 });
        if (!d.ok) throw new Error('denied');
        rows.faults.next('commit', 'ok', fate); // the estimate's commit, then the overage's
        expect(await rejection(d.permit.settle({ rows: 15, tokens: 80 }))).toMatch(
          /settle it again to retry/,
        );
        if (then === 'settle') {
          expect(await d.permit.settle({ rows: 15, tokens: 80 })).toEqual({
            shortfall: {},
            overcharge: {},
          });
        } else {
          expect(await d.permit.cancel()).toBe(true);
        }
        // A cancel takes back an overage never committed; one committed stays spent.
        const spent = then === 'cancel' && fate === 'unsent' ? 10 : 15;
        expect([fate, then, rows.server.available(), tokens.tokensConsumedSync()]).toEqual([
          fate,
          then,
          100 - spent,
          80,
        ]);
      }
    }
  });

  it('charges the room there is for the overage and reports the rest', async () => {
    const rows = new LossyGuard(100);
    const d = await coordinator({ rows }).tryReserve({ rows: 90 });
    if (!d.ok) throw new Error('denied');
    expect(await d.permit.settle({ rows: 120 })).toEqual({
      shortfall: { rows: 20 },
      overcharge: {},
    });
    expect(rows.server.available()).toBe(0);
  });
});

describe('an all-of permit over a remote member, settled again after a failure', () => {
  it('answers as the member does: false when the failed attempt was applied', async () => {
    for (const [fate, again] of [
      ['unsent', true],
      ['lost', false],
    ] as const) {
      const a = new AtomicBudget(10);
      const r = new LossyGuard(10);
      const p = (await allOf({ a, r }).tryAcquire(1))!;
      r.faults.next('release', fate);
      await expect(p.release()).rejects.toMatchObject({ code: 'TIMEOUT' });
      expect(p.state).toBe('held');
      expect(await p.release()).toBe(again);
      expect([fate, p.state, a.available(), r.server.available()]).toEqual([
        fate,
        'released',
        10,
        10,
      ]);
    }
  });
});

describe('a token dimension whose record answer was lost', () => {
  it('settles on retry, as the error said, and is recorded once', async () => {
    const t = new LossyTokens(1_000);
    const d = await coordinator({ tok: t }).tryReserve({ tok: 100 });
    if (!d.ok) throw new Error('denied');
    t.faults.next('record', 'lost');
    expect(await rejection(d.permit.settle({ tok: 80 }))).toMatch(/settle it again to retry/);
    expect(await d.permit.settle({ tok: 80 })).toEqual({ shortfall: {}, overcharge: {} });
    expect([d.permit.state, t.consumed, t.available()]).toEqual(['settled', 80, 920]);
  });

  it("makes run's error say it cannot tell what the failed attempt settled", async () => {
    const t = new LossyTokens(1_000);
    t.faults.next('record', 'lost');
    const run = coordinator({ tok: t }).run({ tok: 100 }, async () => ({
      value: 1,
      usage: { tok: 80 },
    }));
    const message = await rejection(run);
    expect(message).toMatch(/at its estimate, unless the attempt that failed was applied/);
    expect(message).not.toMatch(/released/);
    expect([t.consumed, t.available()]).toEqual([80, 920]); // at its usage: the lost write
  });
});

describe('two handles that declare one identity', () => {
  const identity = Symbol.for('budgetry.identity');
  /** A remote guard handle naming the budget it charges, as Redis budgets and nodes do. */
  function handle(id: string): PermitBudgetGuard {
    return Object.assign(new LossyGuard(10), { [identity]: id });
  }
  /** The same, for an in-process guard (one a waiting line can wrap). */
  function local(id: string): AtomicBudget {
    return Object.assign(new AtomicBudget(10), { [identity]: id });
  }
  /** The same, for a remote token budget. */
  function tokens(id: string): LossyTokens {
    return Object.assign(new LossyTokens(10), { [identity]: id });
  }

  it('are refused as one budget given twice, through wrappers and combinators too', () => {
    expect(codeOf(() => coordinator({ n1: handle('x'), n2: handle('y') }))).toBe('accepted');
    const refused = [
      () => coordinator({ n1: handle('x'), n2: handle('x') }),
      () => coordinator({ n1: handle('x') }).with({ n2: handle('x') }),
      () => coordinator({ n1: handle('x'), z: allOf({ n2: handle('x'), a: new AtomicBudget(1) }) }),
      () => coordinator({ n1: waiting(local('s')), n2: local('s') }),
      () => allOf([handle('x'), handle('x')]),
      () => anyOf([handle('x'), handle('x')]),
      () => coordinator({ a: tokens('t'), b: tokenGuard(tokens('t')) }),
    ];
    expect(refused.map(codeOf)).toEqual(refused.map(() => 'INVALID_ARGUMENT'));
  });
});
