// ai@7 (LanguageModelV4) for the shared suites; see sdk.ts. Installed as the alias `ai7`. Type-
// checked by tsconfig.ai7.json, where `ai` (what src imports its types from) is ai@7 too, as it
// is for a user who installs ai@7: the middleware is then an ai@7 `LanguageModelMiddleware`.
import { createRequire } from 'node:module';
import {
  APICallError,
  generateText,
  simulateReadableStream,
  streamText,
  wrapLanguageModel,
} from 'ai7';
import { MockLanguageModelV4 } from 'ai7/test';
import { type Sdk, sdkOf } from './sdk.js';

const { version } = createRequire(import.meta.url)('ai7/package.json') as { version: string };

export const ai7: Sdk<MockLanguageModelV4, ReturnType<typeof wrapLanguageModel>> = sdkOf({
  version,
  Mock: MockLanguageModelV4,
  wrapLanguageModel,
  generateText,
  streamText,
  simulateReadableStream,
  APICallError,
});
