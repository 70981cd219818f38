// The stated bound on overshoot, checked over random concurrent calls: with estimates that cover
// each call (exact input + maxOutputTokens) a budget is never exceeded; with smaller estimates the
// debt never exceeds the summed overrun (actual − estimate) of the calls recorded so far, and
// nothing is lost or forgiven: the budget ends where an independent auditor of its events says.
// Run against each supported major of the SDK (overshoot.test.ts: ai@6; ai7.test.ts: ai@7).
import { AtomicTokenBudget, type TokenBudget } from '@budgetry/core';
import { Auditor } from '@budgetry/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BudgetDeniedError, type BudgetedCall } from '../src/index.js';
import { usage } from './mock.js';
import type { MockModel, Sdk, WrappedModel } from './sdk.js';

interface Plan {
  readonly input: number;
  readonly maxOutput: number;
  readonly output: number; // actual, ≤ maxOutput
  readonly estimateOutput: number; // what a small estimate assumes
  readonly ticks: number;
}

const planArb = fc
  .record({
    input: fc.integer({ min: 0, max: 300 }),
    maxOutput: fc.integer({ min: 1, max: 400 }),
    outputShare: fc.double({ min: 0, max: 1, noNaN: true }),
    estimateShare: fc.double({ min: 0, max: 1, noNaN: true }),
    ticks: fc.nat(6),
  })
  .map(
    (p): Plan => ({
      input: p.input,
      maxOutput: p.maxOutput,
      output: Math.floor(p.outputShare * p.maxOutput),
      estimateOutput: Math.floor(p.estimateShare * p.maxOutput),
      ticks: p.ticks,
    }),
  );

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
const planOf = (call: BudgetedCall) => call.params.providerOptions?.['test'] as unknown as Plan;

async function runAll<M extends MockModel, W extends WrappedModel>(
  sdk: Sdk<M, W>,
  tokens: TokenBudget,
  plans: readonly Plan[],
  coverOutput: boolean,
) {
  const model = sdk.mock({
    doGenerate: async (options) => {
      const plan = options.providerOptions?.['test'] as unknown as Plan;
      for (let i = 0; i < plan.ticks; i++) await tick();
      return {
        content: [{ type: 'text', text: 'x' }],
        finishReason: { unified: 'stop', raw: undefined },
        usage: usage(plan.input, plan.output),
        warnings: [],
      };
    },
  });
  const wrapped = sdk.wrap(model, {
    budget: tokens,
    estimate: (call) => {
      const plan = planOf(call);
      return {
        input: plan.input,
        output: coverOutput ? call.params.maxOutputTokens! : plan.estimateOutput,
      };
    },
  });
  const outcomes = await Promise.all(
    plans.map((plan) =>
      sdk
        .generateText({
          model: wrapped,
          prompt: 'x',
          maxOutputTokens: plan.maxOutput,
          maxRetries: 0,
          providerOptions: { test: { ...plan } },
        })
        .then(
          () => 'sent',
          (error: unknown) => {
            if (BudgetDeniedError.isInstance(error)) return 'denied';
            throw error;
          },
        ),
    ),
  );
  return outcomes;
}

/** An auditor fed the budget's own events; reservations of equal estimates are interchangeable. */
function audited(tokens: AtomicTokenBudget, capacity: number) {
  const audit = new Auditor({ capacity });
  const open = new Map<number, number[]>();
  let overrun = 0;
  const violations: string[] = [];
  tokens.subscribe((e) => {
    if (e.type === 'reserve') {
      const handle = audit.grant(e.cost);
      if (handle === undefined) violations.push(`granted ${e.cost} with ${audit.available} left`);
      else open.set(e.cost, [...(open.get(e.cost) ?? []), handle]);
    } else if (e.type === 'record' || e.type === 'release') {
      const cost = e.type === 'record' ? e.estimate : e.cost;
      const handle = open.get(cost)?.pop();
      if (handle === undefined) return;
      if (e.type === 'record') {
        audit.record(handle, e.actual, 0);
        overrun += Math.max(0, e.actual - e.estimate);
        if (e.debt > overrun) violations.push(`debt ${e.debt} above the summed overrun ${overrun}`);
      } else {
        audit.release(handle);
      }
    }
  });
  return { audit, violations, overrun: () => overrun };
}

/** Checks `property` on a random capacity and a batch of up to 12 concurrent calls, 60 times. */
function forRandomCalls(
  property: (capacity: number, plans: readonly Plan[]) => Promise<void>,
): Promise<void> {
  return fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 100, max: 2_000 }),
      fc.array(planArb, { minLength: 1, maxLength: 12 }),
      property,
    ),
    { numRuns: 60 },
  );
}

export function overshootSuite<M extends MockModel, W extends WrappedModel>(sdk: Sdk<M, W>): void {
  describe(`${sdk.name}: overshoot bound`, () => {
    it('never exceeds a budget when every estimate covers its call (input + maxOutputTokens)', async () => {
      await forRandomCalls(async (capacity, plans) => {
        const tokens = new AtomicTokenBudget(capacity);
        const debts: number[] = [];
        tokens.subscribe(() => {
          debts.push(tokens.debt());
          const { consumed, reserved } = tokens.snapshot();
          if (consumed + reserved > capacity) debts.push(Number.NaN);
        });
        const { audit, violations } = audited(tokens, capacity);
        await runAll(sdk, tokens, plans, true);
        expect(violations).toEqual([]);
        expect(debts.every((d) => d === 0)).toBe(true);
        expect(tokens.snapshot()).toMatchObject({
          reserved: 0,
          debt: 0,
          available: audit.available,
          consumed: audit.consumed,
        });
      });
    });

    it('with smaller estimates, owes at most the summed overrun as debt, exactly as audited', async () => {
      await forRandomCalls(async (capacity, plans) => {
        const tokens = new AtomicTokenBudget(capacity);
        const { audit, violations, overrun } = audited(tokens, capacity);
        const outcomes = await runAll(sdk, tokens, plans, false);
        expect(violations).toEqual([]);
        expect(tokens.snapshot()).toMatchObject({
          reserved: 0,
          available: audit.available,
          debt: audit.debt,
          consumed: audit.consumed,
        });
        expect(tokens.debt()).toBeLessThanOrEqual(overrun());
        const sent = plans.filter((_, i) => outcomes[i] === 'sent');
        expect(tokens.tokensConsumedSync()).toBe(
          sent.reduce((sum, p) => sum + p.input + p.output, 0),
        );
      });
    });

    it('reaches the bound: two calls admitted together that each overrun by 30 leave 60 of debt', async () => {
      const tokens = new AtomicTokenBudget(100);
      const plans: Plan[] = [
        { input: 0, maxOutput: 100, output: 80, estimateOutput: 50, ticks: 2 },
        { input: 0, maxOutput: 100, output: 80, estimateOutput: 50, ticks: 3 },
      ];
      expect(await runAll(sdk, tokens, plans, false)).toEqual(['sent', 'sent']);
      expect(tokens.debt()).toBe(60);
      const after = await runAll(sdk, tokens, [{ ...plans[0]!, estimateOutput: 1 }], false);
      expect(after).toEqual(['denied']); // owed, not forgiven: nothing is admitted until it is paid
    });
  });
}
