import type { RetryHint } from '@budgetry/core';
import {
  AtomicTokenBudget,
  assertAmount,
  type BudgetCapabilities,
  BudgetError,
  type Clock,
  capabilitiesOf,
  SharedTokenBudget,
  type SyncBudgetGuard,
  type SyncBudgetPermit,
  type SyncTokenBudget,
  TokenReservation,
} from '@budgetry/core';
import { HierarchyNode } from '../hierarchy/index.js';
import { type CeilingReading, ceilingKey } from '../internal/ceiling.js';
import { registerCleanWrapper } from '../internal/clean-wrappers.js';
import { invalid } from '../internal/member-list.js';
import { RefillEngine } from './refill-engine.js';
import {
  checkSchedulerOptions,
  type EpochBoundaries,
  type RefillListener,
  type RefillSchedulerOptions,
} from './scheduler-options.js';
import { type RefillableGuard, type RefillableTokenBudget, toTarget } from './targets.js';

/**
 * What {@link RefillingGuard} and {@link RefillingTokenBudget} share: the budget underneath,
 * the schedule's epoch and next boundary, availability caught up with the clock, retry hints,
 * refill listeners and `close()`.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import { lazyRefill, type ScheduledBudget } from '@budgetry/compose';
 *
 * const scheduled: ScheduledBudget<AtomicBudget> = lazyRefill(new AtomicBudget(10), {
 *   intervalMs: 1_000,
 * });
 * console.log(scheduled.epoch, scheduled.retryAfterMs(11)); // 0 undefined
 * ```
 */
export abstract class ScheduledBudget<B extends { readonly capacity: number; available(): number }>
  implements RetryHint, Disposable
{
  /** What the budget declares, with a retry hint; no longer schedulable (it has its schedule). */
  readonly capabilities: BudgetCapabilities;

  /** @internal */
  constructor(
    /** The budget being refilled. */
    readonly budget: B,
    protected readonly engine: RefillEngine,
  ) {
    this.capabilities = Object.freeze({
      ...capabilitiesOf(budget),
      retryHint: true,
      schedulable: false,
    });
  }

  get capacity(): number {
    return this.budget.capacity;
  }
  /** @internal The scheduled budget's ceiling (see `ceilingOf`). */
  [ceilingKey](of: CeilingReading): number {
    return of(this.budget);
  }
  /** Epochs begun since the scheduler started (its own count, one per boundary crossed). */
  get epoch(): number {
    this.engine.catchUp();
    return this.engine.epoch;
  }
  /**
   * When the next refill is due, in clock milliseconds (`Infinity` when no boundary lies
   * ahead within the clock's safe-integer range, or the calendar's).
   */
  nextRefillAt(): number {
    this.engine.catchUp();
    return this.engine.nextAt;
  }
  available(): number {
    this.engine.catchUp();
    return this.budget.available();
  }
  /**
   * 0 when `cost` fits now; else the time to the next refill, if a refill can make it fit.
   *
   * @param cost - the units wanted.
   * @returns milliseconds, or `undefined` for a cost above capacity (or with no boundary
   * ahead).
   */
  retryAfterMs(cost: number): number | undefined {
    assertAmount(cost, 'cost');
    if (this.available() >= cost) return 0;
    return cost > this.budget.capacity ? undefined : this.engine.retryAfterMs();
  }
  /**
   * Be told after each refill (waiters use this to wake). A listener that throws does not
   * stop the others or the schedule; its error goes to the scheduler's `onError`.
   *
   * @param listener - called with the new epoch.
   * @returns a function that unsubscribes (once; calling it again does nothing).
   * @throws BudgetError `INVALID_ARGUMENT` when `listener` is not a function.
   */
  subscribe(listener: RefillListener): () => void {
    return this.engine.subscribe(listener);
  }
  /** Stop the timer, if any. Access-driven refills continue. */
  close(): void {
    this.engine.close();
  }
  [Symbol.dispose](): void {
    this.engine.close();
  }
}

/**
 * A guard whose epochs follow a schedule: every method first applies the refills the clock
 * says are due. Returned by {@link lazyRefill}, {@link intervalRefill} and
 * {@link calendarRefill} for guard budgets.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import { lazyRefill } from '@budgetry/compose';
 *
 * const rpm = lazyRefill(new AtomicBudget(60), { intervalMs: 60_000 });
 * rpm.tryReserveSync(1);
 * console.log(rpm.epoch, rpm.nextRefillAt());
 * ```
 */
export class RefillingGuard<B extends RefillableGuard = RefillableGuard>
  extends ScheduledBudget<B>
  implements SyncBudgetGuard
{
  tryReserveSync(cost: number): boolean {
    // Checked first: a rejected call must not be the one that applies a due refill.
    assertAmount(cost, 'cost');
    this.engine.catchUp();
    return this.budget.tryReserveSync(cost);
  }
  releaseSync(cost: number): void {
    // Checked first: a rejected call must not be the one that applies a due refill.
    assertAmount(cost, 'cost');
    this.engine.catchUp();
    this.budget.releaseSync(cost);
  }
  tryAcquireSync(cost: number): SyncBudgetPermit | null {
    // Checked first: a rejected call must not be the one that applies a due refill.
    assertAmount(cost, 'cost');
    this.engine.catchUp();
    return this.budget.tryAcquireSync(cost);
  }
  async tryReserve(cost: number): Promise<boolean> {
    return this.tryReserveSync(cost);
  }
  async release(cost: number): Promise<void> {
    this.releaseSync(cost);
  }
  async tryAcquire(cost: number): Promise<SyncBudgetPermit | null> {
    return this.tryAcquireSync(cost);
  }
}

/**
 * A token budget whose epochs follow a schedule; see {@link RefillingGuard}. Debt is paid
 * first out of every refill.
 *
 * @example
 * ```ts
 * import { AtomicTokenBudget } from '@budgetry/core';
 * import { lazyRefill } from '@budgetry/compose';
 *
 * const tpm = lazyRefill(new AtomicTokenBudget(90_000), { intervalMs: 60_000 });
 * const r = tpm.tryReserveTokensSync(1_000);
 * if (r) tpm.recordUsageSync(r, 700, 500); // 200 over: owed, paid first by the next refill
 * ```
 */
export class RefillingTokenBudget<B extends RefillableTokenBudget = RefillableTokenBudget>
  extends ScheduledBudget<B>
  implements SyncTokenBudget
{
  debt(): number {
    this.engine.catchUp();
    return this.budget.debt();
  }
  tryReserveTokensSync(estimate: number): TokenReservation | null {
    // Checked first: a rejected call must not be the one that applies a due refill.
    assertAmount(estimate, 'estimate');
    this.engine.catchUp();
    return this.budget.tryReserveTokensSync(estimate);
  }
  recordUsageSync(reservation: TokenReservation, prompt: number, completion: number): void {
    // A handle a core budget will refuse (not a reservation, another budget's, settled) goes
    // straight to it, and it throws before anything has caught up. A budget of a user's may
    // name another owner in its handles: it is caught up first, whatever it is given.
    const budget = this.budget;
    const recordable = TokenReservation.recordable(budget, reservation, prompt, completion);
    if (
      recordable ||
      !(budget instanceof AtomicTokenBudget || budget instanceof SharedTokenBudget)
    ) {
      this.engine.catchUp();
    }
    budget.recordUsageSync(reservation, prompt, completion);
  }
  tokensConsumedSync(): number {
    return this.budget.tokensConsumedSync();
  }
  /**
   * The budget's own count API (core's `AtomicTokenBudget` has one, which its declared
   * `countRelease` says), caught up with the clock first: reserve `cost` tokens with no
   * handle, to be returned with {@link RefillingTokenBudget.releaseSync}.
   *
   * @param cost - a non-negative safe integer.
   * @returns `true` when reserved.
   */
  tryReserveSync(cost: number): boolean {
    assertAmount(cost, 'cost');
    this.engine.catchUp();
    return countApiOf(this.budget).tryReserveSync(cost);
  }
  /**
   * Count API release, in the epoch the clock is in; see
   * {@link RefillingTokenBudget.tryReserveSync}.
   *
   * @param cost - a non-negative safe integer.
   */
  releaseSync(cost: number): void {
    assertAmount(cost, 'cost');
    this.engine.catchUp();
    countApiOf(this.budget).releaseSync(cost);
  }
  /** Count-API units released beyond what was held (ignored), as the budget counts them. */
  overReleased(): number {
    return countApiOf(this.budget).overReleased();
  }
  async tryReserveTokens(estimate: number): Promise<TokenReservation | null> {
    return this.tryReserveTokensSync(estimate);
  }
  async recordUsage(
    reservation: TokenReservation,
    prompt: number,
    completion: number,
  ): Promise<void> {
    this.recordUsageSync(reservation, prompt, completion);
  }
  async tokensConsumed(): Promise<number> {
    return this.budget.tokensConsumedSync();
  }
}

/** The count API a token budget declaring `countRelease` has (core's `AtomicTokenBudget`). */
interface CountApi {
  tryReserveSync(cost: number): boolean;
  releaseSync(cost: number): void;
  overReleased(): number;
}

function countApiOf(budget: object): CountApi {
  const api = budget as Partial<CountApi>;
  if (
    typeof api.tryReserveSync !== 'function' ||
    typeof api.releaseSync !== 'function' ||
    typeof api.overReleased !== 'function'
  ) {
    throw new BudgetError({
      code: 'INVALID_ARGUMENT',
      message: 'this token budget has no count API (tryReserveSync / releaseSync)',
    });
  }
  return api as CountApi;
}

/** @internal Wraps `target` in the scheduler's view of the right kind. */
export function schedule(
  target: unknown,
  what: string,
  options: RefillSchedulerOptions,
  boundaries: (clock: Clock) => EpochBoundaries,
  timer: boolean,
): RefillingGuard | RefillingTokenBudget {
  const { clock, report } = checkSchedulerOptions(options);
  const t = toTarget(target, what);
  // Epochs come from the clock, not from traffic: a schedulable budget follows the schedule,
  // catching up before every operation, so a permit or reservation settled on the budget
  // directly (not through this wrapper) lands in the epoch the clock says it is in. It is
  // attached before the engine exists, so a budget that refuses (it already follows a
  // schedule) leaves no timer behind.
  const follow = (
    t.budget as {
      followSchedule?: (catchUp: () => void, nextRefill?: () => number | undefined) => () => void;
    }
  ).followSchedule;
  if (typeof follow !== 'function') {
    throw invalid(
      `${what}: a budget that declares itself schedulable must have followSchedule(catchUp)`,
      {},
    );
  }
  let engine: RefillEngine | undefined;
  const catchUp = () => engine?.catchUp();
  // A hierarchy's nodes give the schedule's next refill as their retry hint.
  const detach =
    t.budget instanceof HierarchyNode
      ? follow.call(t.budget, catchUp, () => engine?.retryAfterMs())
      : follow.call(t.budget, catchUp);
  try {
    engine = new RefillEngine(clock, boundaries(clock), t.budget, timer, report);
  } catch (error) {
    // A shared budget whose clock disagrees with the schedule's: nothing stays attached.
    if (typeof detach === 'function') detach();
    throw error;
  }
  return t.kind === 'tokens'
    ? new RefillingTokenBudget(t.budget, engine)
    : new RefillingGuard(t.budget, engine);
}

registerCleanWrapper(RefillingGuard.prototype, (g) => g.budget);
registerCleanWrapper(RefillingTokenBudget.prototype, (t) => t.budget);
