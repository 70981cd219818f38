import type { PermitState } from '../spec/budget-guard.js';
import type { Clock } from '../spec/clock.js';
import type { BudgetObserver } from '../spec/events.js';
import { PermitCode, permitStateOf } from '../spec/permit-state.js';
import { ObserverList } from './observer-list.js';
import { describe, invalid } from './options.js';
import { checkUsed, SyncBudgetPermitBase } from './sync-permit-base.js';
import { systemClock } from './system-clock.js';

const { held: HELD, released: RELEASED, committed: COMMITTED } = PermitCode;

/**
 * @internal What a rate limiter's permit settles through: `back` of the permit's `cost`
 * units return (all of them on a release, `cost − used` on a commit).
 */
export interface RateOwner {
  settlePermit(cost: number, back: number, release: boolean): void;
}

/** @internal A permit whose settling gives units back to a rate limiter. */
export class RatePermit extends SyncBudgetPermitBase {
  private stateCode: number = HELD;
  constructor(
    private readonly owner: RateOwner,
    readonly cost: number,
  ) {
    super();
  }
  get epoch(): number {
    return 0;
  }
  get state(): PermitState {
    return permitStateOf(this.stateCode);
  }
  releaseSync(): boolean {
    if (this.stateCode !== HELD) return false;
    this.stateCode = RELEASED;
    this.owner.settlePermit(this.cost, this.cost, true);
    return true;
  }
  commitSync(used?: number): boolean {
    const spent = used === undefined ? this.cost : checkUsed(used, this.cost);
    if (this.stateCode !== HELD) return false;
    this.stateCode = COMMITTED;
    this.owner.settlePermit(this.cost, this.cost - spent, false);
    return true;
  }
}

/**
 * @internal The observer slot of a rate limiter (a token bucket, a sliding window): the
 * `observer` option, guarded, plus what `subscribe` adds. `fn` stays `undefined` while
 * nobody listens, so an operation checks one field and builds no event.
 */
export class RateObservers {
  fn: BudgetObserver | undefined;
  private list: ObserverList | undefined;

  constructor(own: BudgetObserver | undefined) {
    this.fn = own;
  }

  add(listener: BudgetObserver): () => void {
    this.list ??= new ObserverList(this.fn, (observer) => {
      this.fn = observer;
    });
    return this.list.add(listener);
  }
}

/** @internal */
export function positiveInteger(value: unknown, name: string): number {
  if (!Number.isSafeInteger(value) || (value as number) <= 0) {
    throw invalid(`${name} must be a positive safe integer, got ${describe(value)}`, {
      [name]: value,
    });
  }
  return value as number;
}

/** @internal */
export function clockOption(clock: unknown): Clock {
  if (clock === undefined) return systemClock;
  const c = clock as Partial<Clock> | null;
  if (typeof c?.now !== 'function' || typeof c.setTimer !== 'function') {
    throw invalid('option clock must have now() and setTimer()', {});
  }
  return clock as Clock;
}

/** @internal Tells `observer` a permit was settled: `refunded` units actually came back. */
export function reportSettle(
  observer: BudgetObserver,
  budget: string | undefined,
  cost: number,
  back: number,
  release: boolean,
  refunded: number,
  available: number,
): void {
  if (release) observer({ type: 'release', budget, cost, refunded, available });
  else observer({ type: 'commit', budget, cost, used: cost - back, refunded });
}

/** @internal Tells `observer` the count API was asked to release `requested`, `accepted` of it. */
export function reportExcess(
  observer: BudgetObserver,
  budget: string | undefined,
  requested: number,
  accepted: number,
): void {
  observer({ type: 'over-release', budget, requested, accepted, excess: requested - accepted });
}
