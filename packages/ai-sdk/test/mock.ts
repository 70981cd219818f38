// Models for the tests: the AI SDK's own MockLanguageModelV3, answering with given usage.
import { simulateReadableStream } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';

export function usage(input: number | undefined, output: number | undefined, cacheRead?: number) {
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

export function generating(
  input: number | undefined,
  output: number | undefined,
  cacheRead?: number,
) {
  return new MockLanguageModelV3({
    modelId: 'mock-model',
    doGenerate: async () => ({
      content: [{ type: 'text', text: 'hello' }],
      finishReason: { unified: 'stop', raw: undefined },
      usage: usage(input, output, cacheRead),
      warnings: [],
    }),
  });
}

export function failing(error: Error) {
  return new MockLanguageModelV3({
    modelId: 'mock-model',
    doGenerate: async () => {
      throw error;
    },
    doStream: async () => {
      throw error;
    },
  });
}

type Chunk = Parameters<typeof simulateReadableStream>[0]['chunks'][number];

export function textChunks(text: string[]): Chunk[] {
  return [
    { type: 'stream-start', warnings: [] },
    { type: 'text-start', id: 't' },
    ...text.map((delta) => ({ type: 'text-delta', id: 't', delta })),
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

export function streaming(chunks: Chunk[], chunkDelayInMs: number | null = null) {
  return new MockLanguageModelV3({
    modelId: 'mock-model',
    doStream: async () => ({ stream: simulateReadableStream({ chunks, chunkDelayInMs }) as never }),
  });
}

/** A streaming model that, like a real provider, stops with an AbortError when the call aborts. */
export function abortableStreaming(chunks: Chunk[], chunkDelayInMs: number) {
  return new MockLanguageModelV3({
    modelId: 'mock-model',
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
      return { stream: stream as never };
    },
  });
}
