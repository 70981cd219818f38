import { describe, expect, it } from 'vitest';
import { type BudgetedCall, estimateTokens, upperBoundTokens } from '../src/index.js';

function call(params: Partial<BudgetedCall['params']>): BudgetedCall {
  return { type: 'generate', provider: 'p', modelId: 'm', params: { prompt: [], ...params } };
}

describe('estimateTokens', () => {
  it('counts the prompt at four characters a token, and maxOutputTokens for the output', () => {
    const c = call({
      prompt: [
        { role: 'system', content: 'abcdefgh' }, // 8
        { role: 'user', content: [{ type: 'text', text: 'ijkl' }] }, // 4, joined by newlines
      ],
      maxOutputTokens: 300,
    });
    expect(estimateTokens(c)).toEqual({ input: Math.ceil(13 / 4), output: 300 });
  });

  it('assumes defaultMaxOutputTokens when a call sets none, and a fixed count per file', () => {
    const c = call({
      prompt: [{ role: 'user', content: [{ type: 'file', mediaType: 'image/png', data: 'AAAA' }] }],
    });
    expect(estimateTokens(c, { defaultMaxOutputTokens: 10, fileTokens: 500 })).toEqual({
      input: 500,
      output: 10,
    });
  });

  it('counts tool definitions too', () => {
    const bare = estimateTokens(call({})).input;
    const withTools = estimateTokens(
      call({
        tools: [
          {
            type: 'function',
            name: 'lookup',
            description: 'find a row',
            inputSchema: { type: 'object' },
          },
        ],
      }),
    ).input;
    expect(withTools).toBeGreaterThan(bare + 10);
  });
});

describe('upperBoundTokens', () => {
  it('counts UTF-8 bytes, a bound for byte-level tokenizers', () => {
    const c = call({ prompt: [{ role: 'system', content: 'été 日本' }], maxOutputTokens: 7 });
    expect(upperBoundTokens(c)).toEqual({ input: 2 + 1 + 2 + 1 + 3 + 3, output: 7 });
    expect(estimateTokens(c).input).toBeLessThan(upperBoundTokens(c).input);
  });
});
