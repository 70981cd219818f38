// What a hostile review found charged wrongly or said nothing about: output that comes whole
// (a tool call, a file) in a stream cut short, a finish part without usage, a coordinator
// estimate no wait can admit, overage a guard dimension cannot owe, and bad options or clocks.
import { coordinator, hierarchy } from '@budgetry/compose';
import { AtomicBudget, AtomicTokenBudget, BudgetError } from '@budgetry/core';
import { FakeClock } from '@budgetry/testing';
import { describe, expect, it } from 'vitest';
import { BudgetDeniedError, budgetMiddleware } from '../src/index.js';
import { mocks, textChunks } from './mock.js';
import type { Chunk } from './sdk.js';
import { ai6 as sdk } from './sdk-ai6.js';

const { generating, streaming, failingAfter } = mocks(sdk);
const fixed = (input: number, output: number) => () => ({ input, output });
const tick = () => new Promise((r) => setImmediate(r));

async function drain(stream: ReadableStream<unknown>): Promise<unknown> {
  const reader = stream.getReader();
  try {
    for (let n = await reader.read(); !n.done; n = await reader.read()) {}
  } catch (error) {
    return error;
  }
  return undefined;
}

/** Streams `provider` through the middleware over a fresh token budget, to the end. */
async function streamThrough(
  provider: Parameters<typeof sdk.wrap>[0],
  estimate: ReturnType<typeof fixed>,
): Promise<{ tokens: AtomicTokenBudget; ended: unknown }> {
  const tokens = new AtomicTokenBudget(10_000);
  const model = sdk.wrap(provider, { budget: tokens, estimate });
  const { stream } = await model.doStream({ prompt: [] });
  return { tokens, ended: await drain(stream) };
}

const start = { type: 'stream-start', warnings: [] } as Chunk;
const toolInput = JSON.stringify({ q: 'x'.repeat(400) }); // ASCII: a byte a character
const toolCall = (id: string) =>
  ({ type: 'tool-call', toolCallId: id, toolName: 'search', input: toolInput }) as unknown as Chunk;

describe('a stream cut short is charged what it generated, however it came', () => {
  it('a whole tool-call part: the estimated input plus its bytes at four a token', async () => {
    const { tokens, ended } = await streamThrough(
      failingAfter([start, toolCall('c1')]),
      fixed(100, 500),
    );
    expect(ended).toBeInstanceOf(Error);
    expect(tokens.snapshot()).toMatchObject({
      reserved: 0,
      consumed: 100 + Math.ceil(toolInput.length / 4),
    });
  });

  it('a tool call streamed as deltas and then whole is counted once', async () => {
    const parts = [
      start,
      { type: 'tool-input-start', id: 'c1', toolName: 'search' },
      { type: 'tool-input-delta', id: 'c1', delta: toolInput.slice(0, 200) },
      { type: 'tool-input-delta', id: 'c1', delta: toolInput.slice(200) },
      { type: 'tool-input-end', id: 'c1' },
      toolCall('c1'),
    ] as Chunk[];
    const { tokens } = await streamThrough(failingAfter(parts), fixed(100, 500));
    expect(tokens.snapshot().consumed).toBe(100 + Math.ceil(toolInput.length / 4));
  });

  it('a generated file: its output is taken at the estimate', async () => {
    const file = {
      type: 'file',
      mediaType: 'image/png',
      data: 'A'.repeat(4_000),
    } as unknown as Chunk;
    const { tokens } = await streamThrough(failingAfter([start, file]), fixed(100, 2_000));
    expect(tokens.snapshot()).toMatchObject({ reserved: 0, consumed: 2_100 });
  });

  it('a stream that ends without a finish part after a tool call is charged it too', async () => {
    const { tokens, ended } = await streamThrough(
      streaming([start, toolCall('c2')]),
      fixed(100, 500),
    );
    expect(ended).toBeUndefined();
    expect(tokens.snapshot().consumed).toBe(100 + Math.ceil(toolInput.length / 4));
  });
});

it('a finish part without usage: what the provider did not report is taken at the estimate', async () => {
  const finish = { type: 'finish', finishReason: { unified: 'stop', raw: undefined } } as Chunk;
  const { tokens } = await streamThrough(
    streaming([...textChunks(['abcd']), finish]),
    fixed(100, 500),
  );
  expect(tokens.snapshot()).toMatchObject({ reserved: 0, consumed: 600 });
});

it("a coordinator estimate above a dimension's capacity is denied at once, even waiting", async () => {
  const clock = new FakeClock();
  const llm = coordinator({ tokens: new AtomicTokenBudget(100), requests: new AtomicBudget(10) });
  const model = sdk.wrap(generating(1, 1), {
    budget: llm,
    estimate: fixed(100, 100),
    onDenied: 'wait',
    maxWaitMs: 60_000,
    clock,
  });
  let outcome: unknown = 'pending';
  void sdk.generateText({ model, prompt: 'a', maxRetries: 0 }).then(
    () => (outcome = 'sent'),
    (error: unknown) => (outcome = error),
  );
  for (let i = 0; i < 5; i++) await tick();
  expect(BudgetDeniedError.isInstance(outcome)).toBe(true);
  expect((outcome as BudgetDeniedError).deniedBy).toBe('tokens');
  expect(clock.now()).toBe(0); // no time had to pass
});

it('overage a guard dimension has no room for is not charged, and says so', async () => {
  const tenants = hierarchy({ capacity: 50_000_000, children: { capacity: 10_000 } });
  const llm = coordinator({ tokens: new AtomicTokenBudget(1_000_000) });
  const model = sdk.wrap(generating(20_000, 10_000), {
    budget: () => llm.with({ usd_micros: tenants.child('acme') }),
    estimate: fixed(500, 500),
    prices: { 'mock-model': { input: 1, output: 1 } }, // 1 µ$ a token
  });
  const warnings: string[] = [];
  const listen = (w: Error) => {
    if (w.name === 'BudgetryShortfallWarning') warnings.push(w.message);
  };
  process.on('warning', listen);
  try {
    await sdk.generateText({ model, prompt: 'a', maxRetries: 0 });
    await new Promise((r) => setTimeout(r, 10));
  } finally {
    process.off('warning', listen);
  }
  // 30 000 µ$ used; the tenant had room for 10 000 of it.
  expect(tenants.child('acme').available()).toBe(0);
  expect(warnings).toEqual([
    "budgetry: a model call used 20000 more usd_micros than the coordinator's dimension had room for; a guard cannot owe it, so it was not charged (a token budget there would owe it as debt)",
  ]);
});

describe('bad options and clocks', () => {
  it('estimateOptions that are not an object: INVALID_ARGUMENT when the middleware is made', () => {
    const tokens = new AtomicTokenBudget(10);
    for (const estimateOptions of [null, 'x', 3]) {
      expect(() =>
        budgetMiddleware({ budget: tokens, estimateOptions: estimateOptions as never }),
      ).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
  });

  it('a clock whose setTimer throws fails the waiting call and keeps nothing alive', async () => {
    const tokens = new AtomicTokenBudget(10);
    const held = tokens.tryReserveTokensSync(10)!; // referenced to the end: no leak refund
    const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const clock = {
      now: () => 0,
      setTimer: () => {
        throw new BudgetError({ code: 'BACKEND', message: 'timer broken' });
      },
    };
    const model = sdk.wrap(generating(1, 1), {
      budget: tokens,
      estimate: fixed(5, 0),
      onDenied: 'wait',
      clock,
    });
    await expect(sdk.generateText({ model, prompt: 'a', maxRetries: 0 })).rejects.toThrow(
      'timer broken',
    );
    const after = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    expect(after).toBeLessThanOrEqual(before);
    held[Symbol.dispose]();
  });
});
