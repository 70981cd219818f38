import type { LanguageModelMiddleware } from 'ai';
import type { TokenEstimate } from './estimate.js';
import { describe } from './invalid.js';
import type { TokenUsage } from './prices.js';

type GenerateResult = Awaited<ReturnType<NonNullable<LanguageModelMiddleware['wrapGenerate']>>>;

/**
 * @internal The usage a provider reports (`LanguageModelV3Usage` in ai@6,
 * `LanguageModelV4Usage` in ai@7, the same shape).
 */
export type ReportedUsage = GenerateResult['usage'];

/**
 * @internal What a call is charged: token counts, and whether its input is the estimate's
 * rather than reported. Estimated input may have been read from or written to the provider's
 * cache, so it is priced at the dearest input rate.
 */
export interface Charge extends TokenUsage {
  readonly estimatedInput?: boolean;
}

/** @internal A call charged at its estimate: the reservation, and no more. */
export const estimated = (estimate: TokenEstimate): Charge => ({
  input: estimate.input,
  output: estimate.output,
  estimatedInput: true,
});

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
export function measured(usage: ReportedUsage | undefined, estimate: TokenEstimate): Charge {
  const i = usage?.inputTokens;
  const o = usage?.outputTokens;
  const parts = sumOf(i?.noCache, i?.cacheRead, i?.cacheWrite);
  const input = count(i?.total) ?? Math.max(estimate.input, parts ?? 0);
  const output = count(o?.total) ?? Math.max(estimate.output, sumOf(o?.text, o?.reasoning) ?? 0);
  const cachedInput = Math.min(count(i?.cacheRead) ?? 0, input);
  const cacheWrite = Math.min(count(i?.cacheWrite) ?? 0, input - cachedInput);
  const estimatedInput = count(i?.total) === undefined && parts === undefined;
  return { input, output, cachedInput, cacheWrite, estimatedInput };
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

const FIELDS = {
  inputTokens: ['total', 'noCache', 'cacheRead', 'cacheWrite'],
  outputTokens: ['total', 'text', 'reasoning'],
} as const;

/**
 * @internal The counts `usage` reports that are not amounts (negative, fractional, above
 * 2^53 − 1, NaN, not numbers), as `inputTokens.total = 1e+300`; a count left out is not one.
 */
export function unusableCounts(usage: ReportedUsage | undefined): string[] {
  const found: string[] = [];
  for (const [side, names] of Object.entries(FIELDS)) {
    const counts = (usage as Record<string, Record<string, unknown> | undefined> | undefined)?.[
      side
    ];
    for (const name of names) {
      const value = counts?.[name];
      if (value != null && count(value) === undefined) {
        found.push(`${side}.${name} = ${describe(value)}`);
      }
    }
  }
  return found;
}
