// ai@6 (LanguageModelV3) for the shared suites; see sdk.ts.
import { createRequire } from 'node:module';
import { generateText, simulateReadableStream, streamText, wrapLanguageModel } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { budgetMiddleware } from '../src/index.js';
import type { Sdk } from './sdk.js';

const { version } = createRequire(import.meta.url)('ai/package.json') as { version: string };

export const ai6: Sdk<MockLanguageModelV3, ReturnType<typeof wrapLanguageModel>> = {
  name: `ai@${version}`,
  mock: (behaviour) => new MockLanguageModelV3({ modelId: 'mock-model', ...behaviour }),
  wrap: (model, options) => wrapLanguageModel({ model, middleware: budgetMiddleware(options) }),
  generateText: (options) => generateText(options),
  streamText: (options) => streamText(options),
  simulateReadableStream: (chunks, chunkDelayInMs) =>
    simulateReadableStream({ chunks, chunkDelayInMs }),
};
