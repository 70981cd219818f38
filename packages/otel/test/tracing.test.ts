import { allOf, anyOf, coordinator, hierarchy, waiting } from '@budgetry/compose';
import { AtomicBudget, AtomicTokenBudget, BudgetError, tokenBucket } from '@budgetry/core';
import { FakeClock } from '@budgetry/testing';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { shadowCoordinator } from '../src/index.js';
import { type Harness, harness } from './harness.js';

let h: Harness;
afterEach(async () => {
  await h.shutdown();
});

const attrs = (h: Harness) => h.spans().map((s) => ({ name: s.name, ...s.attributes }));

describe('BudgetTelemetry.traceBudget', () => {
  it('puts each reservation in a span with its cost and outcome', async () => {
    h = harness();
    const rows = h.telemetry.traceBudget(new AtomicBudget(10), { name: 'rows' });
    expect(rows.tryReserveSync(6)).toBe(true);
    expect(await rows.tryAcquire(6)).toBeNull();
    expect(attrs(h)).toEqual([
      {
        name: 'budgetry.reserve',
        'budgetry.budget': 'rows',
        'budgetry.mode': 'enforce',
        'budgetry.method': 'tryReserveSync',
        'budgetry.cost': 6,
        'budgetry.outcome': 'granted',
      },
      {
        name: 'budgetry.reserve',
        'budgetry.budget': 'rows',
        'budgetry.mode': 'enforce',
        'budgetry.method': 'tryAcquire',
        'budgetry.cost': 6,
        'budgetry.outcome': 'denied',
      },
    ]);
    expect(rows.available()).toBe(4); // the wrapper is the budget: same units
  });

  it('says on a denial when a retry can succeed, where the schedule knows', () => {
    h = harness();
    const clock = new FakeClock();
    const rpm = h.telemetry.traceBudget(tokenBucket({ burst: 2, rate: 1, clock }), { name: 'rpm' });
    rpm.tryReserveSync(2);
    rpm.tryReserveSync(1);
    expect(h.spans()[1]!.attributes['budgetry.retry_after_ms']).toBe(1_000);
  });

  it('records invalid input as an error span and rethrows the BudgetError unchanged', () => {
    h = harness();
    const budget = new AtomicTokenBudget(10);
    const tokens = h.telemetry.traceBudget(budget, { name: 'tokens' });
    expect(() => tokens.tryReserveTokensSync(-1)).toThrow(BudgetError);
    const [span] = h.spans();
    expect(span!.attributes['budgetry.outcome']).toBe('error');
    expect(span!.status.code).toBe(2); // SpanStatusCode.ERROR
    expect(span!.events.map((e) => e.name)).toEqual(['exception']);
    expect(budget.available()).toBe(10);
  });

  it('keeps the handles the budget issues usable on the budget and on the wrapper', () => {
    h = harness();
    const budget = new AtomicTokenBudget(100);
    const tokens = h.telemetry.traceBudget(budget, { name: 'tokens' });
    const r = tokens.tryReserveTokensSync(50)!;
    tokens.recordUsageSync(r, 20, 10);
    expect(budget.tokensConsumedSync()).toBe(30);
    expect(budget.available()).toBe(70);
  });

  it('measures how long acquire waited, with the outcome', async () => {
    h = harness();
    const slots = h.telemetry.traceBudget(waiting(new AtomicBudget(2)), { name: 'slots' });
    const first = await slots.acquire(2); // no wait
    const second = slots.acquire(1);
    h.advance(250);
    first.releaseSync();
    const held = await second; // waited 250 ms
    const aborted = new AbortController();
    const third = slots.acquire(2, { signal: aborted.signal, timeoutMs: 60_000 });
    h.advance(40);
    aborted.abort();
    await expect(third).rejects.toMatchObject({ code: 'ABORTED' });
    held.releaseSync();
    const points = await h.points('budgetry.wait.duration');
    const granted = points.find((p) => p.attributes['budgetry.outcome'] === 'granted')!;
    expect(granted.value).toMatchObject({ count: 2, sum: 250 });
    const abortedPoint = points.find((p) => p.attributes['budgetry.outcome'] === 'aborted')!;
    expect(abortedPoint.value).toMatchObject({ count: 1, sum: 40 });
  });
});

describe('BudgetTelemetry.traceCoordinator', () => {
  const llm = () =>
    coordinator({ requests: new AtomicBudget(2), tokens: new AtomicTokenBudget(1_000) });

  it('puts a dispatch in a span with the estimate, the outcome and the dimension that denied', async () => {
    h = harness();
    const c = h.telemetry.traceCoordinator(llm(), { name: 'llm' });
    const ok = c.tryReserveSync({ requests: 1, tokens: 400 });
    const denied = await c.tryReserve({ requests: 1, tokens: 700 });
    expect(ok.ok).toBe(true);
    expect(denied).toEqual({ ok: false, deniedBy: 'tokens' });
    expect(attrs(h)).toEqual([
      {
        name: 'budgetry.dispatch',
        'budgetry.coordinator': 'llm',
        'budgetry.mode': 'enforce',
        'budgetry.method': 'tryReserveSync',
        'budgetry.estimate.requests': 1,
        'budgetry.estimate.tokens': 400,
        'budgetry.outcome': 'granted',
      },
      {
        name: 'budgetry.dispatch',
        'budgetry.coordinator': 'llm',
        'budgetry.mode': 'enforce',
        'budgetry.method': 'tryReserve',
        'budgetry.estimate.requests': 1,
        'budgetry.estimate.tokens': 700,
        'budgetry.outcome': 'denied',
        'budgetry.denied_by': 'tokens',
      },
    ]);
    expect(await h.value('budgetry.dispatches', { 'budgetry.outcome': 'granted' })).toBe(1);
    expect(
      await h.value('budgetry.dispatches', {
        'budgetry.outcome': 'denied',
        'budgetry.denied_by': 'tokens',
      }),
    ).toBe(1);
  });

  it('runs the work inside the dispatch span, with its usage and shortfall', async () => {
    h = harness();
    const manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
    try {
      const tracer = h.tracerProvider.getTracer('app');
      const c = h.telemetry.traceCoordinator(
        coordinator({ rows: new AtomicBudget(100), tokens: new AtomicTokenBudget(1_000) }),
        { name: 'llm' },
      );
      const out = await c.run({ rows: 90, tokens: 500 }, async () => {
        tracer.startSpan('model.call').end();
        return { value: 'answer', usage: { rows: 120, tokens: 420 } };
      });
      expect(out).toMatchObject({ ok: true, value: 'answer' });
      const [call, dispatch] = h.spans();
      expect(call!.name).toBe('model.call');
      expect(call!.parentSpanContext?.spanId).toBe(dispatch!.spanContext().spanId);
      expect(dispatch!.attributes).toMatchObject({
        'budgetry.outcome': 'granted',
        'budgetry.usage.rows': 120,
        'budgetry.usage.tokens': 420,
        'budgetry.shortfall.rows': 20,
      });
    } finally {
      context.disable();
    }
  });

  it('records a run whose work throws as an error, refunded', async () => {
    h = harness();
    const tokens = new AtomicTokenBudget(1_000);
    const c = h.telemetry.traceCoordinator(coordinator({ tokens }), { name: 'llm' });
    await expect(
      c.run({ tokens: 300 }, async () => {
        throw new Error('provider 500');
      }),
    ).rejects.toThrow('provider 500');
    expect(tokens.available()).toBe(1_000);
    expect(h.spans()[0]!.attributes['budgetry.outcome']).toBe('error');
    expect(await h.value('budgetry.dispatches', { 'budgetry.outcome': 'error' })).toBe(1);
  });

  it('traces the coordinators with() makes', () => {
    h = harness();
    const c = h.telemetry.traceCoordinator(llm(), { name: 'llm', tenant: 'acme' });
    const d = c.with({ tenant: new AtomicBudget(5) }).tryReserveSync({ tenant: 9 });
    expect(d).toEqual({ ok: false, deniedBy: 'tenant', exceedsCapacity: true });
    expect(h.spans()[0]!.attributes).toMatchObject({
      'budgetry.tenant': 'acme',
      'budgetry.denied_by': 'tenant',
    });
  });

  it('rejects what is not a coordinator, and bad labels, with INVALID_ARGUMENT', () => {
    h = harness();
    for (const [c, labels] of [
      [{}, { name: 'x' }],
      [llm(), { name: '' }],
      [llm(), null],
    ] as const) {
      expect(() => h.telemetry.traceCoordinator(c as never, labels as never)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
    expect(trace.getActiveSpan()).toBeUndefined();
  });
});

describe('BudgetTelemetry.traceBudget, more reservation methods', () => {
  const llm = () => coordinator({ requests: new AtomicBudget(2) });

  it('puts detailed and per-member reservations in spans, with what denied and when to retry', async () => {
    h = harness();
    const clock = new FakeClock();
    const both = h.telemetry.traceBudget(
      allOf({ rows: new AtomicBudget(10), rpm: tokenBucket({ burst: 2, rate: 1, clock }) }),
      { name: 'both' },
    );
    expect(both.tryAcquireDetailedSync(1).ok).toBe(true);
    expect((await both.tryAcquireDetailed(2)).ok).toBe(false); // one request left
    expect(both.tryAcquireEachSync({ rows: 3, rpm: 1 }).ok).toBe(true);
    expect((await both.tryAcquireEach({ rows: 6 })).ok).toBe(true);
    expect(both.tryAcquireEachSync([1, 0])).toMatchObject({ ok: false, deniedBy: 'rows' });
    expect(attrs(h).map(({ name, ...a }) => a)).toEqual([
      {
        'budgetry.budget': 'both',
        'budgetry.mode': 'enforce',
        'budgetry.method': 'tryAcquireDetailedSync',
        'budgetry.cost': 1,
        'budgetry.outcome': 'granted',
      },
      {
        'budgetry.budget': 'both',
        'budgetry.mode': 'enforce',
        'budgetry.method': 'tryAcquireDetailed',
        'budgetry.cost': 2,
        'budgetry.outcome': 'denied',
        'budgetry.denied_by': 'rpm',
        'budgetry.retry_after_ms': 1_000,
      },
      {
        'budgetry.budget': 'both',
        'budgetry.mode': 'enforce',
        'budgetry.method': 'tryAcquireEachSync',
        'budgetry.cost.rows': 3,
        'budgetry.cost.rpm': 1,
        'budgetry.outcome': 'granted',
      },
      {
        'budgetry.budget': 'both',
        'budgetry.mode': 'enforce',
        'budgetry.method': 'tryAcquireEach',
        'budgetry.cost.rows': 6,
        'budgetry.outcome': 'granted',
      },
      {
        'budgetry.budget': 'both',
        'budgetry.mode': 'enforce',
        'budgetry.method': 'tryAcquireEachSync',
        'budgetry.cost.0': 1,
        'budgetry.cost.1': 0,
        'budgetry.outcome': 'denied',
        'budgetry.denied_by': 'rows',
      },
    ]);
  });

  it('traces the detailed reservations of an anyOf and of a hierarchy node', async () => {
    h = harness();
    const either = h.telemetry.traceBudget(anyOf({ east: new AtomicBudget(1) }), { name: 'e' });
    const root = hierarchy({ capacity: 10, children: { capacity: 2 } });
    const acme = h.telemetry.traceBudget(root.child('acme'), { name: 'acme' });
    expect(either.tryAcquireDetailedSync(2).ok).toBe(false);
    expect((await acme.tryAcquireDetailed(3)).ok).toBe(false);
    expect(h.spans().map((s) => s.attributes['budgetry.denied_by'])).toEqual([['east'], ['acme']]);
    expect(h.spans().map((s) => s.attributes['budgetry.outcome'])).toEqual(['denied', 'denied']);
  });

  it('keeps a denial a denial when the budget’s retry hint throws, recording no hint', async () => {
    h = harness();
    const rpm = tokenBucket({ burst: 1, rate: 1, clock: new FakeClock() });
    rpm.retryAfterMs = () => {
      throw new BudgetError({ code: 'BACKEND', message: 'down' });
    };
    const traced = h.telemetry.traceBudget(rpm, { name: 'rpm' });
    expect(traced.tryReserveSync(1)).toBe(true);
    expect(traced.tryReserveSync(1)).toBe(false);
    expect(await traced.tryAcquire(1)).toBeNull();
    const denials = h.spans().slice(1);
    expect(denials.map((s) => s.attributes['budgetry.outcome'])).toEqual(['denied', 'denied']);
    expect(denials.map((s) => s.attributes['budgetry.retry_after_ms'])).toEqual([
      undefined,
      undefined,
    ]);
  });

  it.each([
    ['an empty object', () => ({})],
    ['an array', () => []],
    ['a coordinator', () => coordinator({ requests: new AtomicBudget(1) })],
    ['a traced coordinator', () => h.telemetry.traceCoordinator(llm(), { name: 'llm' })],
  ])('rejects %s with INVALID_ARGUMENT', (_, make) => {
    h = harness();
    const target = make();
    expect(() => h.telemetry.traceBudget(target, { name: 'x' })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });

  it('names traceCoordinator when given a coordinator', () => {
    h = harness();
    const c = coordinator({ requests: new AtomicBudget(1) });
    expect(() => h.telemetry.traceBudget(c, { name: 'x' })).toThrow(/traceCoordinator/);
  });

  it('refuses to trace a traced budget again, which would open two spans per call', () => {
    h = harness();
    const rows = h.telemetry.traceBudget(new AtomicBudget(10), { name: 'rows' });
    expect(() => h.telemetry.traceBudget(rows, { name: 'again' })).toThrow(
      expect.objectContaining({
        code: 'INVALID_ARGUMENT',
        message: expect.stringMatching(/traced already/),
      }),
    );
    const other = harness();
    try {
      expect(() => other.telemetry.traceBudget(rows, { name: 'rows' })).toThrow(/traced already/);
    } finally {
      void other.shutdown();
    }
    rows.tryReserveSync(1);
    expect(h.spans()).toHaveLength(1);
  });

  it('passes every call through untouched once the telemetry is closed', async () => {
    h = harness();
    const budget = new AtomicTokenBudget(10);
    const tokens = h.telemetry.traceBudget(budget, { name: 'tokens' });
    const slots = h.telemetry.traceBudget(waiting(new AtomicBudget(1)), { name: 'slots' });
    tokens.tryReserveTokensSync(1);
    h.telemetry.close();
    const r = tokens.tryReserveTokensSync(2)!;
    tokens.recordUsageSync(r, 1, 1);
    expect(await tokens.tryReserveTokens(100)).toBeNull();
    (await slots.acquire(1)).releaseSync();
    expect(h.spans()).toHaveLength(1);
    expect(await h.points('budgetry.wait.duration')).toEqual([]);
    expect(budget.available()).toBe(7);
  });
});

describe('BudgetTelemetry.traceCoordinator, shadows and wrappers', () => {
  const llm = () =>
    coordinator({ requests: new AtomicBudget(2), tokens: new AtomicTokenBudget(1_000) });

  it('counts what a shadow coordinator lets through once, under the traced copy that dispatched it', async () => {
    h = harness();
    const root = hierarchy({ capacity: 100, children: { capacity: 1 } });
    const shadowed = shadowCoordinator(coordinator({ requests: new AtomicBudget(100) }), {
      name: 'p',
    });
    for (const tenant of ['a', 'b', 'c']) {
      const c = h.telemetry.traceCoordinator(shadowed.with({ tenant: root.child(tenant) }), {
        name: 'llm',
        tenant,
      });
      const out = await c.run({ requests: 1, tenant: 5 }, async () => ({ value: 1 }));
      expect(out.ok).toBe(true);
    }
    const passes = await h.points('budgetry.shadow.passes');
    expect(passes.map((p) => [p.attributes['budgetry.tenant'], p.value])).toEqual([
      ['a', 1],
      ['b', 1],
      ['c', 1],
    ]);
    const passed = await h.points('budgetry.shadow.passed');
    expect(passed.filter((p) => p.attributes['budgetry.dimension'] === 'tenant')).toHaveLength(3);
    expect(passed.map((p) => p.value)).toEqual([1, 5, 1, 5, 1, 5]);
    const used = await h.points('budgetry.shadow.used');
    expect(used.map((p) => p.value)).toEqual([1, 5, 1, 5, 1, 5]);
  });

  it('counts a shadow coordinator traced twice under the labels of the one called', async () => {
    h = harness();
    const shadowed = shadowCoordinator(coordinator({ requests: new AtomicBudget(0) }), {
      name: 'p',
    });
    const x = h.telemetry.traceCoordinator(shadowed, { name: 'x' });
    h.telemetry.traceCoordinator(shadowed, { name: 'y' });
    const d = x.tryReserveSync({ requests: 1 });
    if (d.ok) d.permit.settleSync({});
    await shadowed.tryReserve({ requests: 1 }); // not traced: not counted
    await x.with({ tenant: new AtomicBudget(0) }).tryReserve({ tenant: 1 }); // x's copy
    const passes = await h.points('budgetry.shadow.passes'); // none under y
    expect(passes.map((p) => [p.attributes['budgetry.coordinator'], p.value])).toEqual([
      ['x', 1], // denied by requests
      ['x', 1], // denied by tenant, through the copy x's with() made
    ]);
    expect(await h.value('budgetry.shadow.used', { 'budgetry.coordinator': 'x' })).toBe(1);
  });

  it.each([
    ['null', null],
    ['undefined', undefined],
  ])('rejects %s with INVALID_ARGUMENT', (_, target) => {
    h = harness();
    let error: unknown;
    try {
      h.telemetry.traceCoordinator(target as never, { name: 'x' });
    } catch (e) {
      error = e;
    }
    expect(BudgetError.isInstance(error) && error.code).toBe('INVALID_ARGUMENT');
  });

  it('refuses to trace a traced coordinator again, or one with() made from it', async () => {
    h = harness();
    const c = h.telemetry.traceCoordinator(llm(), { name: 'llm' });
    for (const again of [c, c.with({ tenant: new AtomicBudget(1) })]) {
      expect(() => h.telemetry.traceCoordinator(again, { name: 'again' })).toThrow(
        expect.objectContaining({
          code: 'INVALID_ARGUMENT',
          message: expect.stringMatching(/traced already/),
        }),
      );
    }
    await c.tryReserve({ requests: 1 });
    expect(await h.value('budgetry.dispatches', { 'budgetry.outcome': 'granted' })).toBe(1);
  });

  it('counts nothing once closed, of a dispatch or a wait that began before', async () => {
    h = harness();
    const c = h.telemetry.traceCoordinator(llm(), { name: 'llm' });
    const slots = h.telemetry.traceBudget(waiting(new AtomicBudget(1)), { name: 'slots' });
    const first = await slots.acquire(1);
    const waited = slots.acquire(1);
    let finish!: () => void;
    const gate = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const running = c.run({ requests: 1 }, async () => {
      await gate;
      return { value: 'v' };
    });
    await new Promise((resolve) => setTimeout(resolve, 0));
    h.telemetry.close();
    finish();
    expect(await running).toMatchObject({ ok: true, value: 'v' });
    first.releaseSync();
    (await waited).releaseSync();
    expect(await h.points('budgetry.dispatches')).toEqual([]);
    const waits = await h.points('budgetry.wait.duration');
    expect(waits.map((p) => (p.value as { count: number }).count)).toEqual([1]); // the first only
    expect(h.spans().map((s) => s.attributes['budgetry.method'])).toEqual([
      'acquire',
      'run',
      'acquire',
    ]); // begun before, ended after
  });

  it('passes dispatches through untouched once the telemetry is closed', async () => {
    h = harness();
    const shadowed = shadowCoordinator(llm(), { name: 'p' });
    const c = h.telemetry.traceCoordinator(shadowed, { name: 'llm' });
    await c.tryReserve({ requests: 1 });
    h.telemetry.close();
    const out = await c.run({ requests: 1 }, async () => ({ value: 'v' }));
    expect(out).toMatchObject({ ok: true, value: 'v' });
    await c.with({ extra: new AtomicBudget(0) }).tryReserve({ extra: 1 }); // a pass
    expect(c.tryReserveSync({ requests: 1 }).ok).toBe(true);
    expect(h.spans()).toHaveLength(1);
    expect(await h.points('budgetry.dispatches')).toHaveLength(1);
    expect(await h.value('budgetry.dispatches')).toBe(1);
    expect(await h.points('budgetry.shadow.passes')).toEqual([]);
  });
});
