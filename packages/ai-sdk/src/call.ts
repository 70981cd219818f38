import type { LanguageModelMiddleware } from 'ai';

type WrapGenerate = NonNullable<LanguageModelMiddleware['wrapGenerate']>;

/**
 * The options of one model call, as the installed AI SDK hands them to a middleware
 * (`LanguageModelV3CallOptions` in ai@6, `LanguageModelV4CallOptions` in ai@7): the prompt,
 * `maxOutputTokens`, `abortSignal`, `providerOptions` and the rest.
 *
 * @example
 * ```ts
 * import type { CallParams } from '@budgetry/ai-sdk';
 *
 * const tenantOf = (params: CallParams) => String(params.providerOptions?.['budgetry']?.['tenant']);
 * ```
 */
export type CallParams = Parameters<WrapGenerate>[0]['params'];

/**
 * One model call, as the middleware's functions see it: whether it generates or streams, its
 * options, and which model it goes to.
 *
 * @example
 * ```ts
 * import type { BudgetedCall } from '@budgetry/ai-sdk';
 *
 * const describeCall = (call: BudgetedCall) =>
 *   `${call.type} on ${call.provider}/${call.modelId}, at most ${call.params.maxOutputTokens ?? '?'} out`;
 * ```
 */
export interface BudgetedCall {
  readonly type: 'generate' | 'stream';
  readonly params: CallParams;
  readonly provider: string;
  readonly modelId: string;
}
