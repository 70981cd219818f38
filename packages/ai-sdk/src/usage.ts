import type { LanguageModelMiddleware } from 'ai';
import type { TokenEstimate } from './estimate.js';
import type { TokenUsage } from './prices.js';

type GenerateResult = Awaited<ReturnType<NonNullable<LanguageModelMiddleware['wrapGenerate']>>>;

/**
 * @internal The usage a provider reports (`LanguageModelV3Usage` in ai@6,
 * `LanguageModelV4Usage` in ai@7, the same shape).
 */
export type ReportedUsage = GenerateResult['usage'];

const count = (value: unknown): number | undefined =>
  Number.isSafeInteger(value) && (value as number) >= 0 ? (value as number) : undefined;

/**
 * @internal What a call used, from what the provider reported. A count the provider leaves
 * out (or reports as something that is not an amount) is taken at its estimate: the bound the
 * call was admitted under, never less.
 */
export function measured(usage: ReportedUsage | undefined, estimate: TokenEstimate): TokenUsage {
  const input = count(usage?.inputTokens?.total) ?? estimate.input;
  const output = count(usage?.outputTokens?.total) ?? estimate.output;
  const cachedInput = Math.min(count(usage?.inputTokens?.cacheRead) ?? 0, input);
  const cacheWrite = Math.min(count(usage?.inputTokens?.cacheWrite) ?? 0, input - cachedInput);
  return { input, output, cachedInput, cacheWrite };
}
