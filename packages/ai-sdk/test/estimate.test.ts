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

  it('counts the files of an ai@6 tool result as files, not their base64 as text', () => {
    const output = (value: object[]) =>
      call({
        prompt: [
          {
            role: 'tool',
            content: [
              {
                type: 'tool-result',
                toolCallId: 'c1',
                toolName: 'shot',
                output: { type: 'content', value },
              },
            ],
          },
        ] as BudgetedCall['params']['prompt'],
      });
    const bare = estimateTokens(output([])).input;
    const png = 'A'.repeat(400_000);
    const parts = [
      { type: 'image-data', data: png, mediaType: 'image/png' },
      { type: 'file-data', data: png, mediaType: 'application/pdf' },
      { type: 'media', data: png, mediaType: 'image/png' },
      { type: 'image-url', url: 'https://example.com/a.png' },
      { type: 'file-id', fileId: 'file-123' },
    ];
    // 700 for the file (and for ai@7's shape a token for the null left in its place).
    const near = (n: number) => n >= bare + 700 && n <= bare + 701;
    for (const part of parts) {
      expect(near(estimateTokens(output([part]), { fileTokens: 700 }).input)).toBe(true);
    }
    // ai@7's shape, for comparison: the same count.
    const v4 = { type: 'file', data: png, mediaType: 'image/png' };
    expect(near(estimateTokens(output([v4]), { fileTokens: 700 }).input)).toBe(true);
    // A tool's JSON output that merely holds objects of those types is text, whatever fields
    // they have: only the parts of a 'content' output are files.
    const items = Array.from({ length: 20 }, (_, i) => ({
      type: 'image-url',
      url: `https://cdn.example.com/${i}.jpg`,
    }));
    for (const kind of ['json', 'error-json']) {
      const json = call({
        prompt: [
          {
            role: 'tool',
            content: [
              {
                type: 'tool-result',
                toolCallId: 'c1',
                toolName: 'list',
                output: { type: kind, value: { items } },
              },
            ],
          },
        ] as BudgetedCall['params']['prompt'],
      });
      const asText = Math.ceil(JSON.stringify(items).length / 4);
      const got = estimateTokens(json, { fileTokens: 700 }).input;
      expect(got).toBeGreaterThanOrEqual(asText);
      expect(got).toBeLessThan(asText + 100);
    }
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
