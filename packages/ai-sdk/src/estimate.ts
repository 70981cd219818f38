import type { BudgetedCall, CallParams } from './call.js';
import { describe, invalid } from './invalid.js';

/**
 * Tokens a call is expected to use, before it is sent: input (the prompt) and output.
 *
 * @example
 * ```ts
 * import type { TokenEstimate } from '@budgetry/ai-sdk';
 *
 * const estimate: TokenEstimate = { input: 1_200, output: 512 };
 * ```
 */
export interface TokenEstimate {
  readonly input: number;
  readonly output: number;
}

/**
 * Options of the built-in estimators.
 *
 * @example
 * ```ts
 * import type { EstimateOptions } from '@budgetry/ai-sdk';
 *
 * const options: EstimateOptions = { defaultMaxOutputTokens: 1_024, charsPerToken: 3 };
 * ```
 */
export interface EstimateOptions {
  /** Output tokens to assume when a call sets no `maxOutputTokens` (default 4 096). */
  readonly defaultMaxOutputTokens?: number;
  /**
   * Characters per input token, for {@link estimateTokens} (default 4, typical of English); at
   * least 0.25, since a byte-level tokenizer makes at most a token a byte, and a character is at
   * most four bytes.
   */
  readonly charsPerToken?: number;
  /** Tokens to assume per file or image in the prompt (default 1 000); not for a text file. */
  readonly fileTokens?: number;
}

/** The parts of an ai@6 (LanguageModelV3) tool result's content that carry a file. */
const SPEC_V3_FILES = new Set([
  'file-data',
  'file-url',
  'file-id',
  'image-data',
  'image-url',
  'image-file-id',
  'media',
]);

/**
 * `part` without the files of an ai@6 tool result's content (`output: { type: 'content',
 * value }`), calling `counted` once for each: data (base64), a URL or a provider's file id.
 * Only there: a tool's JSON output may hold objects of those types that are no files.
 */
function withoutV3Files(part: unknown, counted: () => void): unknown {
  const { type, output } = part as { type?: unknown; output?: unknown };
  const content = output as { type?: unknown; value?: unknown } | null | undefined;
  if (type !== 'tool-result' || content?.type !== 'content' || !Array.isArray(content.value)) {
    return part;
  }
  const kept = content.value.filter((item: unknown) => {
    const t = (item as { type?: unknown } | null)?.type;
    if (typeof t !== 'string' || !SPEC_V3_FILES.has(t)) return true;
    counted();
    return false;
  });
  return { ...(part as object), output: { ...content, value: kept } };
}

/** The text of a text file (ai@7's file data `{ type: 'text', text }`), if it is one. */
function fileText(data: unknown): string | undefined {
  const d = data as { type?: unknown; text?: unknown } | null;
  return typeof d === 'object' && d !== null && d.type === 'text' && typeof d.text === 'string'
    ? d.text
    : undefined;
}

/**
 * The prompt's text, tools and schema as one string, and how many files it carries. A file is
 * counted as a file, wherever it is (a tool result can hold one), but a text file by its text;
 * binary data met in a part is a file too, never serialised byte by byte.
 */
function promptText(params: CallParams): { text: string; files: number } {
  const pieces: string[] = [];
  let files = 0;
  const file = (data: unknown) => {
    const text = fileText(data);
    if (text === undefined) files++;
    else pieces.push(text);
  };
  const serialise = (part: unknown) =>
    JSON.stringify(part, function (this: Record<string, unknown>, key, value: unknown) {
      const raw = this[key]; // before toJSON, which turns a Buffer into an array of numbers
      if (ArrayBuffer.isView(raw) || raw instanceof ArrayBuffer) {
        files++;
        return undefined;
      }
      const nested = value as { type?: unknown; mediaType?: unknown; data?: unknown } | null;
      if (nested?.type === 'file' && typeof nested.mediaType === 'string' && key !== '') {
        file(nested.data);
        return undefined;
      }
      return value;
    }) ?? '';
  for (const message of params.prompt) {
    if (typeof message.content === 'string') {
      pieces.push(message.content);
      continue;
    }
    for (const part of message.content) {
      const type: string = part.type;
      if (type === 'reasoning-file') {
        files++; // ai@7: a file the model produced while reasoning, sent back
        continue;
      }
      switch (part.type) {
        case 'text':
        case 'reasoning':
          pieces.push(part.text);
          break;
        case 'file':
          file(part.data);
          break;
        case 'tool-call':
          pieces.push(part.toolName, JSON.stringify(part.input) ?? '');
          break;
        default:
          pieces.push(serialise(withoutV3Files(part, () => files++)));
      }
    }
  }
  if (params.tools !== undefined) pieces.push(JSON.stringify(params.tools));
  if (params.responseFormat?.type === 'json' && params.responseFormat.schema !== undefined) {
    pieces.push(JSON.stringify(params.responseFormat.schema));
  }
  return { text: pieces.join('\n'), files };
}

const MIN_CHARS_PER_TOKEN = 0.25;

function optionsOf(options: EstimateOptions) {
  const out = {
    defaultMaxOutputTokens: options.defaultMaxOutputTokens ?? 4_096,
    charsPerToken: options.charsPerToken ?? 4,
    fileTokens: options.fileTokens ?? 1_000,
  };
  for (const [name, value] of Object.entries(out)) {
    // Fewer characters a token would count more tokens than any tokenizer makes, and turn
    // every long prompt's estimate into more than 2^53 − 1.
    const ok =
      name === 'charsPerToken'
        ? value >= MIN_CHARS_PER_TOKEN && Number.isFinite(value)
        : Number.isSafeInteger(value) && value >= 0;
    if (typeof value !== 'number' || !ok) {
      throw invalid(
        `option ${name} must be a ${name === 'charsPerToken' ? `finite number of at least ${MIN_CHARS_PER_TOKEN}` : 'non-negative safe integer'}, got ${describe(value)}`,
        { name, value },
      );
    }
  }
  return out;
}

function outputOf(call: BudgetedCall, fallback: number): number {
  const max = call.params.maxOutputTokens;
  return Number.isSafeInteger(max) && (max as number) >= 0 ? (max as number) : fallback;
}

/**
 * The default estimate: the prompt (text, tool definitions, JSON schema) at `charsPerToken`
 * characters per token, rounded up, plus a fixed count per file (a text file, which ai@7 can
 * send, by its text), and `maxOutputTokens` (or `defaultMaxOutputTokens`) for the output.
 * Typical, not a bound: a prompt in a script that tokenizes densely can use more input tokens
 * than this says, and the difference becomes debt (see the README's overshoot bound). Use
 * {@link upperBoundTokens} where that must not happen, or a tokenizer of your own.
 *
 * @param call - the model call.
 * @param options - the defaults above.
 * @returns input and output tokens.
 *
 * @example
 * ```ts
 * import { type BudgetedCall, estimateTokens } from '@budgetry/ai-sdk';
 *
 * const call: BudgetedCall = {
 *   type: 'generate',
 *   provider: 'openai',
 *   modelId: 'gpt-4o-mini',
 *   params: { prompt: [{ role: 'user', content: [{ type: 'text', text: 'Hello there!' }] }], maxOutputTokens: 256 },
 * };
 * estimateTokens(call); // { input: 3, output: 256 }
 * ```
 */
export function estimateTokens(call: BudgetedCall, options: EstimateOptions = {}): TokenEstimate {
  const o = optionsOf(options);
  const { text, files } = promptText(call.params);
  return {
    input: Math.ceil(text.length / o.charsPerToken) + files * o.fileTokens,
    output: outputOf(call, o.defaultMaxOutputTokens),
  };
}

/**
 * An estimate that is a bound for byte-level BPE tokenizers (every token covers at least one
 * byte): the prompt's UTF-8 length in bytes (a text file's too), plus a fixed count per other
 * file, and `maxOutputTokens` for the output. With it a budget is never exceeded, as long as
 * files stay within `fileTokens` and calls set `maxOutputTokens`; the price is reserving about
 * four times what a call typically uses, until it is reconciled.
 *
 * @param call - the model call.
 * @param options - `defaultMaxOutputTokens` and `fileTokens` (`charsPerToken` is ignored).
 * @returns input and output tokens.
 *
 * @example
 * ```ts
 * import { type BudgetedCall, upperBoundTokens } from '@budgetry/ai-sdk';
 *
 * const call: BudgetedCall = {
 *   type: 'stream',
 *   provider: 'anthropic',
 *   modelId: 'claude-sonnet-4',
 *   params: { prompt: [{ role: 'system', content: 'Réponds en français.' }], maxOutputTokens: 100 },
 * };
 * upperBoundTokens(call); // { input: 22, output: 100 }: "é" and "ç" are two bytes each
 * ```
 */
export function upperBoundTokens(call: BudgetedCall, options: EstimateOptions = {}): TokenEstimate {
  const o = optionsOf(options);
  const { text, files } = promptText(call.params);
  return {
    input: new TextEncoder().encode(text).length + files * o.fileTokens,
    output: outputOf(call, o.defaultMaxOutputTokens),
  };
}
