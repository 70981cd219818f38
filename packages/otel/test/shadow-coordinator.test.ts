import { coordinator } from '@budgetry/compose';
import { AtomicBudget, AtomicTokenBudget, BudgetError } from '@budgetry/core';
import { Auditor } from '@budgetry/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ShadowEvent, shadowCoordinator } from '../src/index.js';

function setup(requests = 2, tokens = 1_000) {
  const budgets = { requests: new AtomicBudget(requests), tokens: new AtomicTokenBudget(tokens) };
  const events: ShadowEvent[] = [];
  const llm = shadowCoordinator(coordinator(budgets), {
    name: 'limits',
    observer: (e) => events.push(e),
  });
  return { budgets, events, llm };
}

describe('shadowCoordinator', () => {
  it('runs a denied dispatch anyway, charging no dimension, and reports what it used', async () => {
    const { budgets, events, llm } = setup();
    let runs = 0;
    const out = await llm.run({ requests: 1, tokens: 1_500 }, async () => {
      runs++;
      return { value: 'answer', usage: { tokens: 1_200 } };
    });
    expect(out).toEqual({ ok: true, value: 'answer', report: { shortfall: {}, overcharge: {} } });
    expect(runs).toBe(1);
    expect(budgets.requests.available()).toBe(2); // rolled back: all or nothing
    expect(budgets.tokens.available()).toBe(1_000);
    expect(events).toEqual([
      {
        type: 'dispatch-pass',
        shadow: 'limits',
        estimate: { requests: 1, tokens: 1_500 },
        reason: 'denied',
        deniedBy: 'tokens',
        exceedsCapacity: true,
      },
      {
        type: 'dispatch-settle',
        shadow: 'limits',
        estimate: { requests: 1, tokens: 1_500 },
        used: { requests: 1, tokens: 1_200 },
      },
    ]);
  });

  it('is the coordinator itself for dispatches it admits', async () => {
    const { budgets, events, llm } = setup();
    const out = await llm.run({ requests: 1, tokens: 500 }, async () => ({
      value: 1,
      usage: { tokens: 650 },
    }));
    expect(out.ok).toBe(true);
    expect(events).toEqual([]);
    expect(budgets.tokens.tokensConsumedSync()).toBe(650);
    expect(budgets.tokens.available()).toBe(350);
  });

  it('hands out a phantom dispatch that settles once and validates usage as a real one', () => {
    const { budgets, events, llm } = setup(0);
    const d = llm.tryReserveSync({ requests: 1, tokens: 10 });
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    const dispatch = d.permit;
    expect(() => dispatch.settleSync({ rows: 1 } as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => dispatch.settleSync({ tokens: -1 })).toThrow(
      expect.objectContaining({ code: 'INVALID_AMOUNT' }),
    );
    expect(dispatch.state).toBe('held');
    dispatch.settleSync({ tokens: 7 });
    expect(() => dispatch.settleSync({})).toThrow(
      expect.objectContaining({ code: 'ALREADY_SETTLED' }),
    );
    expect(dispatch.cancelSync()).toBe(false);
    expect(events.map((e) => e.type)).toEqual(['dispatch-pass', 'dispatch-settle']);
    expect(events[1]).toMatchObject({ used: { requests: 1, tokens: 7 } });
    expect(budgets.tokens.available()).toBe(1_000);
  });

  it('settles a phantom dispatch at the estimate it was given, however that object changes after', () => {
    const { events, llm } = setup(0);
    const estimate: Record<string, number> = { requests: 1, tokens: 10 };
    const d = llm.tryReserveSync(estimate);
    estimate['tokens'] = 999; // the caller reuses its object
    estimate['rows'] = 5;
    if (!d.ok) throw new Error('a shadow never denies');
    d.permit.settleSync({});
    expect(events.map((e) => 'used' in e && e.used)).toEqual([false, { requests: 1, tokens: 10 }]);
  });

  it('reports a cancelled phantom dispatch as using nothing', async () => {
    const { events, llm } = setup(0);
    const d = await llm.tryReserve({ requests: 1 });
    if (d.ok) await d.permit.cancel();
    expect(events.at(-1)).toEqual({
      type: 'dispatch-settle',
      shadow: 'limits',
      estimate: { requests: 1 },
      used: { requests: 0 },
    });
  });

  it('runs the work once, on a phantom dispatch, when a dimension throws while reserving', async () => {
    const broken = new AtomicBudget(10);
    const down = new BudgetError({ code: 'BACKEND', message: 'down' });
    broken.tryAcquire = async () => {
      throw down;
    };
    const events: ShadowEvent[] = [];
    const llm = shadowCoordinator(coordinator({ broken }), {
      name: 'limits',
      observer: (e) => events.push(e),
    });
    let runs = 0;
    const out = await llm.run({ broken: 1 }, async () => {
      runs++;
      return { value: 'ok' };
    });
    expect(out).toMatchObject({ ok: true, value: 'ok' });
    expect(runs).toBe(1);
    expect(events[0]).toMatchObject({ type: 'dispatch-pass', reason: 'failed' });
  });

  it('returns the result when the policy fails to settle work that ran, running it once', async () => {
    const tokens = new AtomicTokenBudget(100);
    const down = new BudgetError({ code: 'BACKEND', message: 'down' });
    tokens.recordUsageSync = () => {
      throw down;
    };
    tokens.recordUsage = async () => {
      throw down;
    };
    const events: ShadowEvent[] = [];
    const llm = shadowCoordinator(coordinator({ tokens }), {
      name: 'limits',
      observer: (e) => events.push(e),
    });
    let runs = 0;
    const out = await llm.run({ tokens: 10 }, async () => {
      runs++;
      return { value: 'kept', usage: { tokens: 5 } };
    });
    expect(out).toMatchObject({ ok: true, value: 'kept' });
    expect(runs).toBe(1);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'dispatch-pass', reason: 'failed' });
  });

  it('rethrows the work’s own error, from a phantom dispatch too, and refunds', async () => {
    const { budgets, events, llm } = setup(0);
    await expect(
      llm.run({ requests: 1, tokens: 10 }, async () => {
        throw new Error('provider 500');
      }),
    ).rejects.toThrow('provider 500');
    expect(events.at(-1)).toMatchObject({
      type: 'dispatch-settle',
      used: { requests: 0, tokens: 0 },
    });
    expect(budgets.tokens.available()).toBe(1_000);
  });

  it('throws the work’s own error when the policy also fails to refund it', async () => {
    const stuck = {
      tryReserve: async () => true,
      release: async () => {},
      tryAcquire: async (cost: number) => ({
        cost,
        epoch: 0,
        state: 'held' as const,
        release: async (): Promise<boolean> => {
          throw new BudgetError({ code: 'BACKEND', message: 'refund lost' });
        },
        commit: async () => true,
        [Symbol.asyncDispose]: async () => {},
      }),
    };
    const llm = shadowCoordinator(coordinator({ stuck }), { name: 'limits' });
    const failure = new Error('provider 500');
    await expect(
      llm.run({ stuck: 1 }, async () => {
        throw failure;
      }),
    ).rejects.toBe(failure);
  });

  it('throws the caller’s mistakes as the coordinator does, without running anything', async () => {
    const { events, llm } = setup();
    let runs = 0;
    const work = async () => {
      runs++;
      return { value: 0 };
    };
    await expect(llm.run({ rows: 1 } as never, work)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(llm.run({ tokens: -5 }, work)).rejects.toMatchObject({ code: 'INVALID_AMOUNT' });
    await expect(
      llm.run({ tokens: 5 }, work, { signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({ code: 'ABORTED' });
    expect(() => llm.tryReserveSync({ tokens: 1.5 })).toThrow(
      expect.objectContaining({ code: 'INVALID_AMOUNT' }),
    );
    expect(runs).toBe(0);
    expect(events).toEqual([]);
  });

  it.each([
    ['null', null],
    ['a bare value', 'answer'],
    ['usage that is not a record', { value: 1, usage: 5 }],
  ])('refuses work resolving %s as the coordinator does, admitted or passed', async (_, result) => {
    const { budgets, events, llm } = setup(1);
    for (const estimate of [{ requests: 1 }, { requests: 2 }]) {
      await expect(llm.run(estimate, async () => result as never)).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringMatching(/must resolve \{ value, usage\? \}/),
      });
    }
    expect(budgets.requests.available()).toBe(0); // the admitted run settled at its estimate
    expect(events.at(-1)).toEqual({
      type: 'dispatch-settle',
      shadow: 'limits',
      estimate: { requests: 2 },
      used: { requests: 2 },
    });
  });

  it('returns what work that settled its own phantom dispatch resolved, as the coordinator does', async () => {
    const { events, llm } = setup(0);
    const out = await llm.run({ requests: 1 }, async (_signal, dispatch) => {
      dispatch.cancelSync();
      return 'raw' as never;
    });
    expect(out).toEqual({ ok: true, value: 'raw', report: { shortfall: {}, overcharge: {} } });
    expect(events.at(-1)).toMatchObject({ type: 'dispatch-settle', used: { requests: 0 } });
  });

  it('shadows the coordinators with() makes', () => {
    const { events, llm } = setup();
    const d = llm.with({ tenant: new AtomicBudget(1) }).tryReserveSync({ tenant: 5 });
    expect(d.ok).toBe(true);
    expect(events[0]).toMatchObject({ type: 'dispatch-pass', deniedBy: 'tenant' });
  });

  it('keeps every dimension exactly as an auditor of the admitted dispatches says, over random runs', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ estimate: fc.nat(400), used: fc.nat(500), fails: fc.boolean() }), {
          maxLength: 30,
        }),
        async (calls) => {
          const tokens = new AtomicTokenBudget(1_000);
          const audit = new Auditor({ capacity: 1_000 });
          let passedUse = 0;
          const llm = shadowCoordinator(coordinator({ tokens }), {
            name: 'limits',
            observer: (e) => {
              if (e.type === 'dispatch-settle') passedUse += e.used['tokens'] ?? 0;
            },
          });
          let expectedPassedUse = 0;
          for (const { estimate, used, fails } of calls) {
            const handle = audit.grant(estimate);
            const run = llm.run({ tokens: estimate }, async () => {
              if (fails) throw new Error('call failed');
              return { value: null, usage: { tokens: used } };
            });
            if (fails) await expect(run).rejects.toThrow('call failed');
            else expect((await run).ok).toBe(true);
            if (handle === undefined) {
              if (!fails) expectedPassedUse += used;
            } else if (fails) audit.release(handle);
            else audit.record(handle, used, 0);
          }
          expect(tokens.snapshot()).toMatchObject({
            available: audit.available,
            debt: audit.debt,
            consumed: audit.consumed,
          });
          expect(passedUse).toBe(expectedPassedUse);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('rejects what is not a coordinator, and bad options, with INVALID_ARGUMENT', () => {
    for (const [target, options] of [
      [{}, { name: 'x' }],
      [coordinator({ r: new AtomicBudget(1) }), { name: 5 }],
      [coordinator({ r: new AtomicBudget(1) }), null],
    ] as const) {
      expect(() => shadowCoordinator(target as never, options as never)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
  });
});
