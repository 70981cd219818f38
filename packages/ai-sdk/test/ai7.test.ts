// The middleware on ai@7 (LanguageModelV4, installed as the alias `ai7`): the same behavioural
// suites as on ai@6, and the estimators on prompt parts only V4 has. ai@7 declares
// `engines.node >=22`, so its suites run on a Node that meets that (CI's Node 22 leg) and are
// reported as skipped, with the reason, on an older one. Type-checked by tsconfig.ai7.json.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { type BudgetedCall, estimateTokens, upperBoundTokens } from '../src/index.js';
import { hostileSuite } from './hostile-suite.js';
import { middlewareSuite } from './middleware-suite.js';
import { overshootSuite } from './overshoot-suite.js';
import { reviewSuite } from './review-suite.js';

const ai7Package = createRequire(import.meta.url)('ai7/package.json') as {
  version: string;
  engines?: { node?: string };
};
const wanted = ai7Package.engines?.node;
const version = (text: string) => text.split('.').map(Number).concat(0, 0).slice(0, 3);
const atLeast = /^>=\s*(\d+(?:\.\d+){0,2})$/.exec(wanted ?? '')?.[1];
if (atLeast === undefined) {
  // A range this file cannot read must fail loudly, not skip or run by accident.
  throw new Error(`ai@7 declares engines.node ${JSON.stringify(wanted)}; update ai7.test.ts`);
}
const [have, need] = [version(process.versions.node), version(atLeast)];
const i = have.findIndex((part, k) => part !== need[k]);
const nodeMeetsAi7 = i === -1 || have[i]! > need[i]!;

if (nodeMeetsAi7) {
  const { ai7 } = await import('./sdk-ai7.js');
  middlewareSuite(ai7);
  hostileSuite(ai7);
  overshootSuite(ai7);
  reviewSuite(ai7);
} else {
  const reason =
    `ai@${ai7Package.version} suites skipped: ai@7 needs Node ${wanted}, this is ` +
    `Node ${process.versions.node} (CI runs them on its Node 22 leg)`;
  console.info(reason); // the default reporter prints only a count of skipped tests
  it.skip(reason);
}

function call(prompt: BudgetedCall['params']['prompt']): BudgetedCall {
  return { type: 'generate', provider: 'p', modelId: 'm', params: { prompt, maxOutputTokens: 1 } };
}

describe('estimators on LanguageModelV4 prompts', () => {
  it('count a text file (file data { type: "text" }) by its text, not as a file', () => {
    const text = 'été '.repeat(100); // 400 characters, 600 UTF-8 bytes
    const c = call([
      {
        role: 'user',
        content: [{ type: 'file', mediaType: 'text/plain', data: { type: 'text', text } }],
      },
    ]);
    expect(estimateTokens(c, { fileTokens: 7 }).input).toBe(100);
    expect(upperBoundTokens(c, { fileTokens: 7 }).input).toBe(600);
  });

  it('count a reasoning file as a file, not by its serialised bytes', () => {
    const c = call([
      {
        role: 'assistant',
        content: [
          {
            type: 'reasoning-file',
            mediaType: 'image/png',
            data: { type: 'data', data: new Uint8Array(40_000) },
          },
        ],
      },
    ]);
    expect(estimateTokens(c, { fileTokens: 500 }).input).toBe(500);
    expect(upperBoundTokens(c, { fileTokens: 500 }).input).toBe(500);
  });

  it('count the files in a tool result as files, a text file by its text', () => {
    const c = call([
      {
        role: 'tool',
        content: [
          {
            type: 'tool-result',
            toolCallId: 'c1',
            toolName: 'screenshot',
            output: {
              type: 'content',
              value: [
                { type: 'text', text: 'the page' },
                {
                  type: 'file',
                  mediaType: 'image/png',
                  data: { type: 'data', data: new Uint8Array(40_000) },
                },
                {
                  type: 'file',
                  mediaType: 'text/plain',
                  data: { type: 'text', text: 'x'.repeat(800) },
                },
              ],
            },
          },
        ],
      },
    ]);
    // The image at 500, the text file's 800 characters (200 tokens), and the rest of the result
    // (ids, names, 'the page'): far from the 40 000 bytes serialised one by one.
    const input = estimateTokens(c, { fileTokens: 500 }).input;
    expect(input).toBeGreaterThanOrEqual(700);
    expect(input).toBeLessThan(760);
  });

  it.each([
    ['a Uint8Array', new Uint8Array(40_000)],
    ['a Buffer', Buffer.alloc(40_000)],
  ])('count %s in a part of a kind they do not know as a file, not byte by byte', (_, bytes) => {
    // A part a later specification may add; the prompt types do not know it, the estimators
    // still meet it at run time.
    const part = { type: 'audio-clip', mediaType: 'audio/wav', samples: bytes };
    const c = call([{ role: 'user', content: [part as never] }]);
    const input = estimateTokens(c, { fileTokens: 500 }).input;
    expect(input).toBeGreaterThanOrEqual(500);
    expect(input).toBeLessThan(520);
  });
});
