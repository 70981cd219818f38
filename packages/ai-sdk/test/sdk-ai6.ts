// ai@6 (LanguageModelV3) for the shared suites; see sdk.ts.
import { createRequire } from 'node:module';
import {
  APICallError,
  generateText,
  simulateReadableStream,
  streamText,
  wrapLanguageModel,
} from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { type Sdk, sdkOf } from './sdk.js';

const { version } = createRequire(import.meta.url)('ai/package.json') as { version: string };

export const ai6: Sdk<MockLanguageModelV3, ReturnType<typeof wrapLanguageModel>> = sdkOf({
  version,
  Mock: MockLanguageModelV3,
  wrapLanguageModel,
  generateText,
  streamText,
  simulateReadableStream,
  APICallError,
});
