// The middleware's behaviour through an AI SDK: generate and stream calls, usage above and below
// the estimate, denials and waits, errors, aborts and abandoned streams, and their races. Run
// against each supported major of the SDK (middleware.test.ts: ai@6; ai7.test.ts: ai@7).
import { coordinator, hierarchy } from '@budgetry/compose';
import {
  AtomicBudget,
  AtomicTokenBudget,
  BudgetError,
  type TokenBudget,
  tokenBucket,
} from '@budgetry/core';
import { Auditor, FakeClock } from '@budgetry/testing';
import { describe, expect, it } from 'vitest';
import { BudgetDeniedError } from '../src/index.js';
import { finish, mocks, textChunks } from './mock.js';
import type { Chunk, MockModel, Sdk, WrappedModel } from './sdk.js';

const fixed = (input: number, output: number) => () => ({ input, output });

export function middlewareSuite<M extends MockModel, W extends WrappedModel>(sdk: Sdk<M, W>): void {
  const { abortableStreaming, failing, generating, streaming } = mocks(sdk);
  const { wrap } = sdk;

  describe(`${sdk.name}: budgetMiddleware: generate`, () => {
    it('reserves the estimate, then records the usage the provider reports', async () => {
      const tokens = new AtomicTokenBudget(1_000);
      const audit = new Auditor({ capacity: 1_000 });
      const model = wrap(generating(120, 40), { budget: tokens, estimate: fixed(100, 200) });
      const { text } = await sdk.generateText({ model, prompt: 'hi' });
      const h = audit.grant(300)!;
      audit.record(h, 120, 40);
      expect(text).toBe('hello');
      expect(tokens.snapshot()).toMatchObject({
        available: audit.available,
        consumed: audit.consumed,
        reserved: 0,
      });
      expect(tokens.available()).toBe(840);
    });

    it('owes usage above the estimate as debt', async () => {
      const tokens = new AtomicTokenBudget(100);
      const model = wrap(generating(60, 90), { budget: tokens, estimate: fixed(50, 50) });
      await sdk.generateText({ model, prompt: 'hi' });
      expect(tokens.debt()).toBe(50);
      expect(tokens.available()).toBe(0);
    });

    it('settles a usage the provider leaves out at its estimate', async () => {
      const tokens = new AtomicTokenBudget(1_000);
      const model = wrap(generating(undefined, 30), { budget: tokens, estimate: fixed(100, 50) });
      await sdk.generateText({ model, prompt: 'hi' });
      expect(tokens.tokensConsumedSync()).toBe(130);
    });

    it('refunds everything when the call throws, and passes the error on', async () => {
      const tokens = new AtomicTokenBudget(1_000);
      const model = wrap(failing(new Error('provider 500')), {
        budget: tokens,
        estimate: fixed(100, 100),
      });
      await expect(sdk.generateText({ model, prompt: 'hi', maxRetries: 0 })).rejects.toThrow(
        'provider 500',
      );
      expect(tokens.snapshot()).toMatchObject({ available: 1_000, consumed: 0, reserved: 0 });
    });

    it('keeps the request, and refunds the rest, when the provider answered the call with an error', async () => {
      // What the AI SDK throws for an HTTP answer (APICallError): it carries the status code.
      const answered = (status: number) =>
        Object.assign(new Error(`provider ${status}`), { statusCode: status });
      for (const [error, kept] of [
        [answered(429), 1],
        [answered(500), 1],
        [new Error('socket hang up'), 0], // never answered: refunded whole
      ] as const) {
        const rpm = new AtomicBudget(10);
        const tokens = new AtomicTokenBudget(1_000);
        const model = wrap(failing(error), {
          budget: coordinator({ requests: rpm, tokens }),
          estimate: fixed(100, 100),
        });
        await expect(sdk.generateText({ model, prompt: 'hi', maxRetries: 0 })).rejects.toThrow(
          error.message,
        );
        const { stream } = await model.doStream({ prompt: [] }).then(
          () => ({ stream: 'resolved' }),
          () => ({ stream: 'rejected' }),
        );
        expect(stream).toBe('rejected');
        expect(rpm.available()).toBe(10 - 2 * kept); // two calls: generate, then stream
        expect(tokens.snapshot()).toMatchObject({ available: 1_000, reserved: 0, consumed: 0 });
      }
    });

    it('denies with a typed error carrying retryAfterMs, sending nothing', async () => {
      const clock = new FakeClock();
      const rpm = tokenBucket({ burst: 1, rate: 1, per: 60_000, clock });
      const llm = coordinator({ requests: rpm, tokens: new AtomicTokenBudget(10_000) });
      const inner = generating(10, 10);
      const model = wrap(inner, { budget: llm, estimate: fixed(10, 10) });
      await sdk.generateText({ model, prompt: 'one' });
      const error = await sdk.generateText({ model, prompt: 'two' }).catch((e: unknown) => e);
      expect(BudgetDeniedError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({
        deniedBy: 'requests',
        retryAfterMs: 60_000,
        estimate: { requests: 1, tokens: 20 },
      });
      expect(inner.doGenerateCalls).toHaveLength(1);
    });

    it('waits for the budget when told to, then sends the call', async () => {
      const clock = new FakeClock();
      const rpm = tokenBucket({ burst: 1, rate: 1, per: 1_000, clock });
      const inner = generating(1, 1);
      const model = wrap(inner, {
        budget: coordinator({ requests: rpm }),
        estimate: fixed(1, 1),
        onDenied: 'wait',
        clock,
      });
      await sdk.generateText({ model, prompt: 'one' });
      const second = sdk.generateText({ model, prompt: 'two' });
      await Promise.resolve();
      await new Promise((r) => setImmediate(r));
      expect(inner.doGenerateCalls).toHaveLength(1);
      clock.advance(1_000);
      await second;
      expect(inner.doGenerateCalls).toHaveLength(2);
    });

    it('stops waiting when the call is aborted, holding nothing', async () => {
      const clock = new FakeClock();
      const tokens = new AtomicTokenBudget(30);
      const taken = tokens.tryReserveTokensSync(20)!; // 10 left: the call's 20 must wait
      const inner = generating(1, 1);
      const model = wrap(inner, {
        budget: tokens,
        estimate: fixed(20, 0),
        onDenied: 'wait',
        clock,
      });
      const controller = new AbortController();
      const call = sdk.generateText({
        model,
        prompt: 'hi',
        abortSignal: controller.signal,
        maxRetries: 0,
      });
      await new Promise((r) => setImmediate(r));
      controller.abort();
      const error = await call.catch((e: unknown) => e);
      expect(BudgetError.isInstance(error) && error.code).toBe('ABORTED');
      expect(inner.doGenerateCalls).toHaveLength(0);
      expect(clock.pendingTimers()).toBe(0);
      expect(tokens.available()).toBe(10);
      taken[Symbol.dispose]();
    });

    it('gives up waiting after maxWaitMs with the denial', async () => {
      const clock = new FakeClock();
      const tokens = new AtomicTokenBudget(30);
      // 10 left, held to the end: the call's 20 waits in vain. The handle is kept referenced,
      // or a collection during the wait would let the leak backstop refund it (CI saw that).
      const held = tokens.tryReserveTokensSync(20)!;
      const model = wrap(generating(1, 1), {
        budget: tokens,
        estimate: fixed(20, 0),
        onDenied: 'wait',
        maxWaitMs: 500,
        pollMs: 200,
        clock,
      });
      const call = sdk
        .generateText({ model, prompt: 'hi', maxRetries: 0 })
        .catch((e: unknown) => e);
      for (let i = 0; i < 5; i++) {
        await new Promise((r) => setImmediate(r));
        clock.advance(200);
      }
      const error = await call;
      expect(BudgetDeniedError.isInstance(error)).toBe(true);
      expect(clock.now()).toBeGreaterThanOrEqual(500);
      held[Symbol.dispose]();
    });

    it('does not wait for an estimate above the budget’s capacity: no refill can admit it', async () => {
      const clock = new FakeClock();
      const tokens = new AtomicTokenBudget(10);
      const inner = generating(1, 1);
      const model = wrap(inner, {
        budget: tokens,
        estimate: fixed(20, 0),
        onDenied: 'wait',
        maxWaitMs: 60_000,
        clock,
      });
      const error = await sdk.generateText({ model, prompt: 'hi', maxRetries: 0 }).catch((e) => e);
      expect(BudgetDeniedError.isInstance(error) && error.message).toMatch(
        /above the budget's capacity/,
      );
      expect(BudgetDeniedError.isInstance(error) && error.retryAfterMs).toBeUndefined();
      expect(clock.now()).toBe(0);
      expect(clock.pendingTimers()).toBe(0);
      expect(inner.doGenerateCalls).toHaveLength(0);
      expect(tokens.available()).toBe(10);
    });

    it('picks the tenant’s budget per call, from the call', async () => {
      const tree = hierarchy({ capacity: 1_000, children: { capacity: 100 } });
      const llm = coordinator({ global: new AtomicBudget(1_000) });
      const model = wrap(generating(30, 10), {
        budget: (call) => {
          const tenant = String(call.params.providerOptions?.['budgetry']?.['tenant']);
          return llm.with({ tokens: tree.child(tenant) });
        },
        estimate: fixed(50, 50),
      });
      await sdk.generateText({
        model,
        prompt: 'hi',
        providerOptions: { budgetry: { tenant: 'acme' } },
      });
      expect(tree.child('acme').available()).toBe(60);
      expect(tree.child('globex').available()).toBe(100);
      const denied = await sdk
        .generateText({
          model: wrap(generating(1, 1), {
            budget: () => llm.with({ tokens: tree.child('acme') }),
            estimate: fixed(70, 0),
          }),
          prompt: 'hi',
        })
        .catch((e: unknown) => e);
      expect(denied).toMatchObject({ deniedBy: 'tokens' });
    });

    it('charges a dollar dimension in integer micro-dollars from the price table', async () => {
      const usd = new AtomicTokenBudget(1_000_000);
      const llm = coordinator({ requests: new AtomicBudget(10), usd_micros: usd });
      const model = wrap(generating(1_000, 500, 800), {
        budget: llm,
        estimate: fixed(2_000, 1_000),
        prices: { 'mock-model': { input: 2.5, cachedInput: 1.25, output: 10 } },
      });
      await sdk.generateText({ model, prompt: 'hi' });
      // 200 × 2.5 + 800 × 1.25 + 500 × 10 = 6 500 micro-dollars
      expect(usd.tokensConsumedSync()).toBe(6_500);
    });

    it('refuses a call to a model with no price when dollars are counted, holding nothing', async () => {
      const usd = new AtomicTokenBudget(1_000_000);
      const inner = generating(1, 1);
      const model = wrap(inner, {
        budget: usd,
        counts: 'usd_micros',
        prices: { other: { input: 1, output: 1 } },
      });
      await expect(sdk.generateText({ model, prompt: 'hi' })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
      expect(inner.doGenerateCalls).toHaveLength(0);
      expect(usd.available()).toBe(1_000_000);
    });
  });

  describe(`${sdk.name}: budgetMiddleware: stream`, () => {
    it('settles with the usage of the finish part when the stream ends', async () => {
      const tokens = new AtomicTokenBudget(1_000);
      const reservedAtFinish: number[] = [];
      const chunks = [...textChunks(['Hel', 'lo']), finish(70, 20)];
      const inner = sdk.mock({
        doStream: async () => ({
          stream: sdk.simulateReadableStream(chunks, null).pipeThrough(
            new TransformStream<Chunk, Chunk>({
              transform(chunk, controller) {
                if (chunk.type === 'finish') reservedAtFinish.push(tokens.snapshot().reserved);
                controller.enqueue(chunk);
              },
            }),
          ),
        }),
      });
      const model = wrap(inner, { budget: tokens, estimate: fixed(100, 100) });
      let text = '';
      for await (const delta of sdk.streamText({ model, prompt: 'hi' }).textStream) text += delta;
      expect(text).toBe('Hello');
      expect(reservedAtFinish).toEqual([200]); // held while the provider streams, up to its finish
      expect(tokens.snapshot()).toMatchObject({ reserved: 0, consumed: 90, available: 910 });
    });

    it('charges the input and the output streamed so far when a stream is abandoned midway', async () => {
      const tokens = new AtomicTokenBudget(1_000);
      const model = wrap(
        streaming([...textChunks(['12345678', 'abcdefgh', 'never read']), finish(70, 20)]),
        {
          budget: tokens,
          estimate: fixed(100, 100),
        },
      );
      const { stream } = await model.doStream({
        prompt: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }],
      });
      const reader = stream.getReader();
      for (let seen = 0; seen < 4; seen++) await reader.read(); // start, text-start, two deltas
      await reader.cancel();
      // 100 estimated input + 16 streamed bytes / 4 = 4 output tokens; the rest refunded.
      expect(tokens.snapshot()).toMatchObject({ reserved: 0, consumed: 104, available: 896 });
    });

    it('counts an abandoned stream’s output in UTF-8 bytes, so CJK text is not undercharged', async () => {
      const tokens = new AtomicTokenBudget(1_000);
      // 8 CJK characters (3 bytes each), then 2 emoji (a surrogate pair, 4 bytes each): 32 bytes.
      const model = wrap(
        streaming([...textChunks(['日本語のテキスト', '🙂🙂', 'unread']), finish(1, 1)]),
        {
          budget: tokens,
          estimate: fixed(100, 100),
        },
      );
      const { stream } = await model.doStream({ prompt: [] });
      const reader = stream.getReader();
      for (let seen = 0; seen < 4; seen++) await reader.read(); // start, text-start, two deltas
      await reader.cancel();
      // 100 estimated input + 32 bytes / 4 = 8 output tokens (counting characters: 3).
      expect(tokens.snapshot()).toMatchObject({ reserved: 0, consumed: 108, available: 892 });
    });

    it('refunds everything when a stream is abandoned before any output', async () => {
      const tokens = new AtomicTokenBudget(1_000);
      const model = wrap(streaming([...textChunks(['x']), finish(1, 1)]), {
        budget: tokens,
        estimate: fixed(100, 100),
      });
      const { stream } = await model.doStream({ prompt: [] });
      await stream.cancel();
      expect(tokens.snapshot()).toMatchObject({ reserved: 0, consumed: 0, available: 1_000 });
    });

    it('refunds when the provider fails before streaming', async () => {
      const tokens = new AtomicTokenBudget(1_000);
      const model = wrap(failing(new Error('overloaded')), {
        budget: tokens,
        estimate: fixed(100, 100),
      });
      const { stream } = await model.doStream({ prompt: [] }).then(
        () => ({ stream: null }),
        () => ({ stream: 'rejected' }),
      );
      expect(stream).toBe('rejected');
      expect(tokens.available()).toBe(1_000);
    });

    it('settles an aborted streamText with what it streamed, exactly once', async () => {
      const tokens = new AtomicTokenBudget(1_000);
      const records: number[] = [];
      tokens.subscribe((e) => {
        if (e.type === 'record') records.push(e.actual);
      });
      const controller = new AbortController();
      const model = wrap(
        abortableStreaming([...textChunks(['abcd', 'efgh', 'ijkl', 'mnop']), finish(70, 20)], 20),
        {
          budget: tokens,
          estimate: fixed(100, 100),
        },
      );
      const result = sdk.streamText({
        model,
        prompt: 'hi',
        abortSignal: controller.signal,
        onError: () => {},
      });
      let text = '';
      for await (const delta of result.textStream) {
        text += delta;
        if (text.length >= 4) controller.abort();
      }
      await new Promise((r) => setTimeout(r, 30));
      const { consumed, reserved } = tokens.snapshot();
      expect(reserved).toBe(0);
      expect(records).toEqual([101]); // once: the input and the 4 characters streamed (1 token)
      expect(consumed).toBe(101);
    });
  });

  describe(`${sdk.name}: budgetMiddleware: races`, () => {
    it('refunds and sends nothing when the call is aborted while its reservation is being made', async () => {
      const tokens = new AtomicTokenBudget(100);
      const controller = new AbortController();
      const slow: TokenBudget = {
        tryReserveTokens: async (estimate) => {
          controller.abort(); // the caller gives up while the (remote) budget answers
          return tokens.tryReserveTokens(estimate);
        },
        recordUsage: (r, p, c) => tokens.recordUsage(r, p, c),
        tokensConsumed: () => tokens.tokensConsumed(),
      };
      const inner = generating(1, 1);
      const model = wrap(inner, { budget: slow, estimate: fixed(10, 10) });
      const error = await sdk
        .generateText({
          model,
          prompt: 'hi',
          abortSignal: controller.signal,
          maxRetries: 0,
        })
        .catch((e: unknown) => e);
      expect(BudgetError.isInstance(error) && error.code).toBe('ABORTED');
      expect(inner.doGenerateCalls).toHaveLength(0);
      expect(tokens.snapshot()).toMatchObject({ available: 100, reserved: 0 });
    });

    it('settles a stream once when the reader cancels while a read is pending', async () => {
      const tokens = new AtomicTokenBudget(1_000);
      let records = 0;
      const counted: TokenBudget = {
        tryReserveTokens: (estimate) => tokens.tryReserveTokens(estimate),
        recordUsage: (r, p, c) => {
          records++;
          return tokens.recordUsage(r, p, c);
        },
        tokensConsumed: () => tokens.tokensConsumed(),
      };
      const model = wrap(abortableStreaming([...textChunks(['abcd', 'efgh']), finish(7, 2)], 20), {
        budget: counted,
        estimate: fixed(100, 100),
      });
      const { stream } = await model.doStream({ prompt: [] });
      const reader = stream.getReader();
      for (let i = 0; i < 3; i++) await reader.read(); // start, text-start, 'abcd'
      const pending = reader.read(); // waits for 'efgh'
      await reader.cancel();
      await pending;
      await new Promise((r) => setTimeout(r, 60));
      expect(records).toBe(1);
      expect(tokens.snapshot()).toMatchObject({ reserved: 0, consumed: 101 });
    });
  });

  describe(`${sdk.name}: budgetMiddleware: options`, () => {
    it('rejects an estimate function returning something that is not an amount, sending nothing', async () => {
      const tokens = new AtomicTokenBudget(100);
      const inner = generating(1, 1);
      const model = wrap(inner, { budget: tokens, estimate: () => ({ input: -1, output: 2 }) });
      await expect(sdk.generateText({ model, prompt: 'hi' })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
      expect(inner.doGenerateCalls).toHaveLength(0);
      expect(tokens.available()).toBe(100);
    });
  });
}
