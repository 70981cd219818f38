// The AI SDK as the shared suites (test/*-suite.ts) use it, so that one set of behavioural tests
// runs against ai@6 and its MockLanguageModelV3 (test/sdk-ai6.ts) and against ai@7 and its
// MockLanguageModelV4 (test/sdk-ai7.ts). The shapes below are the parts of the V3 and V4
// specifications the suites need, which the two share; each adapter hands them to its own SDK,
// so the compiler checks them against both (ai@7's with `tsconfig.ai7.json`).
import type { LanguageModelMiddleware } from 'ai';
import { type BudgetMiddlewareOptions, budgetMiddleware } from '../src/index.js';

type Count = number | undefined;

/** Usage as a provider reports it (`LanguageModelV3Usage`, `LanguageModelV4Usage`). */
export interface Usage {
  inputTokens: { total: Count; noCache: Count; cacheRead: Count; cacheWrite: Count };
  outputTokens: { total: Count; text: Count; reasoning: Count };
}

interface FinishReason {
  unified: 'stop';
  raw: undefined;
}

/** A model's answer to a generate call: text, and the usage it reports. */
export interface Answer {
  content: { type: 'text'; text: string }[];
  finishReason: FinishReason;
  usage: Usage;
  warnings: never[];
}

/** The stream parts the suites send: a text answer and its finish part with usage. */
export type Chunk =
  | { type: 'stream-start'; warnings: never[] }
  | { type: 'text-start'; id: string }
  | { type: 'text-delta'; id: string; delta: string }
  | { type: 'text-end'; id: string }
  | { type: 'finish'; finishReason: FinishReason; usage: Usage };

/** What a mock model's functions read of the call they answer. */
export interface ModelCall {
  readonly abortSignal?: AbortSignal | undefined;
  readonly providerOptions?: Readonly<Record<string, Record<string, unknown>>> | undefined;
}

/** How a mock model answers. */
export interface MockBehaviour {
  readonly doGenerate?: (call: ModelCall) => Promise<Answer>;
  readonly doStream?: (call: ModelCall) => Promise<{ stream: ReadableStream<Chunk> }>;
}

/** The SDK's mock model, as the suites inspect it. */
export interface MockModel {
  readonly doGenerateCalls: readonly unknown[];
}

/** A model wrapped with the budget middleware, called directly (without generateText). */
export interface WrappedModel {
  doStream(options: {
    prompt: { role: 'user'; content: { type: 'text'; text: string }[] }[];
  }): PromiseLike<{ stream: ReadableStream<unknown> }>;
}

type Json = null | string | number | boolean | Json[] | { [key: string]: Json | undefined };

interface CallOptions<W> {
  model: W;
  prompt: string;
  abortSignal?: AbortSignal;
  providerOptions?: Record<string, { [key: string]: Json | undefined }>;
}

/** What the suites make an AI SDK `APICallError` of: an HTTP answer with an error status. */
export interface ApiErrorInit {
  message: string;
  url: string;
  requestBodyValues: unknown;
  statusCode: number;
  responseHeaders?: Record<string, string>;
  isRetryable: boolean;
}

/** One major of the AI SDK, as the suites drive it. */
export interface Sdk<M extends MockModel = MockModel, W extends WrappedModel = WrappedModel> {
  /** `ai@<version>`, for test names. */
  readonly name: string;
  /** The SDK's mock language model (modelId `mock-model`) answering as told. */
  mock(behaviour: MockBehaviour): M;
  /** `wrapLanguageModel` with `budgetMiddleware(options)`. */
  wrap(model: M, options: BudgetMiddlewareOptions): W;
  generateText(
    options: CallOptions<W> & { maxOutputTokens?: number; maxRetries?: number },
  ): Promise<{ text: string }>;
  streamText(options: CallOptions<W> & { onError?: () => void }): {
    textStream: AsyncIterable<string>;
  };
  /** The SDK's `simulateReadableStream`. */
  simulateReadableStream(chunks: Chunk[], chunkDelayInMs: number | null): ReadableStream<Chunk>;
  /** The SDK's own `APICallError`, which its retries recognise. */
  apiCallError(init: ApiErrorInit): Error;
}

/** What an adapter hands {@link sdkOf}: one major's own functions, checked against the shapes above. */
export interface SdkExports<M extends MockModel, W extends WrappedModel> {
  /** The installed version, read from its package.json. */
  readonly version: string;
  /** The SDK's mock language model class. */
  readonly Mock: new (
    settings: MockBehaviour & { modelId: string },
  ) => M;
  readonly wrapLanguageModel: (options: { model: M; middleware: LanguageModelMiddleware }) => W;
  readonly generateText: Sdk<M, W>['generateText'];
  readonly streamText: Sdk<M, W>['streamText'];
  readonly simulateReadableStream: (options: {
    chunks: Chunk[];
    chunkDelayInMs: number | null;
  }) => ReadableStream<Chunk>;
  readonly APICallError: new (init: ApiErrorInit) => Error;
}

/** The suites' view of one major of the SDK, from its own functions. */
export function sdkOf<M extends MockModel, W extends WrappedModel>(
  ai: SdkExports<M, W>,
): Sdk<M, W> {
  return {
    name: `ai@${ai.version}`,
    mock: (behaviour) => new ai.Mock({ modelId: 'mock-model', ...behaviour }),
    wrap: (model, options) =>
      ai.wrapLanguageModel({ model, middleware: budgetMiddleware(options) }),
    generateText: (options) => ai.generateText(options),
    streamText: (options) => ai.streamText(options),
    simulateReadableStream: (chunks, chunkDelayInMs) =>
      ai.simulateReadableStream({ chunks, chunkDelayInMs }),
    apiCallError: (init) => new ai.APICallError(init),
  };
}
