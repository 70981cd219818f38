// Models for the tests: the SDK's own mock language model, answering with given usage.
import type { Chunk, MockModel, Sdk, Usage, WrappedModel } from './sdk.js';

export function usage(
  input: number | undefined,
  output: number | undefined,
  cacheRead?: number,
): Usage {
  return {
    inputTokens: {
      total: input,
      noCache: input === undefined ? undefined : input - (cacheRead ?? 0),
      cacheRead,
      cacheWrite: undefined,
    },
    outputTokens: { total: output, text: output, reasoning: undefined },
  };
}

export function textChunks(text: string[]): Chunk[] {
  return [
    { type: 'stream-start', warnings: [] },
    { type: 'text-start', id: 't' },
    ...text.map((delta): Chunk => ({ type: 'text-delta', id: 't', delta })),
    { type: 'text-end', id: 't' },
  ];
}

export function finish(input: number, output: number): Chunk {
  return {
    type: 'finish',
    finishReason: { unified: 'stop', raw: undefined },
    usage: usage(input, output),
  };
}

/** Mock models of `sdk`. */
export function mocks<M extends MockModel, W extends WrappedModel>(sdk: Sdk<M, W>) {
  return {
    generating(input: number | undefined, output: number | undefined, cacheRead?: number) {
      return sdk.mock({
        doGenerate: async () => ({
          content: [{ type: 'text', text: 'hello' }],
          finishReason: { unified: 'stop', raw: undefined },
          usage: usage(input, output, cacheRead),
          warnings: [],
        }),
      });
    },

    failing(error: Error) {
      return sdk.mock({
        doGenerate: async () => {
          throw error;
        },
        doStream: async () => {
          throw error;
        },
      });
    },

    /** A provider stream that hands out `parts`, one per read, then fails the next read. */
    failingAfter(parts: Chunk[]) {
      return sdk.mock({
        doStream: async () => {
          let i = 0;
          const stream = new ReadableStream<Chunk>({
            pull(controller) {
              if (i < parts.length) controller.enqueue(parts[i++]!);
              else controller.error(new Error('connection reset'));
            },
          });
          return { stream };
        },
      });
    },

    streaming(chunks: Chunk[], chunkDelayInMs: number | null = null) {
      return sdk.mock({
        doStream: async () => ({ stream: sdk.simulateReadableStream(chunks, chunkDelayInMs) }),
      });
    },

    /** A streaming model that, like a real provider, stops with an AbortError on an abort. */
    abortableStreaming(chunks: Chunk[], chunkDelayInMs: number) {
      return sdk.mock({
        doStream: async ({ abortSignal }) => {
          let i = 0;
          const stream = new ReadableStream<Chunk>({
            async pull(controller) {
              await new Promise((r) => setTimeout(r, chunkDelayInMs));
              if (abortSignal?.aborted) {
                controller.error(new DOMException('The operation was aborted.', 'AbortError'));
                return;
              }
              if (i < chunks.length) controller.enqueue(chunks[i++]!);
              else controller.close();
            },
          });
          return { stream };
        },
      });
    },
  };
}

/**
 * Runs `body`, collecting the process warnings of `type` it emits (process warnings are
 * delivered on a later tick: the collection waits for them).
 */
export async function warningsOf(type: string, body: () => Promise<unknown>): Promise<Error[]> {
  const seen: Error[] = [];
  const listen = (warning: Error) => {
    if (warning.name === type) seen.push(warning);
  };
  process.on('warning', listen);
  try {
    await body();
    await new Promise((resolve) => setTimeout(resolve, 10));
  } finally {
    process.off('warning', listen);
  }
  return seen;
}
