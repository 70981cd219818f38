import {
  BudgetError,
  type Clock,
  retryAfterOf,
  type TokenBudget,
  type TokenReservation,
} from '@budgetry/core';
import { BudgetDeniedError } from './denied-error.js';
import type { TokenEstimate } from './estimate.js';
import { invalid } from './invalid.js';
import { type ModelPrice, microDollars, type TokenUsage } from './prices.js';

/**
 * A coordinator from `@budgetry/compose`, as the middleware uses it: `dimensions` and
 * `tryReserve`, whose dispatch is then settled or cancelled.
 *
 * @example
 * ```ts
 * import { AtomicBudget, AtomicTokenBudget } from '@budgetry/core';
 * import { coordinator } from '@budgetry/compose';
 * import type { CoordinatorTarget } from '@budgetry/ai-sdk';
 *
 * const llm: CoordinatorTarget = coordinator({ requests: new AtomicBudget(60), tokens: new AtomicTokenBudget(90_000) });
 * ```
 */
export interface CoordinatorTarget {
  readonly dimensions: readonly string[];
  tryReserve(estimate: never): Promise<unknown>;
}

/**
 * Where a call reserves: a token budget (tokens, or micro-dollars with `counts`), or a
 * coordinator (one all-or-nothing decision over requests, tokens and dollars).
 *
 * @example
 * ```ts
 * import { AtomicTokenBudget } from '@budgetry/core';
 * import type { BudgetTarget } from '@budgetry/ai-sdk';
 *
 * const target: BudgetTarget = new AtomicTokenBudget(100_000);
 * ```
 */
export type BudgetTarget = TokenBudget | CoordinatorTarget;

/**
 * Names of the coordinator dimensions the middleware charges. Each defaults to the dimension
 * of that name (`tokens`, `requests`, `usd_micros`) when the coordinator has one.
 *
 * @example
 * ```ts
 * import type { DimensionNames } from '@budgetry/ai-sdk';
 *
 * const names: DimensionNames = { tokens: 'tpm', requests: 'rpm', usdMicros: 'dollars' };
 * ```
 */
export interface DimensionNames {
  readonly tokens?: string;
  readonly requests?: string;
  readonly usdMicros?: string;
}

/** @internal What a call holds while it runs: settled with its usage once, or cancelled. */
export interface Held {
  settle(usage: TokenUsage): Promise<void>;
  cancel(): Promise<void>;
}

/** @internal A denial to throw or wait out. */
interface Denial {
  readonly deniedBy: string;
  readonly retryAfterMs: number | undefined;
  /** The amount is above the budget's capacity: no refill will ever admit it. */
  readonly never?: boolean;
}

/** @internal How one call reserves on its target. */
export interface Plan {
  readonly amounts: Readonly<Record<string, number>>;
  reserve(): Promise<Held | Denial>;
}

/** @internal Settings that shape every plan. */
export interface PlanSettings {
  readonly counts: 'tokens' | 'usd_micros';
  readonly dimensions: DimensionNames;
  readonly name: string;
}

const isHeld = (value: Held | Denial): value is Held => 'settle' in value;

/** @internal Whether `target` is a token budget (otherwise, a coordinator). */
function isTokenBudget(target: unknown): target is TokenBudget {
  return typeof (target as TokenBudget | null)?.tryReserveTokens === 'function';
}

/** @internal Checks a target resolved for a call. */
export function checkTarget(target: unknown): asserts target is BudgetTarget {
  if (isTokenBudget(target)) return;
  const c = target as Partial<CoordinatorTarget> | null;
  if (typeof c?.tryReserve !== 'function' || !Array.isArray(c.dimensions)) {
    throw invalid('budget must be a token budget or a coordinator (or a function returning one)');
  }
}

/** @internal The plan for one call of `model` estimated at `estimate`. */
export function planFor(
  target: BudgetTarget,
  estimate: TokenEstimate,
  price: ModelPrice | undefined,
  settings: PlanSettings,
): Plan {
  const estimated: TokenUsage = { input: estimate.input, output: estimate.output };
  if (isTokenBudget(target)) {
    const dollars = settings.counts === 'usd_micros';
    if (dollars && price === undefined) throw noPrice();
    const split = (u: TokenUsage): [number, number] => {
      if (!dollars) return [u.input, u.output];
      const total = microDollars(price!, u);
      const input = microDollars(price!, { ...u, output: 0 });
      return [input, total - input];
    };
    const [a, b] = split(estimated);
    const amount = a + b;
    return {
      amounts: { [settings.name]: amount },
      async reserve() {
        const r: TokenReservation | null = await target.tryReserveTokens(amount);
        if (r === null) {
          // A budget that declares a capacity (every budgetry one does) can say never.
          const { capacity } = target as { capacity?: unknown };
          if (typeof capacity === 'number' && amount > capacity) {
            return { deniedBy: settings.name, retryAfterMs: undefined, never: true };
          }
          return { deniedBy: settings.name, retryAfterMs: retryAfterOf(target, amount) };
        }
        return {
          settle: (u) => target.recordUsage(r, ...split(u)),
          cancel: () => r[Symbol.asyncDispose](),
        };
      },
    };
  }
  const names = target.dimensions;
  const pick = (key: keyof DimensionNames, fallback: string): string | undefined => {
    const chosen = settings.dimensions[key];
    if (chosen !== undefined && !names.includes(chosen)) {
      throw invalid(`the coordinator has no dimension ${JSON.stringify(chosen)}`, {
        dimension: chosen,
      });
    }
    return chosen ?? (names.includes(fallback) ? fallback : undefined);
  };
  const tokens = pick('tokens', 'tokens');
  const requests = pick('requests', 'requests');
  const usd = pick('usdMicros', 'usd_micros');
  const chosen = [tokens, requests, usd].filter((d) => d !== undefined);
  if (new Set(chosen).size < chosen.length) {
    throw invalid(
      `tokens, requests and usd_micros must each charge a dimension of its own, but they would share one (${chosen.map((d) => JSON.stringify(d)).join(', ')}); name them in \`dimensions\``,
      { dimensions: chosen },
    );
  }
  if (tokens === undefined && requests === undefined && usd === undefined) {
    throw invalid(
      'the coordinator has none of the dimensions tokens, requests or usd_micros; name them in `dimensions`',
    );
  }
  if (usd !== undefined && price === undefined) throw noPrice();
  const measure = (u: TokenUsage): Record<string, number> => {
    const out: Record<string, number> = {};
    if (tokens !== undefined) out[tokens] = u.input + u.output;
    if (usd !== undefined) out[usd] = microDollars(price!, u);
    return out;
  };
  const amounts = { ...measure(estimated), ...(requests === undefined ? {} : { [requests]: 1 }) };
  const coordinator = target as unknown as {
    tryReserve(
      estimate: object,
    ): Promise<
      | { ok: true; permit: { settle(u: object): Promise<unknown>; cancel(): Promise<boolean> } }
      | { ok: false; deniedBy: string; retryAfterMs?: number; exceedsCapacity?: true }
    >;
  };
  return {
    amounts,
    async reserve() {
      const decision = await coordinator.tryReserve(amounts);
      if (!decision.ok) {
        // The coordinator says when the estimate is above the dimension's capacity.
        const { deniedBy, retryAfterMs, exceedsCapacity } = decision;
        return exceedsCapacity === true
          ? { deniedBy, retryAfterMs: undefined, never: true }
          : { deniedBy, retryAfterMs };
      }
      const dispatch = decision.permit;
      return {
        settle: async (u) => {
          const report = (await dispatch.settle(measure(u))) as SettleShortfall | undefined;
          warnShortfall(report?.shortfall);
        },
        cancel: async () => {
          await dispatch.cancel();
        },
      };
    },
  };
}

/** The part of a coordinator's settle report the middleware reads. */
interface SettleShortfall {
  readonly shortfall?: Readonly<Record<string, number>>;
}

/**
 * Overage a coordinator's guard dimension had no room for (a hierarchy tenant, a token
 * bucket): a guard cannot owe, so it is not charged. Said out loud, never dropped silently.
 */
function warnShortfall(shortfall: Readonly<Record<string, number>> | undefined): void {
  if (shortfall === undefined) return;
  for (const [name, units] of Object.entries(shortfall)) {
    if (!(units > 0)) continue;
    const message = `budgetry: a model call used ${units} more ${name} than the coordinator's dimension had room for; a guard cannot owe it, so it was not charged (a token budget there would owe it as debt)`;
    emitWarning(message, 'BudgetryShortfallWarning');
  }
}

/** @internal A process warning of `type` where there is a process, else the console's. */
export function emitWarning(message: string, type: string): void {
  if (typeof process !== 'undefined' && typeof process.emitWarning === 'function') {
    process.emitWarning(message, type);
  } else {
    console.warn(message);
  }
}

function noPrice(): BudgetError {
  return invalid(
    'this call is charged in micro-dollars, and the price table has no price for its model',
  );
}

/** @internal How admission treats a denial. */
export interface AdmitSettings {
  readonly onDenied: 'throw' | 'wait';
  readonly maxWaitMs: number;
  readonly pollMs: number;
  readonly clock: Clock;
}

/**
 * @internal Reserve for a call, throwing the denial or waiting it out (sleeping until the
 * budget's retry hint, or `pollMs`, and trying again) until `maxWaitMs` or the call's abort.
 */
export async function admit(
  plan: Plan,
  settings: AdmitSettings,
  signal: AbortSignal | undefined,
): Promise<Held> {
  checkNotAborted(signal);
  const started = settings.clock.now();
  for (;;) {
    const got = await plan.reserve();
    if (isHeld(got)) {
      if (signal?.aborted) {
        await got.cancel();
        checkNotAborted(signal);
      }
      return got;
    }
    // The signal may have fired while a (remote) budget answered: no sleep would hear it.
    checkNotAborted(signal);
    const waited = settings.clock.now() - started;
    if (got.never === true) {
      const { deniedBy } = got;
      const message = `model call denied by budget ${deniedBy}: its estimate is above the budget's capacity, so no wait can admit it`;
      throw new BudgetDeniedError({ deniedBy, estimate: plan.amounts, message });
    }
    if (settings.onDenied === 'throw' || waited >= settings.maxWaitMs) {
      throw new BudgetDeniedError({ ...got, estimate: plan.amounts });
    }
    const delay = Math.min(
      Math.max(1, got.retryAfterMs ?? settings.pollMs),
      settings.maxWaitMs - waited,
    );
    await sleep(settings.clock, delay, signal);
  }
}

function checkNotAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new BudgetError({
      code: 'ABORTED',
      message: 'the model call was aborted before it was admitted',
      cause: signal.reason,
    });
  }
}

/**
 * A call waiting for its budget is pending work, as a request in flight is: while any call
 * sleeps, one ref'd interval keeps the process alive. The clock's timers are unref'd (a
 * budget's timer must never hold a process open), so without it a script whose calls wait for
 * a refill would exit in the middle, status 0, its remaining calls never made.
 */
let sleeping = 0;
let keepAlive: ReturnType<typeof setInterval> | undefined;

function holdProcess(): () => void {
  if (sleeping++ === 0) keepAlive = setInterval(() => {}, 2 ** 30);
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    if (--sleeping === 0 && keepAlive !== undefined) {
      clearInterval(keepAlive);
      keepAlive = undefined;
    }
  };
}

function sleep(clock: Clock, ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const letGo = holdProcess();
    const onAbort = () => {
      letGo();
      cancel();
      reject(
        new BudgetError({
          code: 'ABORTED',
          message: 'the model call was aborted while waiting for its budget',
          cause: signal?.reason,
        }),
      );
    };
    let cancel: () => void;
    try {
      cancel = clock.setTimer(() => {
        letGo();
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
    } catch (error) {
      // A clock that cannot set a timer: the call fails, and keeps nothing alive.
      letGo();
      reject(error);
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
