import type { LanguageModelMiddleware } from 'ai';
import type { TokenEstimate } from './estimate.js';
import type { Held } from './gate.js';
import { measured, type ReportedUsage } from './usage.js';

type StreamResult = Awaited<ReturnType<NonNullable<LanguageModelMiddleware['wrapStream']>>>;
type Part = StreamResult['stream'] extends ReadableStream<infer P> ? P : never;

/**
 * @internal The provider's stream, passed through unchanged, settling the call exactly once:
 * with the usage of its `finish` part when it ends; when it errors, is aborted or is
 * abandoned (cancelled by the reader) before that, with the estimated input plus the output
 * streamed so far (the provider bills what it generated), or, if nothing was streamed, by
 * refunding everything.
 */
export function settleWhenDone(
  result: StreamResult,
  held: Held,
  estimate: TokenEstimate,
  charsPerToken: number,
  report: (error: unknown) => void,
): StreamResult {
  const reader = result.stream.getReader();
  let usage: ReportedUsage | undefined;
  let streamedChars = 0;
  let settled = false;
  const settleOnce = async (finished: boolean): Promise<void> => {
    if (settled) return;
    settled = true;
    if (usage !== undefined || finished) {
      await held.settle(measured(usage, estimate));
    } else if (streamedChars > 0) {
      await held.settle({
        input: estimate.input,
        output: Math.ceil(streamedChars / charsPerToken),
      });
    } else {
      await held.cancel();
    }
  };
  const stream = new ReadableStream<Part>({
    async pull(controller) {
      let next: Awaited<ReturnType<typeof reader.read>>;
      try {
        next = await reader.read();
      } catch (error) {
        await settleOnce(false).catch(report);
        controller.error(error);
        return;
      }
      if (next.done) {
        try {
          await settleOnce(usage !== undefined);
        } catch (error) {
          controller.error(error);
          return;
        }
        controller.close();
        return;
      }
      const part = next.value;
      switch (part.type) {
        case 'finish':
          usage = part.usage;
          break;
        case 'text-delta':
        case 'reasoning-delta':
        case 'tool-input-delta':
          streamedChars += part.delta.length;
          break;
        default:
          break;
      }
      controller.enqueue(part);
    },
    async cancel(reason) {
      await settleOnce(false).catch(report);
      await reader.cancel(reason);
    },
  });
  return { ...result, stream };
}
