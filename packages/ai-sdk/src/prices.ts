import { assertAmount, BudgetError } from '@budgetry/core';
import { describe, invalid } from './invalid.js';

/**
 * What one model costs, in US dollars per million tokens, as providers list it. `cachedInput`
 * (input read from the provider's prompt cache) and `cacheWrite` (input written to it) default
 * to `input`.
 *
 * @example
 * ```ts
 * import type { ModelPrice } from '@budgetry/ai-sdk';
 *
 * const price: ModelPrice = { input: 2.5, cachedInput: 1.25, output: 10 };
 * ```
 */
export interface ModelPrice {
  readonly input: number;
  readonly output: number;
  readonly cachedInput?: number;
  readonly cacheWrite?: number;
}

/**
 * Prices per model id (the `modelId` of the AI SDK model, e.g. `'gpt-4o-mini'`), as a plain
 * object: the middleware reads its own entries only, so a `Map` is refused.
 *
 * @example
 * ```ts
 * import type { PriceTable } from '@budgetry/ai-sdk';
 *
 * const prices: PriceTable = {
 *   'gpt-4o-mini': { input: 0.15, cachedInput: 0.075, output: 0.6 },
 *   'claude-sonnet-4': { input: 3, cachedInput: 0.3, cacheWrite: 3.75, output: 15 },
 * };
 * ```
 */
export type PriceTable = Readonly<Record<string, ModelPrice>>;

/**
 * Token counts of one call, split as providers bill them. `cachedInput` and `cacheWrite` are
 * parts of `input`, not added to it.
 *
 * @example
 * ```ts
 * import type { TokenUsage } from '@budgetry/ai-sdk';
 *
 * const usage: TokenUsage = { input: 1_200, cachedInput: 1_000, output: 300 };
 * ```
 */
export interface TokenUsage {
  readonly input: number;
  readonly output: number;
  readonly cachedInput?: number;
  readonly cacheWrite?: number;
}

const PRICE_FIELDS = ['input', 'output', 'cachedInput', 'cacheWrite'] as const;

/** @internal Checks a price table whole, before any call uses it. */
export function checkPrices(prices: unknown): asserts prices is PriceTable {
  // A Map (or any object of a class) has no own entries to read: every call would find no price.
  const proto = typeof prices === 'object' && prices !== null && Object.getPrototypeOf(prices);
  if (proto !== Object.prototype && proto !== null) {
    throw invalid(`option prices must be a plain object of model prices, got ${describe(prices)}`);
  }
  for (const [model, price] of Object.entries(prices as object)) {
    if (typeof price !== 'object' || price === null) {
      throw invalid(`the price of ${model} must be an object, got ${describe(price)}`, { model });
    }
    for (const field of PRICE_FIELDS) {
      const value = (price as Record<string, unknown>)[field];
      if (value === undefined && (field === 'cachedInput' || field === 'cacheWrite')) continue;
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1e9) {
        throw invalid(
          `the ${field} price of ${model} must be a non-negative number of dollars per million tokens, got ${describe(value)}`,
          { model, field, value },
        );
      }
    }
  }
}

/**
 * @internal `price` with all input at its dearest rate (`input`, `cachedInput` or `cacheWrite`):
 * the price of input the middleware estimates, which may turn out to be any of them.
 */
export function dearestInput(price: ModelPrice): ModelPrice {
  const { input, cachedInput = input, cacheWrite = input, output } = price;
  return { input: Math.max(input, cachedInput, cacheWrite), output };
}

/** Micro-dollars per million tokens, an integer: prices are exact to a millionth of a dollar. */
const perMillion = (usd: number): bigint => BigInt(Math.round(usd * 1_000_000));

/**
 * What a call cost, in integer micro-dollars (millionths of a US dollar), rounded up so a
 * budget is never charged less than the provider bills. Cached input is priced at
 * `cachedInput`, cache writes at `cacheWrite`, the rest of the input at `input`. Computed in
 * integers (no floating-point drift across many calls).
 *
 * @param price - the model's price.
 * @param usage - the call's tokens.
 * @returns micro-dollars, a non-negative safe integer.
 * @throws BudgetError `INVALID_AMOUNT` for token counts that are not amounts, or cached and
 * cache-write tokens that add up to more than the input; `INVALID_ARGUMENT` for a bad price.
 *
 * @example
 * ```ts
 * import { microDollars } from '@budgetry/ai-sdk';
 *
 * // 1 000 input tokens (800 of them cached) and 500 output tokens of a $2.50 / $1.25 / $10 model:
 * microDollars({ input: 2.5, cachedInput: 1.25, output: 10 }, { input: 1_000, cachedInput: 800, output: 500 });
 * // 200 × 2.5 + 800 × 1.25 + 500 × 10 = 6 500 micro-dollars ($0.0065)
 * ```
 */
export function microDollars(price: ModelPrice, usage: TokenUsage): number {
  checkPrices({ model: price });
  const cached = usage.cachedInput ?? 0;
  const written = usage.cacheWrite ?? 0;
  assertAmount(usage.input, 'usage.input');
  assertAmount(usage.output, 'usage.output');
  assertAmount(cached, 'usage.cachedInput');
  assertAmount(written, 'usage.cacheWrite');
  if (cached + written > usage.input) {
    throw new BudgetError({
      code: 'INVALID_AMOUNT',
      message: `cached (${cached}) and cache-write (${written}) tokens exceed the ${usage.input} input tokens`,
      details: { usage },
    });
  }
  const plain = BigInt(usage.input - cached - written);
  const total =
    plain * perMillion(price.input) +
    BigInt(cached) * perMillion(price.cachedInput ?? price.input) +
    BigInt(written) * perMillion(price.cacheWrite ?? price.input) +
    BigInt(usage.output) * perMillion(price.output);
  const micros = (total + 999_999n) / 1_000_000n;
  if (micros > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new BudgetError({
      code: 'INVALID_AMOUNT',
      message: 'the cost of this call exceeds 2^53 − 1 micro-dollars',
      details: { usage },
    });
  }
  return Number(micros);
}
