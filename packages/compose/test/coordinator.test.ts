import {
  AtomicBudget,
  AtomicTokenBudget,
  BudgetError,
  type BudgetPermit,
  type PermitBudgetGuard,
  slidingWindow,
  type TokenBudget,
  type TokenReservation,
  tokenBucket,
} from '@budgetry/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allOf } from '../src/all-of/all-of.js';
import { anyOf } from '../src/any-of/any-of.js';
import { coordinator } from '../src/coordinator/coordinator.js';
import type { Dispatch } from '../src/coordinator/dispatch.js';
import { hierarchy } from '../src/hierarchy/hierarchy.js';
import { lazyRefill } from '../src/refill/lazy-refill.js';
import { waiting } from '../src/waiting/waiter-queue.js';
import { remoteGuard } from './helpers/remote-guard.js';
import { TestClock } from './helpers/test-clock.js';

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (error) {
    return BudgetError.isInstance(error) ? error.code : 'not a BudgetError';
  }
  return undefined;
};

const setup = () => {
  const requests = new AtomicBudget(10);
  const tokens = new AtomicTokenBudget(10_000);
  const usd = new AtomicTokenBudget(50_000);
  const llm = coordinator({ requests, tokens, usd_micros: usd });
  return { requests, tokens, usd, llm };
};

describe('coordinator: behaviour', () => {
  it('reserves every dimension and reconciles each with actual usage, debt exact', () => {
    const { requests, tokens, usd, llm } = setup();
    const d = llm.tryReserveSync({ requests: 1, tokens: 1_200, usd_micros: 3_000 });
    expect(d.ok).toBe(true);
    expect([requests.available(), tokens.available(), usd.available()]).toEqual([9, 8_800, 47_000]);
    if (!d.ok) return;
    expect(d.permit.settleSync({ tokens: 950, usd_micros: 2_100 })).toEqual({
      shortfall: {},
      overcharge: {},
    });
    expect([requests.available(), tokens.available(), usd.available()]).toEqual([9, 9_050, 47_900]);
    expect(tokens.tokensConsumedSync()).toBe(950);

    const over = llm.tryReserveSync({ tokens: 9_000 });
    if (!over.ok) throw new Error('expected a dispatch');
    over.permit.settleSync({ tokens: 9_100 }); // 50 beyond what was left: owed
    expect([tokens.available(), tokens.debt()]).toEqual([0, 50]);
  });

  it('denies naming the dimension, with nothing charged anywhere, and the retry hint', () => {
    const clock = new TestClock();
    const requests = new AtomicBudget(10);
    const daily = lazyRefill(new AtomicTokenBudget(1_000), { intervalMs: 86_400_000, clock });
    const llm = coordinator({ requests, usd_micros: daily });
    clock.advance(86_000_000);
    expect(llm.tryReserveSync({ usd_micros: 800 }).ok).toBe(true);
    expect(requests.available()).toBe(10);
    expect(llm.tryReserveSync({ requests: 1, usd_micros: 400 })).toEqual({
      ok: false,
      deniedBy: 'usd_micros',
      retryAfterMs: 400_000,
    });
    expect(requests.available()).toBe(10);
  });

  it('refunds everything on cancel or dispose, exactly once', () => {
    const { requests, tokens, usd, llm } = setup();
    const d = llm.tryReserveSync({ requests: 2, tokens: 500, usd_micros: 100 });
    if (!d.ok) throw new Error('expected a dispatch');
    expect(d.permit.cancelSync()).toBe(true);
    expect(d.permit.cancelSync()).toBe(false);
    expect(codeOf(() => d.permit.settleSync({}))).toBe('ALREADY_SETTLED');
    {
      const e = llm.tryReserveSync({ tokens: 700 });
      if (!e.ok) throw new Error('expected a dispatch');
      using held = e.permit;
      expect(held.state).toBe('held');
    }
    expect([requests.available(), tokens.available(), usd.available()]).toEqual([
      10, 10_000, 50_000,
    ]);
  });

  it('keeps only what a guard dimension used and reports overage it cannot take', () => {
    const rows = new AtomicBudget(10);
    const c = coordinator({ rows });
    const d = c.tryReserveSync({ rows: 6 });
    if (!d.ok) throw new Error('expected a dispatch');
    d.permit.settleSync({ rows: 4 });
    expect(rows.available()).toBe(6);
    const e = c.tryReserveSync({ rows: 5 });
    if (!e.ok) throw new Error('expected a dispatch');
    expect(e.permit.settleSync({ rows: 8 })).toEqual({ shortfall: { rows: 2 }, overcharge: {} });
    expect(rows.available()).toBe(0);
  });

  it('settles nothing twice and validates usage before changing anything', () => {
    const { tokens, llm } = setup();
    const d = llm.tryReserveSync({ tokens: 100 });
    if (!d.ok) throw new Error('expected a dispatch');
    expect(codeOf(() => d.permit.settleSync({ tokens: -1 }))).toBe('INVALID_AMOUNT');
    expect(codeOf(() => d.permit.settleSync({ requests: 1 }))).toBe('INVALID_ARGUMENT');
    expect(d.permit.state).toBe('held');
    d.permit.settleSync({ tokens: 40 });
    expect(codeOf(() => d.permit.settleSync({ tokens: 40 }))).toBe('ALREADY_SETTLED');
    expect(tokens.available()).toBe(9_960);
  });

  it('adds the tenant’s budget per dispatch with with()', () => {
    const { requests, llm } = setup();
    const tenants = hierarchy({ capacity: 1_000, children: { capacity: 2 } });
    const acme = llm.with({ tenant: tenants.child('acme') });
    expect(acme.tryReserveSync({ requests: 1, tenant: 2 }).ok).toBe(true);
    expect(acme.tryReserveSync({ requests: 1, tenant: 1 })).toEqual({
      ok: false,
      deniedBy: 'tenant',
    });
    expect(requests.available()).toBe(9);
    expect(codeOf(() => llm.with({ tokens: new AtomicBudget(1) }))).toBe('INVALID_ARGUMENT');
  });

  it('rejects bad dimensions and estimates with nothing charged', () => {
    const { requests, llm } = setup();
    const a = new AtomicBudget(1);
    expect(codeOf(() => coordinator({}))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => coordinator({ a, b: a }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => coordinator({ a: 3 as never }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => llm.tryReserveSync({ requests: 1, rpm: 1 } as never))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(codeOf(() => llm.tryReserveSync({ requests: 1, tokens: 1.5 }))).toBe('INVALID_AMOUNT');
    expect(requests.available()).toBe(10);
  });
});

describe('coordinator: run', () => {
  it('reserves, runs, and settles with the usage the function reports', async () => {
    const { tokens, llm } = setup();
    const out = await llm.run({ requests: 1, tokens: 1_000 }, async () => ({
      value: 'answer',
      usage: { tokens: 600 },
    }));
    expect(out).toEqual({ ok: true, value: 'answer', report: { shortfall: {}, overcharge: {} } });
    expect(tokens.available()).toBe(9_400);
  });

  it('refunds everything when the function throws, and rethrows', async () => {
    const { requests, tokens, llm } = setup();
    await expect(
      llm.run({ requests: 1, tokens: 1_000 }, async () => {
        throw new Error('provider down');
      }),
    ).rejects.toThrow('provider down');
    expect([requests.available(), tokens.available()]).toEqual([10, 10_000]);
  });

  it('charges nothing for an aborted signal and refunds a run aborted midway', async () => {
    const { requests, tokens, llm } = setup();
    await expect(
      llm.run({ requests: 1 }, async () => ({ value: 1 }), { signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({ code: 'ABORTED' });
    const controller = new AbortController();
    let started!: () => void;
    const didStart = new Promise<void>((r) => {
      started = r;
    });
    const running = llm.run(
      { requests: 1, tokens: 500 },
      (signal) =>
        new Promise<never>((_, reject) => {
          signal?.addEventListener('abort', () => reject(signal.reason));
          started();
        }),
      { signal: controller.signal },
    );
    await didStart;
    expect(tokens.available()).toBe(9_500);
    controller.abort(new Error('user cancelled'));
    await expect(running).rejects.toThrow('user cancelled');
    expect([requests.available(), tokens.available()]).toEqual([10, 10_000]);
  });

  it('says a cost above what a dimension could ever grant exceeds its capacity, a hierarchy path included', () => {
    const tree = hierarchy({ capacity: 10, children: { capacity: 100 } });
    const tokens = new AtomicTokenBudget(1_000);
    const llm = coordinator({ tokens, tenant: tree.child('acme') });
    // The tenant's own capacity is 100, but its parent's 10 bounds it.
    expect(llm.tryReserveSync({ tokens: 5, tenant: 50 })).toEqual({
      ok: false,
      deniedBy: 'tenant',
      exceedsCapacity: true,
    });
    expect(tokens.available()).toBe(1_000);
    // A cost that fits, denied for want of room now, carries no such flag.
    const held = llm.tryReserveSync({ tenant: 8 });
    expect(held.ok).toBe(true);
    expect(llm.tryReserveSync({ tenant: 5 })).toEqual({ ok: false, deniedBy: 'tenant' });
  });

  it('returns the denial without running the function', async () => {
    const { llm } = setup();
    let ran = false;
    const out = await llm.run({ requests: 11 }, async () => {
      ran = true;
      return { value: 0 };
    });
    expect(out).toEqual({ ok: false, deniedBy: 'requests', exceedsCapacity: true });
    expect(ran).toBe(false);
  });
});

describe('coordinator: properties', () => {
  it('matches a model: all-or-nothing reservations, exact reconciliation per dimension', () => {
    fc.assert(
      fc.property(
        fc.nat(20),
        fc.nat(200),
        fc.array(
          fc.oneof(
            fc.record({
              kind: fc.constant('reserve' as const),
              rows: fc.nat(8),
              tokens: fc.nat(80),
            }),
            fc.record({
              kind: fc.constant('settle' as const),
              index: fc.nat(20),
              rows: fc.nat(10),
              tokens: fc.nat(120),
            }),
            fc.record({ kind: fc.constant('cancel' as const), index: fc.nat(20) }),
          ),
          { maxLength: 50 },
        ),
        (rowCap, tokenCap, ops) => {
          const rows = new AtomicBudget(rowCap);
          const tokens = new AtomicTokenBudget(tokenCap);
          const c = coordinator({ rows, tokens });
          let rowsAvail = rowCap;
          let net = tokenCap; // available − debt
          const open: { d: Dispatch<'rows' | 'tokens'>; rows: number; tokens: number }[] = [];
          for (const op of ops) {
            if (op.kind === 'reserve') {
              const fits = op.rows <= rowsAvail && op.tokens <= Math.max(net, 0);
              const r = c.tryReserveSync({ rows: op.rows, tokens: op.tokens });
              expect(r.ok).toBe(fits);
              if (r.ok) {
                rowsAvail -= op.rows;
                net -= op.tokens;
                open.push({ d: r.permit, rows: op.rows, tokens: op.tokens });
              } else {
                expect(r.deniedBy).toBe(op.rows > rowsAvail ? 'rows' : 'tokens');
              }
            } else {
              const x = open[op.index];
              if (x?.d.state !== 'held') continue;
              if (op.kind === 'cancel') {
                x.d.cancelSync();
                rowsAvail += x.rows;
                net += x.tokens;
              } else {
                const report = x.d.settleSync({ rows: op.rows, tokens: op.tokens });
                // Rows: keep what was used; overage only as far as there is room.
                const extra = Math.max(0, op.rows - x.rows);
                const taken = op.rows <= x.rows ? op.rows : x.rows + Math.min(extra, rowsAvail);
                rowsAvail += x.rows - taken;
                expect(report.shortfall.rows ?? 0).toBe(op.rows - taken);
                // Tokens: exact, debt included.
                net += x.tokens - op.tokens;
              }
            }
            expect(rows.available()).toBe(rowsAvail);
            expect(tokens.available()).toBe(Math.max(net, 0));
            expect(tokens.debt()).toBe(Math.max(-net, 0));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('under interleavings of remote dimensions, everything comes back after cancel', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.nat(10),
        fc.nat(100),
        fc.array(fc.tuple(fc.nat(5), fc.nat(60), fc.boolean()), { minLength: 1, maxLength: 8 }),
        async (s, rowCap, tokenCap, ops) => {
          const hop = () => s.schedule(Promise.resolve('hop'));
          const rowsInner = new AtomicBudget(rowCap);
          const tokensInner = new AtomicTokenBudget(tokenCap);
          const rows: PermitBudgetGuard = {
            async tryAcquire(cost): Promise<BudgetPermit | null> {
              await hop();
              return rowsInner.tryAcquireSync(cost);
            },
            tryReserve: async (cost) => rowsInner.tryReserveSync(cost),
            release: async (cost) => rowsInner.releaseSync(cost),
          };
          const tokens: TokenBudget = {
            async tryReserveTokens(estimate): Promise<TokenReservation | null> {
              await hop();
              return tokensInner.tryReserveTokensSync(estimate);
            },
            async recordUsage(r, p, cpl) {
              await hop();
              tokensInner.recordUsageSync(r, p, cpl);
            },
            tokensConsumed: async () => tokensInner.tokensConsumedSync(),
          };
          const c = coordinator({ rows, tokens });
          const tasks = ops.map(async ([r, t, cancel]) => {
            const d = await c.tryReserve({ rows: r, tokens: t });
            if (!d.ok) return;
            expect(rowCap - rowsInner.available()).toBeLessThanOrEqual(rowCap);
            if (cancel) await d.permit.cancel();
            else await d.permit.settle({ rows: r, tokens: t });
          });
          await s.waitFor(Promise.all(tasks));
          // Every dispatch either cancelled (all back) or settled at its estimate (spent).
          const spentRows = ops.reduce((a, [r], i) => a + (ops[i]![2] ? 0 : r), 0);
          expect(rowsInner.available()).toBeGreaterThanOrEqual(Math.max(0, rowCap - spentRows));
          expect(tokensInner.available() + tokensInner.tokensConsumedSync()).toBe(tokenCap);
          expect(tokensInner.debt()).toBe(0);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('composition', () => {
  it('nests: a coordinator over an all-of, an any-of and a tenant node stays synchronous', () => {
    const clock = new TestClock();
    const tenants = hierarchy({ capacity: 100, children: { capacity: 10 } });
    const keys = anyOf({ primary: new AtomicBudget(2), fallback: new AtomicBudget(2) });
    const slots = allOf([
      new AtomicBudget(3),
      lazyRefill({ capacity: 3 }, { intervalMs: 1_000, clock }),
    ]);
    const c = coordinator({ keys, slots }).with({ tenant: tenants.child('acme') });
    const held: Dispatch<'keys' | 'slots' | 'tenant'>[] = [];
    for (let i = 0; i < 3; i++) {
      const d = c.tryReserveSync({ keys: 1, slots: 1, tenant: 3 });
      if (d.ok) held.push(d.permit);
    }
    expect(held.length).toBe(3);
    expect(c.tryReserveSync({ keys: 1, slots: 1, tenant: 1 })).toEqual({
      ok: false,
      deniedBy: 'slots',
    });
    expect(tenants.held()).toBe(9);
    for (const d of held) d.cancelSync();
    expect([keys.available(), slots.available(), tenants.held()]).toEqual([2, 3, 0]);
  });
});

describe('coordinator: members that refuse or fail', () => {
  it('rolls back every dimension when a remote one fails and another throws on release', async () => {
    const a = new AtomicBudget(10);
    const b = new AtomicBudget(10);
    const c = new AtomicBudget(10);
    const llm = coordinator({
      a: remoteGuard(a, { throwOnRelease: true }),
      b,
      c: remoteGuard(c, { rejectAcquire: true }),
    });
    await expect(llm.tryReserve({ a: 1, b: 1, c: 1 })).rejects.toMatchObject({ code: 'BACKEND' });
    expect(b.available()).toBe(10);
  });

  it('reports overage as shortfall when the guard refuses it despite available()', async () => {
    const slots = new AtomicBudget(10);
    const line = waiting(slots);
    const llm = coordinator({ slots: line });
    const d = llm.tryReserveSync({ slots: 5 });
    if (!d.ok) throw new Error('denied');
    const queued = line.acquire(6); // 5 free, but a waiter is in line: nobody may barge
    const report = d.permit.settleSync({ slots: 8 });
    expect(report.shortfall).toEqual({ slots: 3 });
    expect(slots.available()).toBe(5); // the 3 over were not charged
    line.close();
    await expect(queued).rejects.toMatchObject({ code: 'CLOSED' });
  });
});

describe('names that collide with Object.prototype', () => {
  it('builds an all-of over members named constructor, toString and __proto__', () => {
    const budgets = [new AtomicBudget(5), new AtomicBudget(5), new AtomicBudget(5)] as const;
    const members = { constructor: budgets[0], toString: budgets[1], ['__proto__']: budgets[2] };
    const all = allOf(members);
    const d = all.tryAcquireEachSync({ constructor: 2, toString: 3 });
    expect(d.ok).toBe(true);
    expect(budgets.map((m) => m.available())).toEqual([3, 2, 5]);
  });

  it('settles a coordinator whose dimensions have those names, reporting shortfall as own keys', () => {
    const proto = new AtomicBudget(10);
    const dims = {
      constructor: new AtomicTokenBudget(100),
      toString: new AtomicBudget(4),
      ['__proto__']: proto,
    };
    const c = coordinator(dims);
    const d = c.tryReserveSync({ constructor: 40, toString: 4, ['__proto__']: 4 });
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    const report = d.permit.settleSync({ constructor: 30, toString: 6 });
    // The guard is full: it cannot take the 2 over its estimate, reported as an own key.
    expect(Object.hasOwn(report.shortfall, 'toString')).toBe(true);
    expect((report.shortfall as Record<string, number>).toString).toBe(2);
    expect(dims.constructor.tokensConsumedSync()).toBe(30);
    expect(proto.available()).toBe(6); // left out of usage: settled at its estimate
  });
});

describe('run: what the function returns', () => {
  const make = () => {
    const tokens = new AtomicTokenBudget(1_000);
    const rows = new AtomicBudget(10);
    return { tokens, rows, c: coordinator({ tokens, rows }) };
  };

  it('rejects a non-function with INVALID_ARGUMENT before reserving anything', async () => {
    const { c, tokens, rows } = make();
    await expect(c.run({ tokens: 100 }, 42 as never)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    expect([tokens.available(), rows.available()]).toEqual([1_000, 10]);
  });

  it('settles a bare return value at the estimate and says the shape was wrong', async () => {
    const { c, tokens } = make();
    await expect(c.run({ tokens: 100 }, async () => 'answer' as never)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    expect([tokens.available(), tokens.tokensConsumedSync()]).toEqual([900, 100]);
  });

  for (const [what, usage, code] of [
    ['a negative amount', { tokens: -1 }, 'INVALID_AMOUNT'],
    ['an unknown dimension', { bogus: 5 }, 'INVALID_ARGUMENT'],
    ['null usage', null, 'INVALID_ARGUMENT'],
  ] as const) {
    it(`settles at the estimate, never leaves the dispatch held, on ${what}`, async () => {
      const { c, tokens, rows } = make();
      let dispatch: Dispatch<'tokens' | 'rows'> | undefined;
      await expect(
        c.run({ tokens: 100, rows: 2 }, async (_signal, d) => {
          dispatch = d;
          return { value: 'x', usage: usage as never };
        }),
      ).rejects.toMatchObject({ code });
      expect(dispatch?.state).toBe('settled');
      expect([tokens.available(), tokens.tokensConsumedSync(), rows.available()]).toEqual([
        900, 100, 8,
      ]);
    });
  }
});

describe('settling under the estimate: a partial commit, never release and re-acquire', () => {
  it('over a waiting line, the used units stay charged and a waiter gets only what came back', async () => {
    const rows = new AtomicBudget(10, { leakBackstop: false });
    const line = waiting(rows);
    const c = coordinator({ rows: line });
    const d = c.tryReserveSync({ rows: 10 });
    if (!d.ok) throw new Error('denied');
    const waiter = line.acquire(8); // queues: nothing free
    d.permit.settleSync({ rows: 4 }); // 4 used, 6 come back: not enough for the waiter
    await Promise.resolve();
    expect([rows.available(), line.pending]).toEqual([6, 1]);
    line.close();
    await expect(waiter).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('over a sliding window, the used units stay where they were taken, not moved to now', () => {
    const clock = new TestClock(0);
    const window = slidingWindow({ limit: 10, windowMs: 1_000, clock });
    const c = coordinator({ requests: window });
    const d = c.tryReserveSync({ requests: 10 });
    if (!d.ok) throw new Error('denied');
    clock.advance(600);
    d.permit.settleSync({ requests: 4 });
    expect(window.available()).toBe(6);
    clock.advance(400); // the grant at 0 slides out: all 10 free again
    expect(window.available()).toBe(10);
  });

  it('over a token bucket, the unused part goes back once, the used part is not charged again', () => {
    const clock = new TestClock(0);
    const bucket = tokenBucket({ burst: 10, rate: 1, clock });
    const c = coordinator({ rpm: bucket });
    const d = c.tryReserveSync({ rpm: 10 });
    if (!d.ok) throw new Error('denied');
    d.permit.settleSync({ rpm: 4 });
    expect(bucket.available()).toBe(6);
  });

  it('behind a wrapper that hides the policy, under carry, the used units of an old-epoch permit stay charged', () => {
    const rows = new AtomicBudget(10, { refillPolicy: 'carry', leakBackstop: false });
    const c = coordinator({ rows: waiting(rows) });
    const d = c.tryReserveSync({ rows: 8 });
    if (!d.ok) throw new Error('denied');
    rows.refill();
    d.permit.settleSync({ rows: 3 });
    expect(rows.available()).toBe(7);
  });

  it('under carry, an old-epoch permit returns its unused part to the current epoch', () => {
    const rows = new AtomicBudget(10, { refillPolicy: 'carry', leakBackstop: false });
    const c = coordinator({ rows });
    const d = c.tryReserveSync({ rows: 8 });
    if (!d.ok) throw new Error('denied');
    rows.refill(); // carry: the 8 move into the new epoch, 2 free
    d.permit.settleSync({ rows: 3 });
    expect(rows.available()).toBe(7);
  });
});
