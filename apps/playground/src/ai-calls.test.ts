import { FakeClock } from '@budgetry/testing';
import { describe, expect, it } from 'vitest';
import { AiSdkCalls } from './ai-calls.js';
import { openBackend } from './backend.js';
import type { CallsHost } from './calls.js';
import { buildGateway, type Gateway, llmCoordinator } from './gateway.js';
import { Simulation, START_MS, STEP_MS } from './simulation.js';
import { emptyBudgetCounts, emptyTenantCounts, type Interval, sumTenantCounts } from './stats.js';
import type { Request } from './tenants.js';

/**
 * What the simulated provider does with the next admitted call, as the draws `providerAnswer`
 * takes: the outcome, the prompt's and the completion's factors, (for an abort) how much of
 * the completion is streamed, and the steps until it answers (0: two steps).
 */
const COMPLETE = [0.5, 0.5, 0.5, 0]; // prompt as estimated, completion × 1.05
const FAIL = [0.01, 0.5, 0.5, 0];
const ABORT = [0.07, 0, 0.5, 0.5, 0]; // prompt × 0.9, completion × 1.05, 40 % of it streamed

/** One tenant's calls through the middleware, on the gateway's real budgets. */
async function harness(...answers: number[][]) {
  const clock = new FakeClock(START_MS);
  const gateway: Gateway = buildGateway(await openBackend('memory', clock), clock);
  const node = gateway.tenants.child('acme');
  const llm = llmCoordinator(gateway).with({ tenant: node });
  const draws = answers.flat();
  const interval: Interval = {
    minute: 1,
    start: '23:55',
    tenants: { acme: emptyTenantCounts() },
    budgets: emptyBudgetCounts(),
  };
  const host: CallsHost = {
    gateway,
    nodes: [node],
    sync: true,
    stepMs: STEP_MS,
    random: () => {
      const next = draws.shift();
      if (next === undefined) throw new Error('the provider drew more than the test scripted');
      return next;
    },
    coordinator: () => llm,
    interval: () => interval,
    counts: () => interval.tenants.acme!,
    time: () => '23:55:00',
  };
  const calls = new AiSdkCalls(host);
  const tokens = () => gateway.tokens.budget.reading();
  const dollars = () => gateway.dollars.budget.reading();
  const ledgersAgree = () =>
    gateway.generations.every((m) => m.audit.compare(m.budget.reading(), 'now'));
  return { calls, gateway, node, counts: interval.tenants.acme!, tokens, dollars, ledgersAgree };
}

const call: Request = { tenant: 0, prompt: 1_000, completion: 400 };

describe('calls through the AI SDK middleware', () => {
  it("reserves the scenario's estimate, and settles a finished stream at the usage it reports", async () => {
    const h = await harness(COMPLETE);
    expect(await h.calls.dispatch(call, START_MS)).toBeUndefined();
    // Reserved by the middleware: its estimate of the prompt text and maxOutputTokens.
    expect(h.tokens().available).toBe(50_000 - 1_400);
    expect(h.dollars().available).toBe(1_500_000 - (1_000 * 3 + 400 * 15));
    expect(h.node.held()).toBe(1_400);
    expect(h.gateway.requests.available()).toBe(19);
    expect(h.calls.outFor(0)).toBe(1);
    await h.calls.answerDue(START_MS + STEP_MS); // not yet: it answers after two steps
    expect(h.calls.outFor(0)).toBe(1);
    await h.calls.answerDue(START_MS + 2 * STEP_MS);
    expect(h.calls.outFor(0)).toBe(0);
    // Reconciled with the stream's finish part: 1 000 in, 420 out.
    expect(h.tokens()).toMatchObject({ consumed: 1_420, available: 50_000 - 1_420, reserved: 0 });
    expect(h.dollars()).toMatchObject({ consumed: 1_000 * 3 + 420 * 15, reserved: 0 });
    expect(h.counts).toMatchObject({ admitted: 1, completed: 1, tokens: 1_420, overage: 20 });
    expect(h.ledgersAgree()).toBe(true);
    expect(h.calls.checks().filter((c) => !c.ok)).toEqual([]);
  });

  it('refunds a call whose provider failed, whole: the middleware cancels its dispatch', async () => {
    const h = await harness(FAIL);
    await h.calls.dispatch(call, START_MS);
    expect(h.tokens().available).toBe(50_000 - 1_400);
    await h.calls.answerAll();
    expect(h.tokens()).toMatchObject({ consumed: 0, available: 50_000, reserved: 0 });
    expect(h.dollars()).toMatchObject({ consumed: 0, available: 1_500_000 });
    expect(h.node.held()).toBe(0);
    expect(h.counts).toMatchObject({ failed: 1, completed: 0, tokens: 0 });
    expect(h.ledgersAgree()).toBe(true);
    expect(h.calls.checks().map((c) => [c.ok, c.detail])[0]).toEqual([
      true,
      '1 granted, 0 settled, 1 cancelled, 0 still held',
    ]);
  });

  it('charges a stream the caller aborted its estimated input and the output it streamed', async () => {
    const h = await harness(ABORT);
    await h.calls.dispatch(call, START_MS);
    await h.calls.answerAll();
    // The provider used 900 input tokens, but an aborted stream reports nothing: the middleware
    // charges the estimated 1 000, and the 168 tokens of text it streamed (40 % of 420).
    expect(h.tokens()).toMatchObject({ consumed: 1_000 + 168, reserved: 0 });
    expect(h.dollars()).toMatchObject({ consumed: 1_000 * 3 + 168 * 15, reserved: 0 });
    expect(h.counts).toMatchObject({ aborted: 1, tokens: 1_168 });
    expect(h.ledgersAgree()).toBe(true);
    expect(h.calls.checks().filter((c) => !c.ok)).toEqual([]);
  });

  it('turns the middleware’s denial into the budget that denied and its retry hint', async () => {
    const h = await harness(...Array.from({ length: 20 }, () => COMPLETE));
    // Over the tenant's 20 000 a minute: the tenant's own budget denies; nothing stays held.
    expect(
      await h.calls.dispatch({ tenant: 0, prompt: 15_000, completion: 10_000 }, START_MS),
    ).toEqual({
      kind: 'tenant',
    });
    expect(h.tokens().available).toBe(50_000);
    // The request bucket holds 20: the 21st call in the same instant waits half a second.
    const small: Request = { tenant: 0, prompt: 100, completion: 50 };
    for (let i = 0; i < 20; i++) expect(await h.calls.dispatch(small, START_MS)).toBeUndefined();
    expect(await h.calls.dispatch(small, START_MS)).toEqual({
      kind: 'requests',
      retryAfterMs: 500,
    });
    expect(h.calls.denials).toMatchObject({ tenant: 1, requests: 1, tokens: 0 });
    expect(h.calls.granted).toBe(20);
    await h.calls.answerAll();
    expect(h.tokens()).toMatchObject({ consumed: 20 * (100 + 53), reserved: 0 });
    expect(h.calls.checks().filter((c) => !c.ok)).toEqual([]);
  });
});

describe('the scenario with --ai-sdk', () => {
  it('holds every conservation check, with the usage the middleware settled', async () => {
    // Five minutes: the daily dollar cap runs out at 23:59 and denies too.
    const sim = await Simulation.open({
      tenants: 5,
      minutes: 5,
      seed: 42,
      backend: 'memory',
      aiSdk: true,
    });
    const result = await sim.finish();
    expect(result.scenario.calls).toMatch(
      /^through @budgetry\/ai-sdk's budgetMiddleware around the AI SDK's MockLanguageModelV3 \(ai@6\./,
    );
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    expect(result.checks.map((c) => c.name)).toEqual(
      expect.arrayContaining([
        "ai-sdk: the middleware's estimates = the scenario's",
        'ai-sdk: the middleware settled = the provider’s usage',
        'dispatches: each settled or cancelled exactly once',
      ]),
    );
    const all = sumTenantCounts(result.intervals.flatMap((i) => Object.values(i.tenants)));
    for (const kind of ['requests', 'tokens', 'dollars', 'tenant'] as const) {
      expect(all.denied[kind], kind).toBeGreaterThan(0);
    }
    expect(all.failed).toBeGreaterThan(0);
    expect(all.aborted).toBeGreaterThan(0);
    expect(all.afterWait).toBeGreaterThan(0);
    // What the minutes say was used is what the budget consumed, as the middleware settled it.
    const consumed = Number(
      /^consumed ([\d ]+),/
        .exec(
          result.checks.find((c) => c.name === 'tokens/min: consumed = Σ reported usage')!.detail,
        )![1]!
        .replaceAll(' ', ''),
    );
    expect(result.intervals.reduce((n, i) => n + i.budgets.tokens.used, 0)).toBe(consumed);
    expect(all.tokens).toBe(consumed);
  }, 60_000);

  it('replays exactly from its seed, on either backend in this process', async () => {
    const once = (backend: 'memory' | 'shared') =>
      Simulation.open({ tenants: 3, minutes: 2, seed: 9, backend, aiSdk: true }).then((sim) =>
        sim.finish(),
      );
    const a = await once('memory');
    expect(await once('memory')).toEqual(a);
    expect(a.held).toBe(true);
    const shared = await once('shared');
    expect({ ...shared, scenario: { ...shared.scenario, backend: '' } }).toEqual({
      ...a,
      scenario: { ...a.scenario, backend: '' },
    });
  }, 60_000);
});
