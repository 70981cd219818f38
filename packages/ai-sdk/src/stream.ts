import type { LanguageModelMiddleware } from 'ai';
import type { TokenEstimate } from './estimate.js';
import type { Held } from './gate.js';
import type { TokenUsage } from './prices.js';
import { measured, type ReportedUsage, reportsAny } from './usage.js';

type StreamResult = Awaited<ReturnType<NonNullable<LanguageModelMiddleware['wrapStream']>>>;
type Part = StreamResult['stream'] extends ReadableStream<infer P> ? P : never;

/**
 * @internal Settles `held` with `usage`; when the budget refuses that usage (more than it can
 * count, a price past 2^53 − 1 micro-dollars), settles it at the estimate the call was
 * admitted under instead, so nothing stays held, and throws the first error. A budget that
 * fails both times (a backend down) is left to its own expiry or leak backstop.
 */
export async function settleOrFallBack(
  held: Held,
  usage: TokenUsage,
  estimate: TokenEstimate,
): Promise<void> {
  try {
    await held.settle(usage);
  } catch (error) {
    await held.settle({ input: estimate.input, output: estimate.output }).catch(() => {});
    throw error;
  }
}

/**
 * What a stream has generated so far: the UTF-8 bytes of its text, reasoning and tool input,
 * whether it carried a generated file, and the tool calls whose input came as deltas (their
 * whole `tool-call` part repeats what was counted).
 */
interface Output {
  bytes: number;
  file: boolean;
  readonly streamedTools: Set<unknown>;
}

/** Adds what a stream part carries as output to `out`; a part that carries none adds nothing. */
function addOutput(out: Output, part: unknown): void {
  if (typeof part !== 'object' || part === null) return;
  const { type, delta, id, toolCallId, input } = part as Record<string, unknown>;
  if (type === 'text-delta' || type === 'reasoning-delta' || type === 'tool-input-delta') {
    if (typeof delta === 'string') out.bytes += utf8Length(delta);
    if (type === 'tool-input-delta') out.streamedTools.add(id);
  } else if (type === 'tool-call') {
    // A tool call sent whole, without deltas before it, is output generated all the same.
    if (typeof input === 'string' && !out.streamedTools.has(toolCallId)) {
      out.bytes += utf8Length(input);
    }
  } else if (type === 'file' || type === 'reasoning-file') {
    // A generated file (ai@7 also streams files the model made while reasoning).
    out.file = true;
  }
}

/**
 * The UTF-8 length of `text`, without encoding it. Output is counted in bytes rather than
 * characters: a character of Chinese, Japanese or Korean text is three bytes and about one
 * token, so counting characters would charge an abandoned stream a quarter of what it cost.
 */
function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) {
      // A surrogate pair: four bytes for two UTF-16 units.
      bytes += 2;
      i++;
    } else bytes += 2;
  }
  return bytes;
}

/**
 * @internal The provider's stream, passed through unchanged, settling the call exactly once:
 * with the usage of its `finish` part when it ends; when it errors, is aborted or is
 * abandoned (cancelled by the reader) before that, or sends an `error` part and a finish that
 * reports no usage at all, with the estimated input plus the output streamed so far — its
 * UTF-8 bytes at `charsPerToken` (the provider bills what it generated) — or, if nothing was
 * streamed, by refunding everything.
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
  let finished = false;
  // An error part: the provider failed in band (and may still send a finish, without usage).
  let failed = false;
  const out: Output = { bytes: 0, file: false, streamedTools: new Set() };
  let settled = false;
  const settleOnce = async (): Promise<void> => {
    if (settled) return;
    settled = true;
    if (finished && (!failed || reportsAny(usage))) {
      // A finish part without usage: what the provider did not report is taken at its estimate.
      await settleOrFallBack(held, measured(usage, estimate), estimate);
    } else if (out.bytes > 0 || out.file) {
      // Cut short, or failed in band with nothing reported: what it streamed.
      // A generated file has no size in tokens that its bytes tell: the estimate's output.
      const streamed = Math.ceil(out.bytes / charsPerToken);
      const output = out.file ? Math.max(streamed, estimate.output) : streamed;
      await settleOrFallBack(held, { input: estimate.input, output }, estimate);
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
        await settleOnce().catch(report);
        controller.error(error);
        return;
      }
      if (next.done) {
        try {
          await settleOnce();
        } catch (error) {
          controller.error(error);
          return;
        }
        controller.close();
        return;
      }
      const part = next.value;
      // Parts are read defensively: a provider's malformed part must not end the stream with
      // its call still holding its reservation.
      if (part?.type === 'finish') {
        finished = true;
        usage = part.usage;
      } else if (part?.type === 'error') {
        failed = true;
      } else addOutput(out, part);
      controller.enqueue(part);
    },
    async cancel(reason) {
      await settleOnce().catch(report);
      await reader.cancel(reason);
    },
  });
  return { ...result, stream };
}
