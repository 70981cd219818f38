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

/** The sum of the parts that are amounts, or `undefined` when none is. */
function sumOf(...parts: unknown[]): number | undefined {
  let sum: number | undefined;
  for (const part of parts) {
    const n = count(part);
    if (n !== undefined) sum = (sum ?? 0) + n;
  }
  return sum;
}

/**
 * @internal What a call used, from what the provider reported. A total the provider leaves
 * out (or reports as something that is not an amount) is taken at its estimate — the bound the
 * call was admitted under, never less — or at the sum of the parts it did report (input not
 * cached, read from and written to the cache; text and reasoning output) when that is more.
 */
export function measured(usage: ReportedUsage | undefined, estimate: TokenEstimate): TokenUsage {
  const i = usage?.inputTokens;
  const o = usage?.outputTokens;
  const input =
    count(i?.total) ??
    Math.max(estimate.input, sumOf(i?.noCache, i?.cacheRead, i?.cacheWrite) ?? 0);
  const output = count(o?.total) ?? Math.max(estimate.output, sumOf(o?.text, o?.reasoning) ?? 0);
  const cachedInput = Math.min(count(i?.cacheRead) ?? 0, input);
  const cacheWrite = Math.min(count(i?.cacheWrite) ?? 0, input - cachedInput);
  return { input, output, cachedInput, cacheWrite };
}

/** @internal Whether `usage` reports any count at all (a total or a part). */
export function reportsAny(usage: ReportedUsage | undefined): boolean {
  const i = usage?.inputTokens;
  const o = usage?.outputTokens;
  return (
    sumOf(i?.total, i?.noCache, i?.cacheRead, i?.cacheWrite, o?.total, o?.text, o?.reasoning) !==
    undefined
  );
}
