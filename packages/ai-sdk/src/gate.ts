import {
  type BudgetError,
  retryAfterOf,
  type TokenBudget,
  type TokenReservation,
} from '@budgetry/core';
import type { TokenEstimate } from './estimate.js';
import { invalid } from './invalid.js';
import { dearestInput, type ModelPrice, microDollars } from './prices.js';
import { type Charge, estimated } from './usage.js';
import { emitWarning } from './warnings.js';

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

/** @internal What a call holds while it runs: settled with its usage once, or refunded. */
export interface Held {
  /** Charges `usage`: under-use is refunded, overage owed. */
  settle(usage: Charge): Promise<void>;
  /**
   * Refunds the call's tokens and dollars, and its request unless `sent`: a request the
   * provider answered, or was sent, counts against its requests per minute, so a `requests`
   * dimension keeps it.
   */
  refund(sent: boolean): Promise<void>;
  /**
   * Lets the reservation go unsettled, after its budget failed to settle it: a token
   * budget's reservation is disarmed, so neither a dispose nor the leak backstop refunds it (a
   * remote budget's lease then ends under its own rules). A coordinator's dispatch cannot be
   * disarmed: it stays held on the dimensions that failed, for their own rules to end.
   */
  abandon(): void;
}

/** @internal A denial to throw or wait out. */
export interface Denial {
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

/** @internal Whether a reservation was made (otherwise, denied). */
export const isHeld = (value: Held | Denial): value is Held => 'settle' in value;

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

/** @internal The coordinator dimensions a call charges: each, when the coordinator has it. */
interface Charged {
  readonly tokens: string | undefined;
  readonly requests: string | undefined;
  readonly usd: string | undefined;
}

/**
 * @internal Checks that the settings fit `target`, before anything is reserved (when the
 * middleware is made, for a budget given as such; at each call, for one a function returns):
 * `dimensions` name a coordinator's dimensions, one each; dollars are counted only where there
 * is a dollar dimension (or, on a token budget, with `counts`) and prices. Returns what a
 * coordinator charges, or `undefined` for a token budget.
 */
export function fitTarget(
  target: BudgetTarget,
  settings: PlanSettings,
  prices: boolean,
): Charged | undefined {
  const named = Object.keys(settings.dimensions);
  if (isTokenBudget(target)) {
    if (named.length > 0) {
      throw invalid(
        `option dimensions names coordinator dimensions (${named.join(', ')}), but the budget is a token budget`,
        { dimensions: named },
      );
    }
    return undefined;
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
  if (settings.counts === 'usd_micros' && usd === undefined) {
    throw invalid(
      "option counts is 'usd_micros', but the coordinator has no dollar dimension (usd_micros, or the one dimensions.usdMicros names) to count them in",
    );
  }
  if (usd !== undefined && !prices) {
    throw invalid(
      `the coordinator's dimension ${usd} counts micro-dollars: it needs option prices`,
    );
  }
  return { tokens, requests, usd };
}

/** @internal The plan for one call of `model` estimated at `estimate`. */
export function planFor(
  target: BudgetTarget,
  estimate: TokenEstimate,
  price: ModelPrice | undefined,
  settings: PlanSettings,
  prices: boolean,
): Plan {
  const charged = fitTarget(target, settings, prices);
  const dear = price === undefined ? undefined : dearestInput(price);
  // Estimated input is priced at its dearest rate, so a covering estimate covers any cache split.
  const usdOf = (u: Charge) => microDollars(u.estimatedInput === true ? dear! : price!, u);
  if (charged === undefined) {
    const token = target as TokenBudget;
    const dollars = settings.counts === 'usd_micros';
    if (dollars && price === undefined) throw noPrice();
    const split = (u: Charge): [number, number] => {
      if (!dollars) return [u.input, u.output];
      const total = usdOf(u);
      const input = usdOf({ ...u, output: 0 });
      return [input, total - input];
    };
    const [a, b] = split(estimated(estimate));
    const amount = a + b;
    return {
      amounts: { [settings.name]: amount },
      async reserve() {
        const r: TokenReservation | null = await token.tryReserveTokens(amount);
        if (r === null) {
          // A budget that declares a capacity (every budgetry one does) can say never.
          const { capacity } = token as { capacity?: unknown };
          if (typeof capacity === 'number' && amount > capacity) {
            return { deniedBy: settings.name, retryAfterMs: undefined, never: true };
          }
          return { deniedBy: settings.name, retryAfterMs: retryAfterOf(token, amount) };
        }
        return {
          settle: (u) => token.recordUsage(r, ...split(u)),
          refund: () => r[Symbol.asyncDispose](),
          abandon: () => void r.disarm(),
        };
      },
    };
  }
  const { tokens, requests, usd } = charged;
  if (usd !== undefined && price === undefined) throw noPrice();
  const measure = (u: Charge): Record<string, number> => {
    const out: Record<string, number> = {};
    if (tokens !== undefined) out[tokens] = u.input + u.output;
    if (usd !== undefined) out[usd] = usdOf(u);
    return out;
  };
  const amounts = {
    ...measure(estimated(estimate)),
    ...(requests === undefined ? {} : { [requests]: 1 }),
  };
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
      const settle = async (u: Charge) => {
        const report = (await dispatch.settle(measure(u))) as SettleShortfall | undefined;
        warnShortfall(report?.shortfall);
      };
      return {
        settle,
        refund: async (sent) => {
          // Tokens and dollars settled at nothing; the request, left out, at its estimate: kept.
          // Should that fail, the refund of everything is the fallback.
          if (sent && requests !== undefined) {
            const kept = await settle(NOTHING).then(
              () => true,
              () => false,
            );
            if (kept) return;
          }
          await dispatch.cancel();
        },
        abandon: () => {},
      };
    },
  };
}

const NOTHING: Charge = { input: 0, output: 0 };

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

function noPrice(): BudgetError {
  return invalid(
    'this call is charged in micro-dollars, and the price table has no price for its model',
  );
}
