// `--ai-sdk`: every call goes through `@budgetry/ai-sdk`'s `budgetMiddleware`, wrapped around
// the AI SDK's own mock language model and called with `streamText`. The middleware estimates,
// reserves, reconciles with the usage the stream reports and refunds; the scenario only tells
// its auditors what it expects, and holds the middleware to it. Loaded only when asked for.
import { createRequire } from 'node:module';
import { BudgetDeniedError, budgetMiddleware } from '@budgetry/ai-sdk';
import type { Dispatch } from '@budgetry/compose';
import { type LanguageModel, streamText, wrapLanguageModel } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { cutShort, finished, promptOf, type StreamResult } from './ai-stream.js';
import { type Check, dispatchCheck } from './audit.js';
import {
  type Admitted,
  admit,
  type CallPath,
  type CallsHost,
  CallsOut,
  type Denial,
  denialOf,
  estimateOf,
  refunded,
  settled,
} from './calls.js';
import { formatCount } from './format.js';
import { type Dimension, PRICE } from './gateway.js';
import { emptyDenials } from './stats.js';
import { type ProviderAnswer, providerAnswer, type Request } from './tenants.js';

const MODEL_ID = 'simulated-model';
const WHAT = { complete: 'a finished', fail: 'a failed', abort: 'an aborted' } as const;
const { version } = createRequire(import.meta.url)('ai/package.json') as { version: string };

/** The report's header line for a run whose calls went through the middleware. */
export const AI_SDK_CALLS = `through @budgetry/ai-sdk's budgetMiddleware around the AI SDK's MockLanguageModelV3 (ai@${version}), a streamText call per attempt: the middleware estimates, reserves, reconciles with the usage the stream reports and refunds. Simulated: the provider answers whole at a simulated step; an aborted stream reports no usage, so it is charged its estimated input and the output it streamed; waiting callers retry with a new call; a small adapter charges the tenant's budget beside requests, tokens and dollars`;

/** What the middleware charges on the coordinator it is given: a request, tokens, dollars. */
type Amounts = Readonly<Record<'requests' | 'tokens' | 'dollars', number>>;

/** One `streamText` call, from its start until it is settled. */
interface Attempt {
  readonly id: number;
  readonly request: Request;
  readonly now: number;
  readonly abort: AbortController;
  /** The provider has the call: the middleware admitted it. */
  readonly sent: () => void;
  /** Ends when `streamText` has nothing more to do, after the middleware settled. */
  done?: Promise<void>;
  admitted?: Admitted;
  /** What the middleware settled the dispatch with; absent when it cancelled it. */
  settledWith?: Omit<Amounts, 'requests'>;
}

/** A call out at the provider. */
interface Out extends Admitted {
  readonly attempt: Attempt;
  readonly answer: ProviderAnswer;
  readonly doneAt: number;
  reply(result: StreamResult): void;
  fail(error: Error): void;
}

/**
 * The calls, made through the AI SDK: each attempt is a `streamText` call on the mock model
 * wrapped in `budgetMiddleware`, whose budget is the tenant's coordinator (with the tenant's
 * node charged the call's tokens by an adapter). Admitted, the call reaches the simulated
 * provider, which answers when the simulated clock says; denied, the middleware throws a
 * `BudgetDeniedError`, whose dimension and retry hint the scenario's waiting line uses.
 */
export class AiSdkCalls extends CallsOut<Out> implements CallPath {
  readonly description = AI_SDK_CALLS;
  readonly denials = emptyDenials();
  private readonly model: MockLanguageModelV3;
  private readonly wrapped: LanguageModel;
  private readonly attempts = new Map<number, Attempt>();
  private lastId = 0;
  private readonly dispatches = { granted: 0, settled: 0, cancelled: 0, held: 0 };
  private readonly estimates = { seen: 0, wrong: [] as string[] };
  private readonly settles = { seen: 0, wrong: [] as string[] };

  /** @param host - the simulation's parts. */
  constructor(private readonly host: CallsHost) {
    super();
    this.model = new MockLanguageModelV3({
      provider: 'simulated',
      modelId: MODEL_ID,
      doStream: (options) => this.provide(this.attemptOf(options.providerOptions)),
    });
    const middleware = budgetMiddleware({
      budget: (call) => {
        const attempt = this.attemptOf(call.params.providerOptions);
        return {
          // The middleware charges these; the tenant's node is added below.
          dimensions: ['requests', 'tokens', 'dollars'],
          tryReserve: (estimate: Amounts) => this.reserve(attempt, estimate),
        };
      },
      dimensions: { usdMicros: 'dollars' },
      prices: { [MODEL_ID]: { input: PRICE.prompt, output: PRICE.completion } },
    });
    this.wrapped = wrapLanguageModel({ model: this.model, middleware });
  }

  get granted(): number {
    return this.dispatches.granted;
  }

  /**
   * Starts a `streamText` call and waits until the middleware has sent it to the provider
   * or refused it, which it does before simulated time moves.
   *
   * @param request - the call.
   * @param now - the simulated time.
   * @returns what denied it, or `undefined` when it was admitted.
   */
  async dispatch(request: Request, now: number): Promise<Denial | undefined> {
    const id = ++this.lastId;
    let sent!: () => void;
    const reached = new Promise<void>((resolve) => (sent = resolve));
    const attempt: Attempt = { id, request, now, abort: new AbortController(), sent };
    this.attempts.set(id, attempt);
    let error: unknown;
    const result = streamText({
      model: this.wrapped,
      prompt: promptOf(request.prompt),
      maxOutputTokens: request.completion,
      maxRetries: 0,
      abortSignal: attempt.abort.signal,
      providerOptions: { playground: { call: id } },
      onError: ({ error: e }) => {
        error ??= e;
      },
    });
    const done = Promise.resolve(result.consumeStream({ onError: (e) => (error ??= e) }));
    attempt.done = done;
    const admitted = await Promise.race([reached.then(() => true), done.then(() => false)]);
    if (admitted) return undefined;
    this.attempts.delete(id);
    if (!BudgetDeniedError.isInstance(error)) {
      throw error ?? new Error('a model call ended before it was sent, with no error');
    }
    return denialOf(this.host, request, error, this.denials);
  }

  checks(): Check[] {
    const { granted, settled: done, cancelled, held } = this.dispatches;
    return [
      dispatchCheck(granted, done, cancelled, held),
      {
        name: "ai-sdk: the middleware's estimates = the scenario's",
        ok: this.estimates.wrong.length === 0,
        detail:
          this.estimates.wrong[0] ??
          `${formatCount(this.estimates.seen)} estimates from the prompt's text and maxOutputTokens, each the call's tokens and their price`,
      },
      {
        name: 'ai-sdk: the middleware settled = the provider’s usage',
        ok: this.settles.wrong.length === 0,
        detail:
          this.settles.wrong[0] ??
          `${formatCount(this.settles.seen)} calls: finished streams at their reported usage, aborted ones at the estimated input + the output streamed, failed ones refunded`,
      },
    ];
  }

  private attemptOf(options: unknown): Attempt {
    const id = (options as { playground?: { call?: unknown } } | undefined)?.playground?.call;
    const attempt = this.attempts.get(id as number);
    if (attempt === undefined) throw new Error(`no model call ${String(id)} in flight`);
    return attempt;
  }

  /** The middleware reserves: on the tenant's coordinator, its node charged the tokens. */
  private async reserve(attempt: Attempt, estimate: Amounts) {
    const host = this.host;
    const expected = estimateOf(attempt.request);
    this.estimates.seen++;
    const { requests, tokens, dollars } = estimate;
    if (requests !== 1 || tokens !== expected.tokens || dollars !== expected.usd) {
      this.estimates.wrong.push(
        `${host.time()}: the middleware estimated ${JSON.stringify(estimate)}, the scenario ${formatCount(expected.tokens)} tokens, ${formatCount(expected.usd)} µ$`,
      );
    }
    host.shadows?.reserving();
    const decision = await host
      .coordinator(attempt.request.tenant)
      .tryReserve({ requests, tokens, dollars, tenant: tokens });
    if (!decision.ok) return decision;
    this.dispatches.granted++;
    attempt.admitted = admit(host, attempt.request);
    return { ok: true, permit: this.permit(attempt, decision.permit) };
  }

  /** The dispatch as the middleware settles it, watched so the checks can say how. */
  private permit(attempt: Attempt, dispatch: Dispatch<Dimension>) {
    const d = this.dispatches;
    return {
      settle: async (usage: Omit<Amounts, 'requests'>) => {
        attempt.settledWith = usage;
        await dispatch.settle({ ...usage, tenant: usage.tokens });
        d.settled++;
        if (dispatch.state !== 'settled') d.held++;
      },
      cancel: async () => {
        await dispatch.cancel();
        d.cancelled++;
        if (dispatch.state !== 'cancelled') d.held++;
        return true;
      },
    };
  }

  /** The mock model's `doStream`: the provider has the call, and answers when it is due. */
  private provide(attempt: Attempt): Promise<StreamResult> {
    this.model.doStreamCalls.length = 0; // the mock keeps every call's options otherwise
    const answer = providerAnswer(attempt.request, this.host.random);
    return new Promise<StreamResult>((reply, fail) => {
      this.out.push({
        ...attempt.admitted!,
        attempt,
        answer,
        doneAt: attempt.now + answer.steps * this.host.stepMs,
        reply,
        fail,
      });
      attempt.sent();
    });
  }

  /** The provider answers; the middleware settles; the auditors are told what it must have. */
  protected async answer(call: Out): Promise<void> {
    const { attempt, answer } = call;
    let charged: { prompt: number; completion: number } | undefined;
    if (answer.outcome === 'fail') {
      call.fail(new Error('the simulated provider failed before answering'));
    } else if (answer.outcome === 'complete') {
      call.reply({ stream: finished(answer.prompt, answer.completion) });
      charged = answer;
    } else {
      let streamed!: () => void;
      const read = new Promise<void>((resolve) => (streamed = resolve));
      call.reply({ stream: cutShort(answer.completion, attempt.abort.signal, streamed) });
      await read;
      attempt.abort.abort(new DOMException('the caller gave up', 'AbortError'));
      // What the middleware charges a stream cut short: its estimated input, the output read.
      if (answer.completion > 0)
        charged = { prompt: call.request.prompt, completion: answer.completion };
    }
    await attempt.done;
    this.attempts.delete(attempt.id);
    this.checkSettle(call, charged);
    if (charged === undefined)
      refunded(this.host, call, answer.outcome === 'abort' ? 'aborted' : 'failed');
    else
      settled(
        this.host,
        call,
        answer.outcome as 'complete' | 'abort',
        charged.prompt,
        charged.completion,
      );
  }

  private checkSettle(call: Out, charged: { prompt: number; completion: number } | undefined) {
    this.settles.seen++;
    const got = call.attempt.settledWith;
    const want = charged && {
      tokens: charged.prompt + charged.completion,
      dollars: charged.prompt * PRICE.prompt + charged.completion * PRICE.completion,
    };
    const same =
      want === undefined
        ? got === undefined
        : got?.tokens === want.tokens && got.dollars === want.dollars;
    if (!same) {
      this.settles.wrong.push(
        `${this.host.time()}: ${WHAT[call.answer.outcome]} call was settled with ${got === undefined ? 'nothing (refunded)' : JSON.stringify(got)}; the scenario expected ${want === undefined ? 'a refund' : JSON.stringify(want)}`,
      );
    }
  }
}
