import type { RetryHint } from '@budgetry/core';
import {
  AtomicBudget,
  assertAmount,
  type BudgetCapabilities,
  type Clock,
  capabilitiesOf,
  type RefillPolicy,
  type SchedulableCapabilities,
  type SyncBudgetGuard,
  type SyncBudgetPermit,
  type SyncTokenBudget,
  systemClock,
  type TokenReservation,
} from '@budgetry/core';
import { HierarchyNode } from '../hierarchy/index.js';
import { describe, invalid } from '../internal/member-list.js';
import { isSyncTokenBudget } from '../internal/token-kind.js';

/**
 * What a refill scheduler drives: any budget with a `refill()` that begins a new epoch.
 *
 * @example
 * ```ts
 * import { AtomicTokenBudget } from '@budgetry/core';
 * import type { Refillable } from '@budgetry/compose';
 *
 * const target: Refillable = new AtomicTokenBudget(1_000); // refill(), refillPolicy, debt()
 * target.refill();
 * console.log(target.refillPolicy, target.debt?.()); // 'reset' 0
 * ```
 */
export interface Refillable {
  /** Begin a new epoch (paying debt first, for token budgets). */
  refill(): void;
  /** The budget's refill policy, when it has one. */
  readonly refillPolicy?: RefillPolicy;
  /** Outstanding debt, for token budgets. */
  debt?(): number;
}

/**
 * A guard a scheduler can refill (for example an `AtomicBudget`).
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import { intervalRefill, type RefillableGuard } from '@budgetry/compose';
 *
 * function perSecond<B extends RefillableGuard>(budget: B) {
 *   return intervalRefill(budget, { intervalMs: 1_000 });
 * }
 * using rps = perSecond(new AtomicBudget(20)); // the timer stops at the end of the scope
 * rps.tryReserveSync(1);
 * ```
 */
export type RefillableGuard = SyncBudgetGuard &
  Refillable & { readonly capabilities: SchedulableCapabilities };
/**
 * A token budget a scheduler can refill (for example an `AtomicTokenBudget`).
 *
 * @example
 * ```ts
 * import { AtomicTokenBudget } from '@budgetry/core';
 * import { lazyRefill, type RefillableTokenBudget } from '@budgetry/compose';
 *
 * const tokens: RefillableTokenBudget = new AtomicTokenBudget(90_000);
 * const tpm = lazyRefill(tokens, { intervalMs: 60_000 });
 * console.log(tpm.debt()); // 0
 * ```
 */
export type RefillableTokenBudget = SyncTokenBudget &
  Refillable & { readonly capabilities: SchedulableCapabilities };

/**
 * Shorthand for a fresh `AtomicBudget`: the scheduler builds it with this capacity and
 * policy, so the policy is stated where the schedule is.
 *
 * @example
 * ```ts
 * import { lazyRefill, type RefillBudgetSpec } from '@budgetry/compose';
 *
 * const spec: RefillBudgetSpec = { capacity: 100, policy: 'carry' };
 * const perMinute = lazyRefill(spec, { intervalMs: 60_000 });
 * console.log(perMinute.budget.refillPolicy); // 'carry'
 * ```
 */
export interface RefillBudgetSpec {
  /** Units per epoch. */
  readonly capacity: number;
  /** `reset` (default) or `carry`: what a refill does with units still held. */
  readonly policy?: RefillPolicy;
  /**
   * Never present: a value that declares capabilities is a budget, not this shorthand (so
   * `lazyRefill(allOf(...))`, which has a capacity, does not compile as one).
   */
  readonly capabilities?: never;
}

/**
 * Options every refill scheduler takes.
 *
 * @example
 * ```ts
 * import { type Clock, systemClock } from '@budgetry/core';
 * import { calendarRefill, type RefillSchedulerOptions } from '@budgetry/compose';
 *
 * const clock: Clock = systemClock; // a fake clock in tests
 * const scheduling: RefillSchedulerOptions = { clock, timer: true };
 * using daily = calendarRefill({ capacity: 1_000 }, { unit: 'day', ...scheduling });
 * ```
 */
export interface RefillSchedulerOptions {
  /** The source of time (default `systemClock`). */
  clock?: Clock;
  /**
   * Also refill from a timer at each boundary (unref'd; stopped by `close()`), so refills
   * happen, and waiters wake, even when nobody touches the budget. Without it, refills are
   * computed from the clock on access only.
   */
  timer?: boolean;
}

/**
 * Told after each refill the scheduler performs.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import { intervalRefill, type RefillListener } from '@budgetry/compose';
 *
 * using perMinute = intervalRefill(new AtomicBudget(60), { intervalMs: 60_000 });
 * const log: RefillListener = (epoch) => console.log(`epoch ${epoch} began`);
 * const stop = perMinute.subscribe(log);
 * stop();
 * ```
 */
export type RefillListener = (epoch: number) => void;

/** @internal When epochs begin. */
export interface EpochBoundaries {
  /** The first boundary strictly after `t`. */
  next(t: number): number;
  /**
   * A number that grows by one at each boundary (local periods since some origin), so the
   * boundaries crossed between two instants are the difference of their indices.
   */
  index(t: number): number;
}

/** @internal Validates `clock` and `timer`. */
export function checkSchedulerOptions(options: RefillSchedulerOptions): Clock {
  if (typeof options !== 'object' || options === null) {
    throw invalid(`scheduler options must be an object, got ${describe(options)}`, {});
  }
  const { clock, timer } = options;
  if (
    clock !== undefined &&
    (typeof clock?.now !== 'function' || typeof clock?.setTimer !== 'function')
  ) {
    throw invalid('option clock must have now() and setTimer()', {});
  }
  if (timer !== undefined && typeof timer !== 'boolean') {
    throw invalid('option timer must be a boolean', { timer });
  }
  return clock ?? systemClock;
}

/** @internal Resolves the budget a scheduler drives. */
export function toTarget(
  target: unknown,
  what: string,
): { kind: 'guard'; budget: RefillableGuard } | { kind: 'tokens'; budget: RefillableTokenBudget } {
  const caps = capabilitiesOf(target);
  if (caps.schedulable) {
    if (typeof (target as Partial<Refillable>).refill !== 'function') {
      throw invalid(`${what}: a budget that declares itself schedulable must have refill()`, {});
    }
    if (isSyncTokenBudget(target)) {
      return { kind: 'tokens', budget: target as RefillableTokenBudget };
    }
    return { kind: 'guard', budget: target as RefillableGuard };
  }
  if (target instanceof HierarchyNode) {
    // A node below the root has refill() only to refuse it: its epochs are the root's.
    // Refused here, not at the first tick, where the error would end the process.
    throw invalid(
      `${what} can refill only the root of a hierarchy: schedule the root, whose refill covers '${target.path.join('/')}'`,
      { path: target.path },
    );
  }
  // The `{ capacity, policy }` shorthand is a plain object that declares nothing; a budget
  // that is not schedulable (an all-of, a waiting line, a token guard, a budget already on a
  // schedule) must be refused, not replaced by a fresh budget its members would never see.
  const proto =
    typeof target === 'object' && target !== null ? Object.getPrototypeOf(target) : undefined;
  if (
    (proto === Object.prototype || proto === null) &&
    'capacity' in (target as object) &&
    !('capabilities' in (target as object))
  ) {
    const { capacity, policy } = target as RefillBudgetSpec;
    return {
      kind: 'guard',
      budget: new AtomicBudget(capacity, { refillPolicy: policy ?? 'reset' }),
    };
  }
  throw invalid(
    `${what} expects a budget that declares itself schedulable (an AtomicBudget, an AtomicTokenBudget, a hierarchy root) or { capacity, policy }, got ${describe(target)}: a combinator, wrapper or scheduled view has no epochs of its own; schedule the budgets inside it`,
    {},
  );
}

/** Bounds the work of one catch-up after a very long idle period with a huge debt. */
const MAX_REFILLS_PER_CATCH_UP = 10_000;

/** @internal The part every scheduler shares: catch up with the clock, timers, listeners. */
export class RefillEngine {
  epoch = 0;
  nextAt: number;
  private cancelTimer: (() => void) | undefined;
  private closed = false;
  private listeners: RefillListener[] = [];

  constructor(
    readonly clock: Clock,
    private readonly boundaries: EpochBoundaries,
    private readonly target: Refillable,
    timer: boolean,
  ) {
    this.nextAt = boundaries.next(clock.now());
    if (timer) this.arm();
  }

  /** Refill for every boundary the clock has passed since the last look. */
  catchUp(): void {
    const now = this.clock.now();
    if (now < this.nextAt) return;
    // The boundary at nextAt is crossed; count any further ones (for paying large debts).
    const b = this.boundaries;
    const crossed = 1 + Math.max(0, b.index(now) - b.index(this.nextAt));
    this.nextAt = this.boundaries.next(now);
    this.epoch += crossed;
    // One refill suffices unless debt is left: each refill pays at most one epoch's worth,
    // so a budget that was idle for several epochs pays a large debt as if refilled each time.
    const t = this.target;
    for (let i = 0; i < crossed && i < MAX_REFILLS_PER_CATCH_UP; i++) {
      t.refill();
      if (typeof t.debt !== 'function' || t.debt() === 0) break;
    }
    for (const l of this.listeners) l(this.epoch);
  }

  retryAfterMs(): number {
    return Math.max(0, this.nextAt - this.clock.now());
  }

  subscribe(listener: RefillListener): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  close(): void {
    this.closed = true;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
  }

  private arm(): void {
    if (this.closed) return;
    this.cancelTimer = this.clock.setTimer(() => {
      this.cancelTimer = undefined;
      // A late timer finds the epoch already refilled by an access and does nothing.
      this.catchUp();
      this.arm();
    }, this.nextAt - this.clock.now());
  }
}

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
  /** Epochs begun since the scheduler started (its own count, one per boundary crossed). */
  get epoch(): number {
    this.engine.catchUp();
    return this.engine.epoch;
  }
  /** When the next refill is due, in clock milliseconds. */
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
   * @returns milliseconds, or `undefined` for a cost above capacity.
   */
  retryAfterMs(cost: number): number | undefined {
    assertAmount(cost, 'cost');
    if (this.available() >= cost) return 0;
    return cost > this.budget.capacity ? undefined : this.engine.retryAfterMs();
  }
  /**
   * Be told after each refill (waiters use this to wake).
   *
   * @param listener - called with the new epoch.
   * @returns a function that unsubscribes.
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
    assertAmount(prompt, 'prompt');
    assertAmount(completion, 'completion');
    this.engine.catchUp();
    this.budget.recordUsageSync(reservation, prompt, completion);
  }
  tokensConsumedSync(): number {
    return this.budget.tokensConsumedSync();
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

/** @internal Wraps `target` in the scheduler's view of the right kind. */
export function schedule(
  target: unknown,
  what: string,
  options: RefillSchedulerOptions,
  boundaries: (clock: Clock) => EpochBoundaries,
  timer: boolean,
): RefillingGuard | RefillingTokenBudget {
  const clock = checkSchedulerOptions(options);
  const t = toTarget(target, what);
  const engine = new RefillEngine(clock, boundaries(clock), t.budget, timer);
  // Epochs come from the clock, not from traffic: a budget that can follow the schedule
  // catches up before every operation, so a permit or reservation settled on the budget
  // directly (not through this wrapper) lands in the epoch the clock says it is in.
  const follow = (t.budget as { followSchedule?: (catchUp: () => void) => () => void })
    .followSchedule;
  if (typeof follow === 'function') follow.call(t.budget, () => engine.catchUp());
  return t.kind === 'tokens'
    ? new RefillingTokenBudget(t.budget, engine)
    : new RefillingGuard(t.budget, engine);
}
