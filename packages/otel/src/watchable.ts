import { type BudgetObserver, capabilitiesOf } from '@budgetry/core';
import { describe, invalid } from './invalid.js';

/**
 * A budget that can be watched: it says how full it is (`capacity`, `available()` and, if it
 * can owe, `debt()`) and, if it reports events, lets listeners `subscribe` to them. What a
 * watch exports depends on what the budget reports:
 *
 * - `AtomicBudget`, `AtomicTokenBudget` and the shared-memory budgets report every event:
 *   gauges, every counter and threshold crossings.
 * - A refill scheduler's view from `@budgetry/compose` (`lazyRefill(…)`, `intervalRefill(…)`,
 *   `calendarRefill(…)`) is watched through the budget it drives, `scheduled.budget`, for
 *   events, and through itself for gauges, so a lazy refill that is due shows at collection.
 * - `TokenBucket` and `SlidingWindow` report their reservations, denials, releases, commits
 *   and over-releases; their refill is continuous, so thresholds re-arm as utilization falls
 *   back below a level rather than at an epoch (see `watchThresholds`).
 * - A hierarchy node (`@budgetry/compose`'s, or a `SharedHierarchy` node from core, whose
 *   listeners hear this thread's handle) reports the reservations and denials made through
 *   it or below it, and the refunds and refills of its whole tree; a watch counts those of
 *   its own subtree, and its utilization is what the subtree holds (`held()`) over the node's
 *   capacity, so a sibling filling the shared root moves `available` but not utilization.
 * - `allOf`, `anyOf` and waiting lines report no events: gauges only, no thresholds. Trace
 *   them (`traceBudget`) for their reservations and denials, or watch their members. An
 *   `anyOf`'s utilization is its members' together (what they owe over their capacities
 *   summed), a waiting line's the budget it waits on's.
 *
 * @example
 * ```ts
 * import { AtomicTokenBudget, tokenBucket } from '@budgetry/core';
 * import type { WatchableBudget } from '@budgetry/otel';
 *
 * const tokens: WatchableBudget = new AtomicTokenBudget(90_000);
 * const rpm: WatchableBudget = tokenBucket({ burst: 60, rate: 1 });
 * console.log(tokens.capacity - tokens.available(), rpm.available()); // 0 60
 * ```
 */
export interface WatchableBudget {
  /** Total units. */
  readonly capacity: number;
  /** Units that can be reserved right now. */
  available(): number;
  /** Units owed beyond capacity (token budgets); absent means the budget cannot owe. */
  debt?(): number;
  /** Adds a listener for the budget's events; absent for a budget that reports none. */
  subscribe?(listener: BudgetObserver): () => void;
}

/**
 * A refill scheduler's view from `@budgetry/compose` (what `lazyRefill`, `intervalRefill` and
 * `calendarRefill` return), which `watch` and `watchThresholds` take as it is: they hear the
 * events of the budget it drives and read its gauges through the view, caught up with the
 * schedule.
 *
 * @example
 * ```ts
 * import { AtomicTokenBudget } from '@budgetry/core';
 * import { lazyRefill } from '@budgetry/compose';
 * import { budgetTelemetry, type ScheduledWatchable } from '@budgetry/otel';
 *
 * const tpm: ScheduledWatchable = lazyRefill(new AtomicTokenBudget(90_000), { intervalMs: 60_000 });
 * budgetTelemetry().watch(tpm, { name: 'tpm', thresholds: [0.8, 1] });
 * ```
 */
export interface ScheduledWatchable {
  /** The budget the schedule refills, whose events are heard. */
  readonly budget: WatchableBudget;
  /** Total units. */
  readonly capacity: number;
  /** Units that can be reserved right now, after any refill that is due. */
  available(): number;
  /** When the next refill is due, in clock milliseconds. */
  nextRefillAt(): number;
}

/** @internal How a watched budget is read: its gauges, and where its events come from. */
export interface WatchTarget {
  /** Read at each collection; for a scheduler's view, caught up with its schedule first. */
  readonly gauges: WatchableBudget;
  /** The budget whose events are heard, and whose utilization thresholds read; if any. */
  readonly events: (WatchableBudget & Required<Pick<WatchableBudget, 'subscribe'>>) | undefined;
  /**
   * For a hierarchy node, its path: it hears its whole tree's refunds, and counts only those
   * made at or below it. `undefined` for every other budget, whose events are all its own.
   */
  readonly scope: readonly string[] | undefined;
}

/**
 * @internal Throws `INVALID_ARGUMENT` unless `budget` is a {@link WatchableBudget}, and says
 * how to read it.
 */
export function watchTarget(budget: unknown): WatchTarget {
  checkWatchable(budget);
  // A refill scheduler's view: its own `subscribe` hears epoch numbers, not events; the
  // budget it drives reports the events, the refills among them.
  const inner = (budget as { readonly budget?: unknown }).budget;
  const scheduled =
    typeof (budget as { nextRefillAt?: unknown }).nextRefillAt === 'function' &&
    typeof inner === 'object' &&
    inner !== null;
  if (scheduled) {
    checkWatchable(inner);
    const view = budget;
    const gauges: WatchableBudget = {
      get capacity() {
        return view.capacity;
      },
      available: () => view.available(),
      ...(typeof inner.debt === 'function' ? { debt: inner.debt.bind(inner) } : {}),
    };
    return { ...eventsOf(inner), gauges };
  }
  return { ...eventsOf(budget), gauges: budget };
}

function eventsOf(budget: WatchableBudget): Omit<WatchTarget, 'gauges'> {
  if (typeof budget.subscribe !== 'function') return { events: undefined, scope: undefined };
  const events = budget as WatchTarget['events'] & object;
  return { events, scope: hierarchyOf(budget)?.path };
}

/** A hierarchy node as a watch reads it. */
interface HierarchyLike {
  readonly path: readonly string[];
  held(): number;
}

/**
 * A hierarchy node (compose's or core's shared one), told by the path capacity compose's
 * waiting lines read too, or `undefined`.
 */
function hierarchyOf(budget: object): HierarchyLike | undefined {
  const b = budget as Partial<Record<'pathCapacity' | 'held', unknown>> & { path?: unknown };
  const node =
    typeof b.pathCapacity === 'function' && typeof b.held === 'function' && Array.isArray(b.path);
  return node ? (budget as unknown as HierarchyLike) : undefined;
}

/**
 * @internal Whether an event a watch heard is about the watched budget: for a hierarchy node
 * (`scope`, its path), only events made at it or below it.
 */
export function inScope(scope: readonly string[] | undefined, event: object): boolean {
  if (scope === undefined) return true;
  const path = (event as { readonly path?: unknown }).path;
  if (!Array.isArray(path)) return true;
  if (path.length < scope.length) return false;
  for (let i = 0; i < scope.length; i++) if (path[i] !== scope[i]) return false;
  return true;
}

/** @internal Throws `INVALID_ARGUMENT` unless `budget` is a {@link WatchableBudget}. */
export function checkWatchable(budget: unknown): asserts budget is WatchableBudget {
  const b = budget as Partial<Record<keyof WatchableBudget, unknown>> | null;
  if (typeof budget !== 'object' || b === null) {
    throw invalid(`expected a budget to watch, got ${describe(budget)}`);
  }
  if (typeof b.available !== 'function') {
    throw invalid(
      'a watched budget needs capacity and available(); watch the budget a waiting line or wrapper is built on',
      {},
    );
  }
  if (!Number.isSafeInteger(b.capacity) || (b.capacity as number) < 0) {
    throw invalid(`a watched budget needs a capacity, got ${describe(b.capacity)}`, {});
  }
  // Gauges are read synchronously at each collection: a budget that declares itself
  // asynchronous (a remote one, whose available() is a Promise) cannot give them.
  if (
    (budget as { capabilities?: unknown }).capabilities !== undefined &&
    !capabilitiesOf(budget).sync
  ) {
    throw invalid(
      'a watched budget must answer synchronously (its capabilities say sync: false): gauges are read at each collection; trace it (traceBudget) or count its observer events instead',
      {},
    );
  }
  for (const method of ['debt', 'subscribe'] as const) {
    if (b[method] !== undefined && typeof b[method] !== 'function') {
      throw invalid(`a watched budget’s ${method} must be a method`, {});
    }
  }
}

/** What a budget owes this epoch, and out of what capacity. */
interface Fill {
  readonly owed: number;
  readonly capacity: number;
}

/**
 * What `budget` owes this epoch — held, spent and debt — out of what capacity:
 *
 * - a hierarchy node: what its subtree holds (`held()`, reserved or spent) of its capacity,
 *   so a sibling filling the shared root is not counted;
 * - a waiting line, or a token guard view (compose's `tokenGuard(…)`, which an all-of or an
 *   any-of puts around a token budget it is given): the budget behind it's, debt included (a
 *   line or a view holds nothing of its own);
 * - an any-of: its members' together, what they owe of their capacities summed (its own
 *   `capacity` and `available()` are the largest single reservation, which says nothing of
 *   the units its other members hold, and its `held()` counts the count API only);
 * - any other budget: capacity − available + debt.
 */
function fillOf(budget: WatchableBudget): Fill {
  const node = hierarchyOf(budget);
  if (node !== undefined) return { owed: node.held(), capacity: budget.capacity };
  const behind = lineGuardOf(budget) ?? viewedTokensOf(budget);
  if (behind !== undefined) return fillOf(behind);
  const members = anyOfMembersOf(budget);
  if (members !== undefined) {
    let owed = 0;
    let capacity = 0;
    for (const member of members) {
      const fill = fillOf(member);
      owed += fill.owed;
      capacity += fill.capacity;
    }
    return { owed, capacity };
  }
  const capacity = budget.capacity;
  return { owed: capacity - budget.available() + (budget.debt?.() ?? 0), capacity };
}

/** Whether `value` reads as a budget: a capacity and `available()`. */
function readable(value: unknown): value is WatchableBudget {
  const b = value as Partial<Record<keyof WatchableBudget, unknown>> | null;
  return (
    typeof value === 'object' &&
    b !== null &&
    typeof b.capacity === 'number' &&
    typeof b.available === 'function'
  );
}

/** A waiting line's guard (compose's `waiting(…)`: `acquire` in front of `guard`), if any. */
function lineGuardOf(budget: object): WatchableBudget | undefined {
  const b = budget as { readonly guard?: unknown; readonly acquire?: unknown };
  return typeof b.acquire === 'function' && readable(b.guard) ? b.guard : undefined;
}

/** The token budget behind a token guard view (`tokenGuard(…)`: its `tokens`), if any. */
function viewedTokensOf(budget: object): WatchableBudget | undefined {
  const tokens = (budget as { readonly tokens?: unknown }).tokens;
  if (!readable(tokens)) return undefined;
  const t = tokens as {
    readonly tryReserveTokensSync?: unknown;
    readonly tryReserveTokens?: unknown;
  };
  const isTokenBudget =
    typeof t.tryReserveTokensSync === 'function' || typeof t.tryReserveTokens === 'function';
  return isTokenBudget ? tokens : undefined;
}

/** An any-of's members (compose's `anyOf(…)`: `members` tried by a `strategy`), if any. */
function anyOfMembersOf(budget: object): readonly WatchableBudget[] | undefined {
  const b = budget as { readonly members?: unknown; readonly strategy?: unknown };
  if (typeof b.strategy !== 'string' || !Array.isArray(b.members)) return undefined;
  return b.members.length > 0 && b.members.every(readable) ? b.members : undefined;
}

/**
 * @internal What `budget` owes this epoch: reserved, spent and debt (see {@link fillOf}), for
 * the budgets whose events thresholds hear, which all read it out of their own capacity.
 */
export function owedOf(budget: WatchableBudget): number {
  return fillOf(budget).owed;
}

/**
 * @internal How full `budget` is: what is owed this epoch over the capacity it is owed out
 * of ({@link fillOf}). Above 1 while the budget is in debt; 0 for a capacity of 0, as core's
 * `utilization()`.
 */
export function utilizationOf(budget: WatchableBudget): number {
  const { owed, capacity } = fillOf(budget);
  return capacity === 0 ? 0 : owed / capacity;
}
