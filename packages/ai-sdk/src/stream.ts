import type { LanguageModelMiddleware } from 'ai';
import type { TokenEstimate } from './estimate.js';
import type { Held } from './gate.js';
import { refundOrReport, reportSettleFailure, settleOrReport, warnUnusable } from './settle.js';
import { measured, type ReportedUsage, reportsAny } from './usage.js';

type StreamResult = Awaited<ReturnType<NonNullable<LanguageModelMiddleware['wrapStream']>>>;
type Part = StreamResult['stream'] extends ReadableStream<infer P> ? P : never;

/**
 * What a stream has generated so far: the UTF-8 bytes of its text, reasoning and tool input,
 * whether it carried output its bytes do not measure (a generated file; reasoning, which a
 * provider bills in full though it streams a summary, or only an encrypted blob, or nothing),
 * and the tool calls whose input came as deltas (their whole `tool-call` part repeats what was
 * counted).
 */
interface Output {
  bytes: number;
  unmeasured: boolean;
  readonly streamedTools: Set<unknown>;
}

/** Adds what a stream part carries as output to `out`; a part that carries none adds nothing. */
function addOutput(out: Output, part: unknown): void {
  if (typeof part !== 'object' || part === null) return;
  const { type, delta, id, toolCallId, input } = part as Record<string, unknown>;
  if (type === 'text-delta' || type === 'reasoning-delta' || type === 'tool-input-delta') {
    if (typeof delta !== 'string') return; // malformed: no output
    out.bytes += utf8Length(delta);
    if (type === 'tool-input-delta') out.streamedTools.add(id);
    if (type === 'reasoning-delta') out.unmeasured = true;
  } else if (type === 'reasoning-start' || type === 'reasoning-end') {
    // Reasoning, with deltas or none at all (hidden, or only an encrypted blob in metadata).
    out.unmeasured = true;
  } else if (type === 'tool-call') {
    // A tool call sent whole, without deltas before it, is output generated all the same.
    if (typeof input === 'string' && !out.streamedTools.has(toolCallId)) {
      out.bytes += utf8Length(input);
    }
  } else if (type === 'file' || type === 'reasoning-file') {
    // A generated file (ai@7 also streams files the model made while reasoning).
    out.unmeasured = true;
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
 * UTF-8 bytes at `charsPerToken` (the provider bills what it generated), at least the
 * estimated output once it carried a file or reasoning — or, if nothing was streamed, by
 * refunding its tokens and dollars: the provider answered, so its request is kept. A budget
 * that fails to settle never fails the stream (see {@link settleOrReport}).
 */
export function settleWhenDone(
  result: StreamResult,
  held: Held,
  estimate: TokenEstimate,
  charsPerToken: number,
): StreamResult {
  const reader = result.stream.getReader();
  let usage: ReportedUsage | undefined;
  let finished = false;
  // An error part: the provider failed in band (and may still send a finish, without usage).
  let failed = false;
  const out: Output = { bytes: 0, unmeasured: false, streamedTools: new Set() };
  let settled = false;
  // Marks the call settled before its first await, so a read that ends meanwhile settles nothing.
  const settleOnce = async (): Promise<void> => {
    if (settled) return;
    settled = true;
    if (finished && (!failed || reportsAny(usage))) {
      // A finish part without usage: what the provider did not report is taken at its estimate.
      warnUnusable(usage);
      await settleOrReport(held, measured(usage, estimate), estimate);
    } else if (out.bytes > 0 || out.unmeasured) {
      // Cut short, or failed in band with nothing reported: what it streamed.
      const streamed = Math.ceil(out.bytes / charsPerToken);
      const output = out.unmeasured ? Math.max(streamed, estimate.output) : streamed;
      const charge = { input: estimate.input, output, estimatedInput: true };
      await settleOrReport(held, charge, estimate);
    } else {
      await refundOrReport(held, true);
    }
  };
  const stream = new ReadableStream<Part>({
    async pull(controller) {
      let next: Awaited<ReturnType<typeof reader.read>>;
      try {
        next = await reader.read();
      } catch (error) {
        await settleOnce().catch(reportSettleFailure);
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
      // The provider's stream first: a budget slow to settle must not keep it generating. No
      // part is counted after this, so what was streamed is final.
      await Promise.all([reader.cancel(reason), settleOnce().catch(reportSettleFailure)]);
    },
  });
  return { ...result, stream };
}
