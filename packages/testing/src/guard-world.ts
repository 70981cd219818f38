import type { BudgetPermit, RefillPolicy } from '@budgetry/core';
import type fc from 'fast-check';
import type { FakeClock } from './fake-clock.js';
import type { InvariantId } from './invariant-catalog.js';
import { ScheduledWorld } from './scheduled-world.js';

/** @internal What the harness holds from one successful reserve or acquire. */
export interface Holding {
  readonly kind: 'count' | 'permit';
  readonly cost: number;
  readonly epoch: number;
  readonly permit: BudgetPermit | undefined;
  /**
   * `maybe`: held or not, the model cannot tell (a timed-out reserve, or a reserve that crossed
   * a `reset` refill); `maybe-released`: a timed-out release; `void`: fenced by a refill.
   */
  status: 'held' | 'released' | 'committed' | 'gone' | 'void' | 'maybe' | 'maybe-released';
  /** Settle calls (release, commit, dispose) in flight on the permit. */
  settling: number;
  /** Settle calls in flight that would refund (release, dispose). */
  releasing: number;
  /** Commit calls in flight. */
  committing: number;
  wins: number;
  /** A dispose completed: the permit is settled, though the winner may still be unknown. */
  disposed: boolean;
  /** The model inferred `released` from a completed dispose. */
  inferred: boolean;
  /** A commit was in flight when a refill ran: under `carry` it may land in either epoch. */
  commitCrossed: boolean;
  /** Committed, but in an unknown epoch (`maybe` until the next refill). */
  committedMaybe: boolean;
  attempts: number;
  indeterminate: boolean;
}

/** @internal A reserve or acquire in flight. */
export interface PendingReserve {
  readonly cost: number;
  /** The call has reached the subject. */
  started: boolean;
  /** A refill ran while the call was in the subject: its epoch is unknown. */
  crossed: boolean;
}

interface Window {
  minLo: number;
  maxHi: number;
}

interface ReserveWindow {
  readonly cost: number;
  minFree: number;
}

/** @internal The model side of a guard run: what the harness holds, and what is in flight. */
export class GuardWorld<S> extends ScheduledWorld {
  epoch = 0;
  readonly holdings: Holding[] = [];
  readonly reserves = new Set<PendingReserve>();
  /** A refill was issued and has not settled. */
  refillIssued = false;
  /** A refill has reached the subject and has not settled. */
  refillRunning = false;
  refills = 0;
  invalidCalls = 0;
  resettles = 0;
  timeouts = 0;
  readonly windows = new Set<Window>();
  readonly reserveWindows = new Set<ReserveWindow>();

  constructor(
    scheduler: fc.Scheduler,
    active: ReadonlySet<InvariantId>,
    readonly subject: S,
    readonly capacity: number,
    readonly policy: RefillPolicy,
    readonly clock: FakeClock,
  ) {
    super(scheduler, active);
  }

  live(h: Holding): boolean {
    return h.kind === 'count' || this.policy === 'carry' || h.epoch === this.epoch;
  }

  /** [Hmin, Hmax]: what the harness may hold, given calls in flight and indeterminate ones. */
  held(): [number, number] {
    let lo = 0;
    let hi = 0;
    for (const r of this.reserves) hi += r.cost;
    for (const h of this.holdings) {
      if (!this.live(h)) continue;
      switch (h.status) {
        case 'held':
          hi += h.cost;
          if (h.releasing === 0 && !h.disposed) lo += h.cost;
          break;
        case 'committed':
          lo += h.cost;
          hi += h.cost;
          break;
        case 'maybe':
        case 'maybe-released':
          hi += h.cost;
          break;
        default:
          break;
      }
    }
    return [lo, hi];
  }

  /** Bounds on `available()` right now. */
  bounds(): [number, number] {
    const [lo, hi] = this.held();
    return [this.capacity - hi, this.capacity - lo];
  }

  /** Called after every model change: widens the windows of calls in flight. */
  changed(): void {
    const [lo, hi] = this.bounds();
    for (const w of this.windows) {
      w.minLo = Math.min(w.minLo, lo);
      w.maxHi = Math.max(w.maxHi, hi);
    }
    for (const r of this.reserveWindows) r.minFree = Math.min(r.minFree, lo + r.cost);
  }

  openWindow(): Window {
    const [lo, hi] = this.bounds();
    const w = { minLo: lo, maxHi: hi };
    this.windows.add(w);
    return w;
  }

  openReserveWindow(cost: number): ReserveWindow {
    const [lo] = this.bounds();
    const r = { cost, minFree: lo + cost };
    this.reserveWindows.add(r);
    return r;
  }

  /** Ids whose bugs show up as broken conservation, given what this run did. */
  conservationIds(base: InvariantId[]): InvariantId[] {
    const ids = [...base];
    if (this.invalidCalls > 0) ids.push('G5');
    if (this.resettles > 0) ids.push('P1');
    if (this.refills > 0) ids.push('R4');
    if (this.timeouts > 0) ids.push('RM1');
    return ids;
  }

  newHolding(kind: Holding['kind'], cost: number, permit: BudgetPermit | undefined): Holding {
    const h: Holding = {
      kind,
      cost,
      epoch: this.epoch,
      permit,
      status: 'held',
      settling: 0,
      releasing: 0,
      committing: 0,
      wins: 0,
      disposed: false,
      inferred: false,
      commitCrossed: false,
      committedMaybe: false,
      attempts: 0,
      indeterminate: false,
    };
    this.holdings.push(h);
    return h;
  }

  /**
   * A refill reached the subject: calls already inside the subject cross it (under `reset`
   * their epoch is unknown), calls not yet started land in the new epoch.
   */
  refillModel(): void {
    this.epoch++;
    this.refills++;
    for (const r of this.reserves) if (r.started) r.crossed = true;
    for (const h of this.holdings) {
      if (h.committing > 0) h.commitCrossed = true;
      if (h.status === 'committed' || (h.status === 'maybe' && h.committedMaybe)) h.status = 'gone';
      else if (this.policy === 'reset' && h.kind === 'count' && h.status !== 'released') {
        h.status = 'void';
      }
    }
  }
}
