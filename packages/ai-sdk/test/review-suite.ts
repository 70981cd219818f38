// What a second hostile review found: a dollar estimate that did not cover cache writes, a paid
// answer thrown away when the budget failed to settle it, hidden reasoning undercharged in a
// stream cut short, a provider stream left running behind a slow settle, a denial hidden in the
// SDK's RetryError, requests the provider answered refunded, and options that fit no budget.
// Run against each supported major of the SDK (middleware.test.ts: ai@6; ai7.test.ts: ai@7).
import { coordinator } from '@budgetry/compose';
import {
  AtomicBudget,
  AtomicTokenBudget,
  BudgetError,
  type TokenBudget,
  type TokenReservation,
} from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { BudgetDeniedError } from '../src/index.js';
import { finish, mocks, textChunks, usage, warningsOf } from './mock.js';
import type { Chunk, MockModel, Sdk, Usage, WrappedModel } from './sdk.js';

const fixed = (input: number, output: number) => () => ({ input, output });
const turn = () => new Promise((resolve) => setImmediate(resolve));
const start = { type: 'stream-start', warnings: [] } as Chunk;

/** Reads `stream` to its end; returns its error, if it ends with one. */
async function drain(stream: ReadableStream<unknown>): Promise<unknown> {
  const reader = stream.getReader();
  try {
    for (let next = await reader.read(); !next.done; next = await reader.read());
  } catch (error) {
    return error;
  }
  return undefined;
}

/**
 * A token budget over `tokens` whose next `failures` records throw what `failure` makes, as a
 * remote budget's do while its backend is down; it keeps the reservations it hands out.
 */
function failingRecords(tokens: AtomicTokenBudget, failure: () => unknown, failures = 1) {
  const issued: TokenReservation[] = [];
  const budget: TokenBudget = {
    tryReserveTokens: async (estimate) => {
      const r = await tokens.tryReserveTokens(estimate);
      if (r !== null) issued.push(r);
      return r;
    },
    recordUsage: async (r, prompt, completion) => {
      if (failures-- > 0) throw failure();
      return tokens.recordUsage(r, prompt, completion);
    },
    tokensConsumed: () => tokens.tokensConsumed(),
  };
  return { budget, issued };
}

const reset = () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });

export function reviewSuite<M extends MockModel, W extends WrappedModel>(sdk: Sdk<M, W>): void {
  const { generating, streaming } = mocks(sdk);
  const { wrap } = sdk;
  const answering = (reported: Usage) =>
    sdk.mock({
      doGenerate: async () => ({
        content: [{ type: 'text', text: 'hello' }],
        finishReason: { unified: 'stop', raw: undefined },
        usage: reported,
        warnings: [],
      }),
    });
  /** A provider stream that hands out `parts` after its start, then fails. */
  const failingAfter = (parts: Chunk[]) => mocks(sdk).failingAfter([start, ...parts]);

  describe(`${sdk.name}: budgetMiddleware: dollars of estimated input`, () => {
    // $3 input, $0.30 read from the cache, $3.75 written to it, $15 output, per million tokens.
    const prices = { 'mock-model': { input: 3, cachedInput: 0.3, cacheWrite: 3.75, output: 15 } };
    const written = (input: number, output: number): Usage => ({
      inputTokens: { total: input, noCache: 0, cacheRead: 0, cacheWrite: input },
      outputTokens: { total: output, text: output, reasoning: 0 },
    });

    it('prices the estimated input at its dearest rate, so a covering estimate is never exceeded', async () => {
      // 1 000 in + 100 out at the dearest input rate: 3 750 + 1 500 = 5 250 µ$ (4 500 at $3).
      const tight = new AtomicTokenBudget(4_500);
      const inner = answering(written(1_000, 100));
      const refused = wrap(inner, {
        budget: tight,
        counts: 'usd_micros',
        prices,
        estimate: fixed(1_000, 100),
      });
      const error = await sdk
        .generateText({ model: refused, prompt: 'hi', maxRetries: 0 })
        .catch((e) => e);
      expect(BudgetDeniedError.isInstance(error) && error.estimate).toEqual({ tokens: 5_250 });
      expect(inner.doGenerateCalls).toHaveLength(0);
      expect(tight.snapshot()).toMatchObject({ debt: 0, consumed: 0, reserved: 0 });
      for (const reported of [written(1_000, 100), usage(1_000, 100), usage(1_000, 100, 1_000)]) {
        const usd = new AtomicTokenBudget(5_250);
        const model = wrap(answering(reported), {
          budget: coordinator({ usd_micros: usd }),
          prices,
          estimate: fixed(1_000, 100),
        });
        await sdk.generateText({ model, prompt: 'hi', maxRetries: 0 });
        expect(usd.snapshot()).toMatchObject({ debt: 0, reserved: 0 });
        expect(usd.tokensConsumedSync()).toBeLessThanOrEqual(5_250);
      }
    });

    it('charges the estimated input of a stream cut short at the dearest input rate', async () => {
      const usd = new AtomicTokenBudget(100_000);
      const delta = { type: 'text-delta', id: 't', delta: 'abcd' } as Chunk;
      const model = wrap(failingAfter([delta]), {
        budget: usd,
        counts: 'usd_micros',
        prices,
        estimate: fixed(1_000, 100),
      });
      const { stream } = await model.doStream({ prompt: [] });
      await drain(stream);
      // 1 000 × 3.75 + 1 output token × 15: the provider may have written the prompt's cache.
      expect(usd.snapshot()).toMatchObject({ consumed: 3_765, reserved: 0 });
    });
  });

  describe(`${sdk.name}: budgetMiddleware: a budget that fails to settle`, () => {
    it('returns a generate call’s answer, tells the failure, and never refunds the reservation', async () => {
      const failures = [reset, () => new BudgetError({ code: 'BACKEND', message: 'redis down' })];
      for (const failure of failures) {
        const tokens = new AtomicTokenBudget(1_000);
        const { budget, issued } = failingRecords(tokens, failure);
        const model = wrap(generating(120, 40), { budget, estimate: fixed(100, 100) });
        let text = '';
        const warnings = await warningsOf('BudgetrySettleWarning', async () => {
          ({ text } = await sdk.generateText({ model, prompt: 'hi', maxRetries: 0 }));
        });
        expect(text).toBe('hello');
        expect(warnings).toHaveLength(1);
        expect(warnings[0]!.cause).toMatchObject({ message: failure().message });
        // Disarmed: neither a dispose nor the leak backstop hands the estimate back as unspent.
        expect(issued[0]!.state).toBe('disarmed');
        issued[0]![Symbol.dispose]();
        expect(tokens.snapshot()).toMatchObject({ reserved: 200, consumed: 0, available: 800 });
      }
      // A budget refusing what it is given as a mistake still fails the call, settled at the
      // estimate, as before: a misconfiguration must not pass unnoticed.
      const tokens = new AtomicTokenBudget(1_000);
      const mistake = () => new BudgetError({ code: 'INVALID_ARGUMENT', message: 'bad handle' });
      const model = wrap(generating(120, 40), {
        budget: failingRecords(tokens, mistake).budget,
        estimate: fixed(100, 100),
      });
      await expect(sdk.generateText({ model, prompt: 'hi', maxRetries: 0 })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
      expect(tokens.snapshot()).toMatchObject({ reserved: 0, consumed: 200 });
    });

    it('returns the answer when a coordinator’s dimension fails to settle, and tells it', async () => {
      const rpm = new AtomicBudget(10);
      const tokens = new AtomicTokenBudget(1_000);
      const llm = coordinator({ requests: rpm, tokens: failingRecords(tokens, reset).budget });
      const model = wrap(generating(120, 40), { budget: llm, estimate: fixed(100, 100) });
      let text = '';
      const warnings = await warningsOf('BudgetrySettleWarning', async () => {
        ({ text } = await sdk.generateText({ model, prompt: 'hi', maxRetries: 0 }));
      });
      expect(text).toBe('hello');
      expect(warnings).toHaveLength(1);
      expect(rpm.available()).toBe(9);
    });

    it('ends a stream as the provider did, whether it finished or was cut short', async () => {
      const delta = { type: 'text-delta', id: 't', delta: 'abcd' } as Chunk;
      for (const provider of [
        streaming([...textChunks(['abcd']), finish(70, 20)]),
        failingAfter([delta]),
      ]) {
        const tokens = new AtomicTokenBudget(1_000);
        const { budget, issued } = failingRecords(tokens, reset);
        const model = wrap(provider, { budget, estimate: fixed(100, 100) });
        let ended: unknown = 'pending';
        const warnings = await warningsOf('BudgetrySettleWarning', async () => {
          const { stream } = await model.doStream({ prompt: [] });
          ended = await drain(stream);
        });
        // Finished: no error; cut short: the provider's own error, not the budget's.
        expect(ended === undefined || (ended as Error).message === 'connection reset').toBe(true);
        expect(warnings).toHaveLength(1);
        expect(issued[0]!.state).toBe('disarmed');
      }
    });
  });

  describe(`${sdk.name}: budgetMiddleware: reasoning in a stream cut short`, () => {
    const hidden = [
      {
        type: 'reasoning-start',
        id: 'r',
        providerMetadata: { openai: { reasoningEncryptedContent: 'gAAAAB…' } },
      },
      { type: 'reasoning-end', id: 'r' },
    ] as unknown as Chunk[];
    const text = [
      { type: 'text-start', id: 't' },
      { type: 'text-delta', id: 't', delta: 'Hell' },
    ] as Chunk[];

    it('charges reasoning it never saw (hidden or encrypted) at the estimated output at least', async () => {
      const shown = {
        type: 'reasoning-delta',
        id: 'r',
        delta: 'x'.repeat(8_000),
      } as unknown as Chunk;
      for (const [parts, consumed] of [
        [[...hidden, ...text], 100 + 2_000],
        // Shown reasoning longer than the estimate: its bytes, as before (8 004 / 4).
        [[hidden[0]!, shown, hidden[1]!, ...text], 100 + 2_001],
      ] as const) {
        const tokens = new AtomicTokenBudget(10_000);
        const model = wrap(failingAfter([...parts]), {
          budget: tokens,
          estimate: fixed(100, 2_000),
        });
        const { stream } = await model.doStream({ prompt: [] });
        await drain(stream);
        expect(tokens.snapshot()).toMatchObject({ consumed, reserved: 0 });
      }
    });
  });

  describe(`${sdk.name}: budgetMiddleware: cancelling a stream`, () => {
    it('cancels the provider’s stream at once, even while its budget is slow to settle', async () => {
      const tokens = new AtomicTokenBudget(1_000, { leakBackstop: false });
      const silent: TokenBudget = {
        tryReserveTokens: (estimate) => tokens.tryReserveTokens(estimate),
        recordUsage: () => new Promise<void>(() => {}), // never answers
        tokensConsumed: () => tokens.tokensConsumed(),
      };
      let providerCancelled = false;
      const provider = sdk.mock({
        doStream: async () => ({
          stream: new ReadableStream<Chunk>({
            start(controller) {
              for (const chunk of textChunks(['abcd'])) controller.enqueue(chunk);
            },
            cancel() {
              providerCancelled = true;
            },
          }),
        }),
      });
      const model = wrap(provider, { budget: silent, estimate: fixed(100, 100) });
      const { stream } = await model.doStream({ prompt: [] });
      const reader = stream.getReader();
      for (let i = 0; i < 3; i++) await reader.read(); // start, text-start, 'abcd'
      void reader.cancel('the user left');
      await turn();
      expect(providerCancelled).toBe(true);
    });
  });

  describe(`${sdk.name}: budgetMiddleware: a denial on the SDK's retry`, () => {
    it('is found by BudgetDeniedError.find inside the RetryError', async () => {
      const rpm = new AtomicBudget(1); // one request: the 429 keeps it, the retry is denied
      let calls = 0;
      const inner = sdk.mock({
        doGenerate: async () => {
          calls++;
          throw sdk.apiCallError({
            message: 'rate limited',
            url: 'https://api.example.com/v1/chat',
            requestBodyValues: {},
            statusCode: 429,
            responseHeaders: { 'retry-after-ms': '0' },
            isRetryable: true,
          });
        },
      });
      const model = wrap(inner, {
        budget: coordinator({ requests: rpm, tokens: new AtomicTokenBudget(1_000) }),
        estimate: fixed(10, 10),
      });
      const error = await sdk.generateText({ model, prompt: 'hi', maxRetries: 2 }).catch((e) => e);
      expect(calls).toBe(1);
      expect(BudgetDeniedError.isInstance(error)).toBe(false); // the SDK's RetryError
      expect(BudgetDeniedError.find(error)).toMatchObject({ deniedBy: 'requests' });
      expect(BudgetDeniedError.find(new Error('other'))).toBeUndefined();
    });
  });

  describe(`${sdk.name}: budgetMiddleware: requests that reached the provider`, () => {
    const budgets = () => {
      const rpm = new AtomicBudget(10);
      const tokens = new AtomicTokenBudget(1_000);
      return { rpm, tokens, budget: coordinator({ requests: rpm, tokens }) };
    };

    it('keeps the request of a stream answered with an in-band error, or cancelled unread', async () => {
      const failedFinish = {
        type: 'finish',
        finishReason: { unified: 'error', raw: undefined },
        usage: usage(undefined, undefined),
      } as unknown as Chunk;
      const error = { type: 'error', error: { type: 'overloaded_error' } } as unknown as Chunk;
      for (const read of [true, false]) {
        const { rpm, tokens, budget } = budgets();
        const model = wrap(streaming([start, error, failedFinish]), {
          budget,
          estimate: fixed(100, 100),
        });
        const { stream } = await model.doStream({ prompt: [] });
        if (read) await drain(stream);
        else await stream.cancel();
        expect(rpm.available()).toBe(9);
        expect(tokens.snapshot()).toMatchObject({ consumed: 0, reserved: 0, available: 1_000 });
      }
    });

    it('keeps the request of a generate call aborted once it was sent', async () => {
      const { rpm, tokens, budget } = budgets();
      const inner = sdk.mock({
        doGenerate: ({ abortSignal }) =>
          new Promise((_, reject) => {
            abortSignal?.addEventListener('abort', () =>
              reject(new DOMException('The operation was aborted.', 'AbortError')),
            );
          }),
      });
      const model = wrap(inner, { budget, estimate: fixed(100, 100) });
      const controller = new AbortController();
      const call = sdk
        .generateText({ model, prompt: 'hi', abortSignal: controller.signal, maxRetries: 0 })
        .catch((e: unknown) => e);
      for (let i = 0; i < 5 && inner.doGenerateCalls.length === 0; i++) await turn();
      expect(inner.doGenerateCalls).toHaveLength(1);
      controller.abort();
      await call;
      expect(rpm.available()).toBe(9);
      expect(tokens.snapshot()).toMatchObject({ consumed: 0, reserved: 0, available: 1_000 });
    });
  });

  describe(`${sdk.name}: budgetMiddleware: options that fit no budget a function returns`, () => {
    it.each([
      ['dimensions on a token budget', { dimensions: { tokens: 'tpm' } }, 'tokens'],
      [
        "counts 'usd_micros' on a coordinator with no dollar dimension",
        { counts: 'usd_micros', prices: { 'mock-model': { input: 1, output: 1 } } },
        'coordinator',
      ],
    ] as const)('refuses %s at the call, sending and holding nothing', async (_, options, kind) => {
      const tokens = new AtomicTokenBudget(1_000);
      const inner = generating(1, 1);
      const model = wrap(inner, {
        budget: () => (kind === 'tokens' ? tokens : coordinator({ tokens })),
        estimate: fixed(10, 10),
        ...options,
      });
      await expect(sdk.generateText({ model, prompt: 'hi', maxRetries: 0 })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
      expect(inner.doGenerateCalls).toHaveLength(0);
      expect(tokens.snapshot()).toMatchObject({ reserved: 0, consumed: 0 });
    });
  });
}
