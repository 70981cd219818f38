import { type Clock, systemClock } from '@budgetry/core';
import type { LanguageModelMiddleware } from 'ai';
import { type AdmitSettings, admit } from './admit.js';
import type { BudgetedCall } from './call.js';
import { type EstimateOptions, estimateTokens, type TokenEstimate } from './estimate.js';
import {
  type BudgetTarget,
  checkTarget,
  type DimensionNames,
  fitTarget,
  type Held,
  type PlanSettings,
  planFor,
} from './gate.js';
import { describe, invalid } from './invalid.js';
import { checkPrices, type PriceTable } from './prices.js';
import { refundOrReport, settleOrReport, warnUnusable } from './settle.js';
import { settleWhenDone } from './stream.js';
import { measured } from './usage.js';

/**
 * Options for {@link budgetMiddleware}.
 *
 * @example
 * ```ts
 * import { AtomicTokenBudget } from '@budgetry/core';
 * import type { BudgetMiddlewareOptions } from '@budgetry/ai-sdk';
 *
 * const options: BudgetMiddlewareOptions = {
 *   budget: new AtomicTokenBudget(1_000_000),
 *   onDenied: 'wait',
 *   maxWaitMs: 30_000,
 * };
 * ```
 */
export interface BudgetMiddlewareOptions {
  /**
   * Where each call reserves: a token budget, a coordinator, or a function of the call that
   * returns one (to pick the tenant's budget, e.g. from `params.providerOptions`).
   */
  readonly budget: BudgetTarget | ((call: BudgetedCall) => BudgetTarget);
  /** The tokens a call is expected to use (default {@link estimateTokens} with `estimateOptions`). */
  readonly estimate?: (call: BudgetedCall) => TokenEstimate;
  /** Options of the default estimate, and the characters per token of a stream cut short. */
  readonly estimateOptions?: EstimateOptions;
  /** Prices per model id (a plain object), for a dimension or budget counted in micro-dollars. */
  readonly prices?: PriceTable;
  /**
   * What a token budget counts: `tokens` (default) or `usd_micros` (needs `prices`). A
   * coordinator counts dollars in its dollar dimension: with `usd_micros`, it must have one.
   */
  readonly counts?: 'tokens' | 'usd_micros';
  /**
   * Coordinator dimension names, when they are not `tokens`, `requests` and `usd_micros`; for a
   * coordinator only, and each a dimension it has.
   */
  readonly dimensions?: DimensionNames;
  /** The name a token budget's denials carry (default `'tokens'`). */
  readonly name?: string;
  /** On a denial: throw a `BudgetDeniedError` (default) or wait, with the call's abort signal. */
  readonly onDenied?: 'throw' | 'wait';
  /** The longest a call waits before its denial is thrown (default 60 000 ms). */
  readonly maxWaitMs?: number;
  /** How long to wait before asking again when the budget gives no retry hint (default 250 ms). */
  readonly pollMs?: number;
  /** The clock waits are timed on (default the system clock). */
  readonly clock?: Clock;
}

/**
 * A language-model middleware for the AI SDK's `wrapLanguageModel` that gates every generate
 * and stream call on a budget: it estimates the call's tokens, reserves them (and a request,
 * and their price in micro-dollars, on a coordinator with those dimensions), sends the call
 * only once admitted, and reconciles with the usage the provider reports — for a stream, when
 * it finishes. A call that throws is refunded; a stream that errors, is aborted or is
 * abandoned midway is charged the estimated input and the output it streamed (at least the
 * estimated output once it carried reasoning or a file), and refunded the rest (its tokens and
 * dollars, if nothing was streamed); a request that reached the provider stays charged to a
 * `requests` dimension. A budget that fails to settle a call the provider answered never costs
 * the caller its answer: a `BudgetrySettleWarning` says so, and the reservation is let go
 * unsettled, never refunded as unspent. A denial throws a {@link BudgetDeniedError}
 * with `retryAfterMs`, or, with `onDenied: 'wait'`, waits until the budget admits the call,
 * the call's `abortSignal` fires (a `BudgetError` `ABORTED`) or `maxWaitMs` passes; while it
 * waits, it keeps the process alive, as a request in flight does.
 *
 * Overshoot: a budget is charged what calls report, so it is never exceeded when every
 * estimate covers its call (see {@link upperBoundTokens}); otherwise it is exceeded by at most
 * the sum of (actual − estimate) over the calls in flight together, and the excess is owed
 * as debt, paid by later refunds and refills.
 *
 * When to use: every model call of an app or tenant that must stay under a provider's TPM and
 * RPM, or a dollar cap per run, user or month.
 *
 * @param options - the budget and how to estimate, price and wait.
 * @returns the middleware.
 * @throws BudgetError `INVALID_ARGUMENT` for bad options, and options that do not fit a
 * budget given as such, before any call.
 *
 * @example
 * ```ts
 * import { AtomicTokenBudget } from '@budgetry/core';
 * import { budgetMiddleware } from '@budgetry/ai-sdk';
 * import { generateText, wrapLanguageModel, type LanguageModel } from 'ai';
 *
 * declare const baseModel: Exclude<LanguageModel, string>; // e.g. openai('gpt-4o-mini')
 * const tokens = new AtomicTokenBudget(100_000);
 * const model = wrapLanguageModel({ model: baseModel as never, middleware: budgetMiddleware({ budget: tokens }) });
 * const { text } = await generateText({ model, prompt: 'Summarise this.', maxOutputTokens: 300 });
 * ```
 */
export function budgetMiddleware(options: BudgetMiddlewareOptions): LanguageModelMiddleware {
  const o = checkOptions(options);
  const start = async (call: BudgetedCall) => {
    const target = typeof o.budget === 'function' ? o.budget(call) : o.budget;
    checkTarget(target);
    const estimate = o.estimate(call);
    if (
      typeof estimate !== 'object' ||
      estimate === null ||
      !Number.isSafeInteger(estimate.input) ||
      !Number.isSafeInteger(estimate.output) ||
      estimate.input < 0 ||
      estimate.output < 0
    ) {
      throw invalid(`estimate must return { input, output } in tokens, got ${describe(estimate)}`);
    }
    // Own entries only: a model id such as 'constructor' must not find Object.prototype's.
    const { prices } = o;
    const price =
      prices !== undefined && Object.hasOwn(prices, call.modelId)
        ? prices[call.modelId]
        : undefined;
    const plan = planFor(target, estimate, price, o.plan, prices !== undefined);
    const held = await admit(plan, o.admit, call.params.abortSignal);
    return { estimate, held };
  };
  // Types come from the `ai` the user installs; the code reads only what the V3 and V4
  // specifications share. ai@6 requires 'v3' here; ai@7 takes any version and hands a
  // middleware V4 calls, results and stream parts whatever it declares.
  return {
    specificationVersion: 'v3',
    wrapGenerate: async ({ doGenerate, params, model }) => {
      const call: BudgetedCall = {
        type: 'generate',
        params,
        provider: model.provider,
        modelId: model.modelId,
      };
      const { estimate, held } = await start(call);
      let result: Awaited<ReturnType<typeof doGenerate>>;
      let usage: ReturnType<typeof measured>;
      try {
        result = await doGenerate();
        // A provider answering with no result at all fails the call as a throw would.
        usage = measured(result.usage, estimate);
      } catch (error) {
        await undo(held, error, params.abortSignal);
        throw error;
      }
      // The provider answered, and is paid: a budget that fails to settle never loses the answer.
      warnUnusable(result.usage);
      await settleOrReport(held, usage, estimate);
      return result;
    },
    wrapStream: async ({ doStream, params, model }) => {
      const call: BudgetedCall = {
        type: 'stream',
        params,
        provider: model.provider,
        modelId: model.modelId,
      };
      const { estimate, held } = await start(call);
      try {
        // Nothing was read when it throws: no result, no stream, or a stream already locked.
        return settleWhenDone(await doStream(), held, estimate, o.charsPerToken);
      } catch (error) {
        await undo(held, error, params.abortSignal);
        throw error;
      }
    },
  };
}

/**
 * A call that failed before it produced anything: refunded whole, except the request itself
 * when it reached the provider — answered with an HTTP status (an AI SDK `APICallError`: a 429
 * or a 500 counts against the provider's requests per minute as a success does), or aborted by
 * the caller once it was sent — so a request budget keeps it (and a token budget is charged
 * nothing). A refund that fails is told, not thrown: the call's error is what the caller hears.
 */
async function undo(held: Held, error: unknown, signal: AbortSignal | undefined): Promise<void> {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  const answered = typeof status === 'number' && status >= 100 && status <= 599;
  await refundOrReport(held, answered || signal?.aborted === true);
}

interface Checked {
  readonly budget: BudgetMiddlewareOptions['budget'];
  readonly estimate: (call: BudgetedCall) => TokenEstimate;
  readonly prices: PriceTable | undefined;
  readonly plan: PlanSettings;
  readonly admit: AdmitSettings;
  readonly charsPerToken: number;
}

function checkOptions(options: BudgetMiddlewareOptions): Checked {
  if (typeof options !== 'object' || options === null) {
    throw invalid(`budgetMiddleware options must be an object, got ${describe(options)}`);
  }
  const {
    budget,
    estimate,
    estimateOptions = {},
    prices,
    counts = 'tokens',
    dimensions = {},
  } = options;
  if (typeof budget !== 'function') checkTarget(budget);
  if (estimate !== undefined && typeof estimate !== 'function') {
    throw invalid(`option estimate must be a function, got ${describe(estimate)}`);
  }
  if (typeof estimateOptions !== 'object' || estimateOptions === null) {
    throw invalid(`option estimateOptions must be an object, got ${describe(estimateOptions)}`);
  }
  // Check the estimate options now, on a call with an empty prompt, rather than at the first call.
  estimateTokens(
    { type: 'generate', provider: '', modelId: '', params: { prompt: [] } },
    estimateOptions,
  );
  if (prices !== undefined) checkPrices(prices);
  if (counts !== 'tokens' && counts !== 'usd_micros') {
    throw invalid(`option counts must be 'tokens' or 'usd_micros', got ${describe(counts)}`);
  }
  if (counts === 'usd_micros' && prices === undefined) {
    throw invalid("option counts 'usd_micros' needs a price table (option prices)");
  }
  if (typeof dimensions !== 'object' || dimensions === null) {
    throw invalid(`option dimensions must be an object, got ${describe(dimensions)}`);
  }
  const named = new Map<string, string>();
  for (const [key, value] of Object.entries(dimensions)) {
    if (typeof value !== 'string' || !['tokens', 'requests', 'usdMicros'].includes(key)) {
      throw invalid(`option dimensions.${key} is not a dimension name the middleware charges`, {
        key,
      });
    }
    // Two amounts in one dimension would overwrite each other: a request reserved as 1 unit
    // where its tokens were due, and no check of the estimate against the capacity.
    const other = named.get(value);
    if (other !== undefined) {
      throw invalid(
        `options dimensions.${other} and dimensions.${key} both name ${JSON.stringify(value)}; each must charge a dimension of its own`,
        { key, dimension: value },
      );
    }
    named.set(value, key);
  }
  const name = options.name ?? 'tokens';
  const onDenied = options.onDenied ?? 'throw';
  const maxWaitMs = options.maxWaitMs ?? 60_000;
  const pollMs = options.pollMs ?? 250;
  if (typeof name !== 'string' || name.length === 0)
    throw invalid(`option name must be a non-empty string, got ${describe(name)}`);
  if (onDenied !== 'throw' && onDenied !== 'wait') {
    throw invalid(`option onDenied must be 'throw' or 'wait', got ${describe(onDenied)}`);
  }
  for (const [key, value] of [
    ['maxWaitMs', maxWaitMs],
    ['pollMs', pollMs],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < (key === 'pollMs' ? 1 : 0)) {
      throw invalid(
        `option ${key} must be a ${key === 'pollMs' ? 'positive' : 'non-negative'} safe integer, got ${describe(value)}`,
      );
    }
  }
  const clock = options.clock ?? systemClock;
  if (typeof clock?.now !== 'function' || typeof clock.setTimer !== 'function') {
    throw invalid('option clock must have now() and setTimer()');
  }
  const plan: PlanSettings = { counts, dimensions, name };
  // A budget given as such is checked against the options now; one a function returns, at its call.
  if (typeof budget !== 'function') fitTarget(budget, plan, prices !== undefined);
  return {
    budget,
    estimate: estimate ?? ((call) => estimateTokens(call, estimateOptions)),
    prices,
    plan,
    admit: { onDenied, maxWaitMs, pollMs, clock },
    charsPerToken: estimateOptions.charsPerToken ?? 4,
  };
}
