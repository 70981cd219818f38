import { coordinator, waiting } from '@budgetry/compose';
import { AtomicBudget, AtomicTokenBudget, BudgetError, tokenBucket } from '@budgetry/core';
import { FakeClock } from '@budgetry/testing';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { afterEach, describe, expect, it } from 'vitest';
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
