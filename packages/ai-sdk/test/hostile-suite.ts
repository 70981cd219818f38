// Hostile input through an AI SDK: aborts that land while a remote budget answers, providers
// that send malformed stream parts or usage no budget can count, model ids that are keys of
// Object.prototype. Each leaves nothing held. Run against each supported major of the SDK
// (middleware.test.ts: ai@6; ai7.test.ts: ai@7).
import { coordinator } from '@budgetry/compose';
import { AtomicTokenBudget, BudgetError, type TokenBudget } from '@budgetry/core';
import { FakeClock } from '@budgetry/testing';
import { describe, expect, it } from 'vitest';
import { budgetMiddleware } from '../src/index.js';
import { finish, mocks, textChunks, usage, warningsOf } from './mock.js';
import type { Answer, Chunk, MockModel, Sdk, WrappedModel } from './sdk.js';

const fixed = (input: number, output: number) => () => ({ input, output });
const turn = () => new Promise((resolve) => setImmediate(resolve));

/** A stream some reader already holds. */
function locked(): ReadableStream<Chunk> {
  const stream = new ReadableStream<Chunk>();
  stream.getReader();
  return stream;
}

/** Reads `stream` to its end or its error. */
async function drain(stream: ReadableStream<unknown>): Promise<void> {
  const reader = stream.getReader();
  try {
    for (let next = await reader.read(); !next.done; next = await reader.read());
  } catch {
    // the provider's failure, passed on
  }
}

export function hostileSuite<M extends MockModel, W extends WrappedModel>(sdk: Sdk<M, W>): void {
  const { generating, streaming } = mocks(sdk);
  const { wrap } = sdk;
  /** A model whose stream hands out `parts` after its start, then fails. */
  const failingAfter = (parts: Chunk[]) =>
    mocks(sdk).failingAfter([{ type: 'stream-start', warnings: [] } as unknown as Chunk, ...parts]);

  describe(`${sdk.name}: budgetMiddleware: hostile input`, () => {
    it('stops waiting at once when the call is aborted while a denying budget answers', async () => {
      const clock = new FakeClock();
      const tokens = new AtomicTokenBudget(10);
      const controller = new AbortController();
      const remote: TokenBudget = {
        tryReserveTokens: async (estimate) => {
          controller.abort(); // the caller gives up while the budget is asked: it denies
          return tokens.tryReserveTokens(estimate);
        },
        recordUsage: (r, p, c) => tokens.recordUsage(r, p, c),
        tokensConsumed: () => tokens.tokensConsumed(),
      };
      const inner = generating(1, 1);
      const model = wrap(inner, {
        budget: remote,
        estimate: fixed(20, 0),
        onDenied: 'wait',
        maxWaitMs: 60_000,
        clock,
      });
      let outcome: unknown = 'pending';
      void sdk
        .generateText({ model, prompt: 'hi', abortSignal: controller.signal, maxRetries: 0 })
        .then(
          () => (outcome = 'sent'),
          (error: unknown) => (outcome = error),
        );
      for (let i = 0; i < 5; i++) await turn(); // no time passes on the clock
      expect(BudgetError.isInstance(outcome) && outcome.code).toBe('ABORTED');
      expect(clock.pendingTimers()).toBe(0);
      expect(inner.doGenerateCalls).toHaveLength(0);
      expect(tokens.snapshot()).toMatchObject({ available: 10, reserved: 0 });
    });

    it('leaves nothing held when the provider answers with no result, or no stream', async () => {
      const tokens = new AtomicTokenBudget(1_000, { leakBackstop: false });
      const options = { budget: tokens, estimate: fixed(100, 100) };
      const none = sdk.mock({ doGenerate: async () => undefined as unknown as Answer });
      await expect(
        sdk.generateText({ model: wrap(none, options), prompt: 'hi', maxRetries: 0 }),
      ).rejects.toThrow();
      for (const broken of [{}, { stream: locked() }]) {
        const model = wrap(
          sdk.mock({ doStream: async () => broken as { stream: ReadableStream<Chunk> } }),
          options,
        );
        await expect(model.doStream({ prompt: [] })).rejects.toThrow(TypeError);
      }
      expect(tokens.snapshot()).toMatchObject({ available: 1_000, reserved: 0, consumed: 0 });
    });

    it('charges a stream cut short after a file the model made while reasoning (ai@7)', async () => {
      const tokens = new AtomicTokenBudget(10_000);
      const reasoningFile = {
        type: 'reasoning-file',
        mediaType: 'image/png',
        data: { type: 'data', data: 'AAAA' },
      } as unknown as Chunk;
      const model = wrap(failingAfter([reasoningFile]), {
        budget: tokens,
        estimate: fixed(100, 2_000),
      });
      const { stream } = await model.doStream({ prompt: [] });
      await drain(stream);
      // As for a generated file: the estimated input and output.
      expect(tokens.snapshot()).toMatchObject({ consumed: 2_100, reserved: 0 });
    });

    it('charges the parts a provider reports without their totals, when they come to more than the estimate', async () => {
      for (const [parts, charged] of [
        // 2 000 + 500 + 300 input, 1 500 + 500 output: more than the estimate of 200 + 100.
        [{ noCache: 2_000, cacheRead: 500, cacheWrite: 300, text: 1_500, reasoning: 500 }, 4_800],
        // Less than the estimate: the estimate stands, the bound the call was admitted under.
        [{ noCache: 20, cacheRead: 10, cacheWrite: undefined, text: 5, reasoning: undefined }, 300],
      ] as const) {
        const tokens = new AtomicTokenBudget(100_000);
        const model = wrap(
          sdk.mock({
            doGenerate: async () => ({
              content: [{ type: 'text', text: 'hello' }],
              finishReason: { unified: 'stop', raw: undefined },
              usage: {
                inputTokens: {
                  total: undefined,
                  noCache: parts.noCache,
                  cacheRead: parts.cacheRead,
                  cacheWrite: parts.cacheWrite,
                },
                outputTokens: { total: undefined, text: parts.text, reasoning: parts.reasoning },
              },
              warnings: [],
            }),
          }),
          { budget: tokens, estimate: fixed(200, 100) },
        );
        await sdk.generateText({ model, prompt: 'hi', maxRetries: 0 });
        expect(tokens.snapshot()).toMatchObject({ consumed: charged, reserved: 0 });
      }
    });

    it('settles a stream that fails in band, then finishes without usage, as one cut short', async () => {
      // How OpenAI-style providers end a failed stream: an error part, then a finish that
      // reports nothing. What was streamed is charged; nothing streamed, nothing charged.
      const failedFinish = {
        type: 'finish',
        finishReason: { unified: 'error', raw: undefined },
        usage: usage(undefined, undefined),
      } as unknown as Chunk;
      const error = { type: 'error', error: new Error('overloaded') } as unknown as Chunk;
      for (const [chunks, consumed] of [
        [[{ type: 'stream-start', warnings: [] } as unknown as Chunk, error, failedFinish], 0],
        [[...textChunks(['abcdefgh']).slice(0, -1), error, failedFinish], 100 + 2],
        // A finish that does report usage is taken as reported, error part or not.
        [[...textChunks(['abcdefgh']), error, finish(7, 3)], 10],
      ] as const) {
        const tokens = new AtomicTokenBudget(10_000);
        const model = wrap(streaming([...chunks]), { budget: tokens, estimate: fixed(100, 4_000) });
        const { stream } = await model.doStream({ prompt: [] });
        await drain(stream);
        expect(tokens.snapshot()).toMatchObject({ consumed, reserved: 0 });
      }
    });

    it('refuses dimension names that put two amounts in one dimension', async () => {
      const tpm = new AtomicTokenBudget(1_000);
      const requests = new AtomicTokenBudget(1_000);
      expect(() =>
        budgetMiddleware({
          budget: coordinator({ tpm }),
          dimensions: { tokens: 'tpm', requests: 'tpm' },
        }),
      ).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
      // The same through a default: tokens named 'requests', beside a dimension of that name,
      // refused when the middleware is made (the coordinator is known then), or at the call.
      const options = { dimensions: { tokens: 'requests' }, estimate: fixed(5_000, 5_000) };
      expect(() =>
        wrap(generating(200, 100), { budget: coordinator({ requests }), ...options }),
      ).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
      const model = wrap(generating(200, 100), {
        budget: () => coordinator({ requests }),
        ...options,
      });
      await expect(sdk.generateText({ model, prompt: 'x', maxRetries: 0 })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
      expect(requests.snapshot()).toMatchObject({ available: 1_000, reserved: 0 });
    });

    it('settles a stream whose provider sends a malformed part, and passes the part on', async () => {
      const tokens = new AtomicTokenBudget(1_000);
      const malformed = { type: 'text-delta', id: 't' } as unknown as Chunk; // no delta
      const model = wrap(
        streaming([...textChunks(['abcd']), malformed, null as unknown as Chunk, finish(7, 3)]),
        { budget: tokens, estimate: fixed(100, 100) },
      );
      const { stream } = await model.doStream({ prompt: [] });
      const parts: unknown[] = [];
      const reader = stream.getReader();
      for (let next = await reader.read(); !next.done; next = await reader.read()) {
        parts.push(next.value);
      }
      expect(parts).toContainEqual(malformed);
      expect(tokens.snapshot()).toMatchObject({ reserved: 0, consumed: 10 });
    });

    it('settles a stream cut short after a malformed part with what it streamed', async () => {
      const tokens = new AtomicTokenBudget(1_000);
      const malformed = { type: 'reasoning-delta', id: 'r', delta: 42 } as unknown as Chunk;
      const model = wrap(streaming([...textChunks(['abcdefgh']), malformed]), {
        budget: tokens,
        estimate: fixed(100, 100),
      });
      const { stream } = await model.doStream({ prompt: [] });
      const reader = stream.getReader();
      for (let next = await reader.read(); !next.done; next = await reader.read()) {}
      // No finish part: the input estimate and 8 characters (2 tokens); the bad part adds none.
      expect(tokens.snapshot()).toMatchObject({ reserved: 0, consumed: 102 });
    });

    // Amounts whose sum (or price) the budget cannot count: the whole call at its estimate.
    // Counts that are not amounts: each at its estimate, the others as reported.
    it.each([
      ['generate', 'tokens', [2 ** 52, 2 ** 52], 200],
      ['stream', 'tokens', [2 ** 52, 2 ** 52], 200],
      ['generate', 'usd_micros', [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER], 200],
      ['generate', 'tokens', [2 ** 53, 1], 101],
      ['stream', 'tokens', [1e300, 1], 101],
      ['generate', 'tokens', [-5, 1.5], 200],
    ] as const)(
      'charges a %s call reporting usage the budget cannot count (%s, %j) its estimate, and says so',
      async (type, counts, [input, output], charged) => {
        const tokens = new AtomicTokenBudget(1_000_000);
        const options = {
          budget: tokens,
          estimate: fixed(100, 100),
          ...(counts === 'usd_micros'
            ? { counts, prices: { 'mock-model': { input: 1, output: 1 } } }
            : {}),
        };
        let text = '';
        const warnings = await warningsOf('BudgetryUsageWarning', async () => {
          if (type === 'generate') {
            const model = wrap(generating(input, output), options);
            ({ text } = await sdk.generateText({ model, prompt: 'hi', maxRetries: 0 }));
          } else {
            const model = wrap(streaming([...textChunks(['x']), finish(input, output)]), options);
            const { stream } = await model.doStream({ prompt: [] });
            const reader = stream.getReader();
            for (let next = await reader.read(); !next.done; next = await reader.read()) {
              if ((next.value as Chunk).type === 'text-delta')
                text += (next.value as { delta: string }).delta;
            }
          }
        });
        // The answer is kept, and the call charged the estimate it was admitted under in place
        // of what the budget could not count: 200 tokens, or 200 µ$ at $1 per million tokens.
        expect(text).toBe(type === 'generate' ? 'hello' : 'x');
        expect(tokens.snapshot()).toMatchObject({ reserved: 0, consumed: charged });
        expect(warnings).toHaveLength(1);
      },
    );

    it.each(['constructor', '__proto__', 'toString'])(
      'refuses a model id %s the price table does not list as having no price',
      async (modelId) => {
        const usd = new AtomicTokenBudget(1_000_000);
        const inner = generating(1, 1);
        (inner as unknown as { modelId: string }).modelId = modelId;
        const model = wrap(inner, {
          budget: usd,
          counts: 'usd_micros',
          prices: { other: { input: 1, output: 1 } },
        });
        const error = await sdk.generateText({ model, prompt: 'hi' }).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'INVALID_ARGUMENT' });
        expect((error as Error).message).toMatch(/no price for its model/);
        expect(inner.doGenerateCalls).toHaveLength(0);
        expect(usd.available()).toBe(1_000_000);
      },
    );
  });
}
