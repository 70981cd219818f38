// The simulated provider behind the AI SDK's mock language model (`--ai-sdk`): a prompt of a
// known size, and the streams the provider answers with.
import type { MockLanguageModelV3 } from 'ai/test';

/** What the mock model's `doStream` resolves: the provider's stream. */
export type StreamResult = Awaited<ReturnType<MockLanguageModelV3['doStream']>>;
/** One part of that stream. */
export type StreamPart = StreamResult['stream'] extends ReadableStream<infer P> ? P : never;

/** The middleware's default estimate counts four characters a token. */
export const CHARS_PER_TOKEN = 4;

const FILLER = 'Summarise the open tickets of this tenant and draft a reply to each. ';

/**
 * A prompt that the middleware's default estimate (`estimateTokens`: the text at four
 * characters a token) counts as exactly `tokens` input tokens.
 *
 * @param tokens - input tokens.
 * @returns the prompt text.
 */
export function promptOf(tokens: number): string {
  const length = tokens * CHARS_PER_TOKEN;
  return FILLER.repeat(Math.ceil(length / FILLER.length)).slice(0, length);
}

const opening: StreamPart[] = [
  { type: 'stream-start', warnings: [] },
  { type: 'text-start', id: 'text' },
];

/**
 * A whole answer: some text, then the `finish` part with the usage the provider reports.
 *
 * @param prompt - input tokens it reports.
 * @param completion - output tokens it reports.
 * @returns the stream, ready to be read to its end.
 */
export function finished(prompt: number, completion: number): ReadableStream<StreamPart> {
  const parts: StreamPart[] = [
    ...opening,
    { type: 'text-delta', id: 'text', delta: 'Here is the summary.' },
    { type: 'text-end', id: 'text' },
    {
      type: 'finish',
      finishReason: { unified: 'stop', raw: 'stop' },
      usage: {
        inputTokens: { total: prompt, noCache: prompt, cacheRead: 0, cacheWrite: 0 },
        outputTokens: { total: completion, text: completion, reasoning: 0 },
      },
    },
  ];
  return new ReadableStream<StreamPart>({
    start(controller) {
      for (const part of parts) controller.enqueue(part);
      controller.close();
    },
  });
}

/**
 * An answer cut short by the caller: `completion` tokens of text (at four characters a token),
 * then, once the reader has taken them all and asks for more, `streamed` is called — the
 * caller aborts there — and the stream errors with the signal's reason, as a provider's
 * response does when its request is aborted. No `finish` part, so no reported usage.
 *
 * @param completion - output tokens streamed before the abort.
 * @param signal - the call's abort signal.
 * @param streamed - told when the text has been read.
 * @returns the stream.
 */
export function cutShort(
  completion: number,
  signal: AbortSignal,
  streamed: () => void,
): ReadableStream<StreamPart> {
  const parts: StreamPart[] = [
    ...opening,
    { type: 'text-delta', id: 'text', delta: 'x'.repeat(completion * CHARS_PER_TOKEN) },
  ];
  let next = 0;
  return new ReadableStream<StreamPart>(
    {
      pull(controller) {
        if (next < parts.length) {
          controller.enqueue(parts[next++]!);
          return undefined;
        }
        streamed();
        return new Promise<void>((resolve) => {
          const stop = () => {
            controller.error(signal.reason);
            resolve();
          };
          if (signal.aborted) stop();
          else signal.addEventListener('abort', stop, { once: true });
        });
      },
    },
    // Nothing is read ahead: a part is made only when the reader asks for it.
    { highWaterMark: 0 },
  );
}
