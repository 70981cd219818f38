import { type BudgetEvent, capabilitiesOf } from '@budgetry/core';
import { checkOptions, describe, invalid } from './invalid.js';
import { owedOf, type ScheduledWatchable, type WatchableBudget, watchTarget } from './watchable.js';

/**
 * One crossing of a threshold, as {@link watchThresholds} reports it.
 *
 * @example
 * ```ts
 * import type { ThresholdCrossing } from '@budgetry/otel';
 *
 * const alert = (c: ThresholdCrossing) =>
 *   console.log(`${c.budget ?? 'budget'} passed ${c.level * 100} % (now ${c.utilization})`);
 * ```
 */
export interface ThresholdCrossing {
  /** The name the budget reported in the event that crossed, if it has one. */
  readonly budget: string | undefined;
  /** The level crossed, as a fraction of capacity (`0.8` for 80 %). */
  readonly level: number;
  /** Utilization right after the crossing: owed this epoch over capacity (above 1 in debt). */
  readonly utilization: number;
  /** The epoch the crossing happened in; each level is reported at most once per epoch. */
  readonly epoch: number;
  /** The event that made utilization cross. */
  readonly event: BudgetEvent;
}

/**
 * Options for {@link watchThresholds}.
 *
 * @example
 * ```ts
 * import type { ThresholdOptions } from '@budgetry/otel';
 *
 * const options: ThresholdOptions = {
 *   levels: [0.5, 0.9, 1],
 *   onCross: (c) => console.log(`crossed ${c.level}`),
 * };
 * ```
 */
export interface ThresholdOptions {
  /** Fractions of capacity, each positive and finite (default `[0.5, 0.8, 1]`). */
  readonly levels?: readonly number[];
  /** Told of each crossing; its exceptions are reported as a warning, never thrown. */
  readonly onCross: (crossing: ThresholdCrossing) => void;
}

/** The levels used when none are given: half, four fifths and all of the budget. */
const DEFAULT_LEVELS: readonly number[] = [0.5, 0.8, 1];

/**
 * Report when a budget's utilization first reaches each level, once per epoch: 50, 80 and
 * 100 % by default. A level is armed again when the budget refills (its `refill` event). A
 * budget that declares no refill policy refills continuously (a token bucket, a sliding
 * window): it has no epochs, so there a level is armed again once utilization is seen below
 * it — at any event, or just before a reservation (the bucket as it was when asked, however
 * much it refilled unseen since the last event) — and crossings report epoch 0. A bucket
 * drained, left to refill and drained again reports again. Utilization is what the epoch
 * owes — held, spent and debt — over capacity, so a token budget in debt can cross a level
 * above 1; for a hierarchy node it is what its subtree holds over its capacity.
 *
 * Works without OpenTelemetry; `BudgetTelemetry.watch` uses it to count crossings as a metric.
 * Costs nothing until attached; attached, one `available()` per budget event.
 *
 * When to use: alerts ("the tenant's monthly budget is 80 % spent") that must fire once, not on
 * every request after the line is passed.
 *
 * @param budget - the budget to watch (see {@link WatchableBudget}), or a refill scheduler's
 * view ({@link ScheduledWatchable}).
 * @param options - the levels and the function told of each crossing.
 * @returns a function that stops watching (once; calling it again does nothing).
 * Each call keeps its own record: stopped and called again, it reports a level already
 * reached in this epoch once more, at the budget's next event.
 *
 * @throws BudgetError `INVALID_ARGUMENT` for a budget that cannot be watched or cannot report
 * its crossings (one that reports no events, such as an `allOf`), a level that is not a
 * positive finite number or is given twice, or an `onCross` that is not a function; nothing
 * is subscribed then.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import { watchThresholds } from '@budgetry/otel';
 *
 * const dollars = new AtomicBudget(100, { name: 'usd' });
 * const stop = watchThresholds(dollars, {
 *   levels: [0.5, 0.8],
 *   onCross: ({ budget, level }) => console.log(`${budget} is ${level * 100} % spent`),
 * });
 * dollars.tryReserveSync(60); // "usd is 50 % spent"
 * dollars.tryReserveSync(5); // nothing: 65 % crosses no new level
 * stop();
 * ```
 */
export function watchThresholds(
  budget: WatchableBudget | ScheduledWatchable,
  options: ThresholdOptions,
): () => void {
  const source = thresholdSource(budget);
  checkOptions(options, 'watchThresholds');
  // Only an absent option means the defaults: `null` is a mistake, refused as any bad list.
  const levels = checkLevels(options.levels === undefined ? DEFAULT_LEVELS : options.levels);
  const onCross = options.onCross;
  if (typeof onCross !== 'function') {
    throw invalid(`option onCross must be a function, got ${describe(onCross)}`, {});
  }
  // Budgets without epochs refill continuously: a level is armed again once usage drops below.
  const continuous = capabilitiesOf(source).refill === undefined;
  const readEpoch = (source as { readonly epoch?: unknown }).epoch;
  let epoch = typeof readEpoch === 'number' ? readEpoch : 0;
  // fired[i]: level i was reported in this epoch (or, for continuous budgets, since it was
  // last below it).
  const fired = levels.map(() => false);
  let stopped = false;
  const stop = source.subscribe((event) => {
    if (stopped) return;
    if (event.type === 'refill') {
      epoch = event.epoch;
      fired.fill(false);
    }
    const capacity = source.capacity;
    const owed = owedOf(source);
    const utilization = capacity === 0 ? 0 : owed / capacity;
    // A continuous budget refills between events, unseen: what it owed just before a
    // reservation (the cost less) is the lowest it was since the last event, so a level it
    // was below then is armed again, even if this reservation crosses it once more.
    const before =
      continuous && event.type === 'reserve' && capacity !== 0
        ? (owed - event.cost) / capacity
        : utilization;
    for (let i = 0; i < levels.length; i++) {
      const level = levels[i]!;
      if (continuous && before < level) fired[i] = false;
      if (utilization < level) continue;
      if (fired[i]) continue;
      fired[i] = true;
      tell(onCross, { budget: event.budget, level, utilization, epoch, event });
    }
  });
  return () => {
    if (stopped) return;
    stopped = true;
    stop();
  };
}

/**
 * @internal The budget whose events show every crossing of `budget`, or `INVALID_ARGUMENT`
 * saying why there is none.
 */
export function thresholdSource(budget: WatchableBudget | ScheduledWatchable) {
  const { events } = watchTarget(budget);
  if (events === undefined) {
    throw invalid(
      'thresholds need a budget that reports its events (subscribe); this one reports none (an allOf, an anyOf, a waiting line): watch it for gauges only, or put thresholds on its members',
      {},
    );
  }
  return events;
}

function checkLevels(levels: unknown): number[] {
  if (!Array.isArray(levels) || levels.length === 0) {
    throw invalid(`option levels must be a non-empty array, got ${describe(levels)}`, {});
  }
  for (const level of levels) {
    if (typeof level !== 'number' || !Number.isFinite(level) || level <= 0) {
      throw invalid(`a threshold level must be a positive finite number, got ${describe(level)}`, {
        level,
      });
    }
  }
  const sorted = [...(levels as number[])].sort((a, b) => a - b);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i] === sorted[i - 1]) {
      throw invalid(`threshold level ${sorted[i]} is given twice`, { level: sorted[i] });
    }
  }
  return sorted;
}

/** An alert callback must not break the budget operation that triggered it. */
function tell(onCross: (crossing: ThresholdCrossing) => void, crossing: ThresholdCrossing): void {
  try {
    onCross(crossing);
  } catch (error) {
    warn(
      `budgetry: a threshold listener threw: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/** @internal Reports a listener's failure as a process warning, as core does for observers. */
export function warn(message: string): void {
  if (typeof process !== 'undefined' && typeof process.emitWarning === 'function') {
    process.emitWarning(message, 'BudgetryObserverWarning');
  } else {
    console.warn(message);
  }
}
