/**
 * What `@budgetry/otel` needs of a coordinator from `@budgetry/compose`: `tryReserve` (and,
 * for an in-process one, `tryReserveSync`), `run` and `with`. The wrappers keep the
 * coordinator's own type, so `traceCoordinator(llm)` is used exactly as `llm` is.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import { coordinator } from '@budgetry/compose';
 * import type { CoordinatorLike } from '@budgetry/otel';
 *
 * const llm: CoordinatorLike = coordinator({ requests: new AtomicBudget(60) });
 * ```
 */
export interface CoordinatorLike {
  /** The dimension names. */
  readonly dimensions: readonly string[];
  /** Reserves every dimension of an estimate, or none. */
  tryReserve(estimate: never): Promise<unknown>;
  /** Reserves, runs a function and reconciles. */
  run(estimate: never, fn: never, options?: never): Promise<unknown>;
  /** A coordinator with more dimensions. */
  with(extra: never): CoordinatorLike;
}

/** @internal A coordinator's denial or grant, as `tryReserve` resolves it. */
export type DecisionShape =
  | { readonly ok: true; readonly permit: unknown }
  | {
      readonly ok: false;
      readonly deniedBy: string;
      readonly retryAfterMs?: number;
      readonly exceedsCapacity?: true;
    };

/** @internal The untyped view the wrappers call a coordinator through. */
export interface CoordinatorCalls {
  readonly dimensions: readonly string[];
  tryReserveSync?(estimate: object): DecisionShape;
  tryReserve(estimate: object): Promise<DecisionShape>;
  run(
    estimate: object,
    fn: (signal: AbortSignal | undefined, dispatch: unknown) => Promise<unknown>,
    options?: { signal?: AbortSignal },
  ): Promise<
    | { readonly ok: true; readonly value: unknown; readonly report: unknown }
    | { readonly ok: false; readonly deniedBy: string; readonly retryAfterMs?: number }
  >;
  with(extra: object): CoordinatorCalls;
}

/**
 * @internal Whether `value` is a coordinator (dimensions, `run` and `with`): its decisions are
 * objects, never `null` or `false`, so the budget wrappers would take every denial for a grant.
 */
export function isCoordinator(value: object): boolean {
  const c = value as Partial<Record<'dimensions' | 'run' | 'with', unknown>>;
  return Array.isArray(c.dimensions) && typeof c.run === 'function' && typeof c.with === 'function';
}
