import { type BudgetPermit, capabilitiesOf } from '@budgetry/core';

const MAX = Number.MAX_SAFE_INTEGER;

/** @internal `a + b` for amounts, saturating at 2^53 − 1 instead of leaving the safe range. */
export function saturatingAdd(a: number, b: number): number {
  // Both are at most 2^53 − 1, so a sum past it rounds to at least 2^53: never back below.
  return Math.min(a + b, MAX);
}

/**
 * @internal A sum of amounts that stays exact at any size (past 2^53 − 1 it continues as a
 * bigint), read as at most 2^53 − 1. Only a sum that leaves the safe range pays for bigints.
 */
export class UnitSum {
  private small = 0;
  private big: bigint | undefined;

  /** The sum, or 2^53 − 1 while it is larger. */
  get value(): number {
    return this.big === undefined ? this.small : MAX;
  }

  add(amount: number): void {
    if (this.big === undefined) {
      if (amount <= MAX - this.small) {
        this.small += amount;
        return;
      }
      this.big = BigInt(this.small);
    }
    this.big += BigInt(amount);
  }

  /** Removes `amount`, which an earlier `add` put in. */
  subtract(amount: number): void {
    if (this.big === undefined) {
      this.small -= amount;
      return;
    }
    this.big -= BigInt(amount);
    if (this.big <= BigInt(MAX)) {
      this.small = Number(this.big);
      this.big = undefined;
    }
  }
}

/**
 * @internal Whether a member that threw from a reservation of `charge` units had charged
 * them: its availability, read before the call (`NaN` when that read is what threw), fell by
 * exactly `charge`. Core budgets and compose's combinators change availability only through
 * calls made on them (a scheduled one catches up on its refills when read, before the call),
 * so for them this is exact; a member whose availability cannot be read afterwards, or moved
 * by anything else as well, is taken as uncharged, so nothing it did not take is ever
 * returned to it.
 */
export function chargedBy(
  member: { available(): number },
  charge: number,
  before: number,
): boolean {
  if (charge === 0) return false;
  try {
    return before - member.available() === charge;
  } catch {
    return false;
  }
}

/**
 * @internal What a count release is judged by if the member throws: its availability and,
 * when it has one, its count API's `held()` (NaN without), read just before the call.
 */
export interface CountReading {
  readonly available: number;
  readonly held: number;
}

/** @internal Reads {@link CountReading} of `member`. */
export function readCount(member: { available(): number }): CountReading {
  return { available: member.available(), held: heldOf(member) };
}

function heldOf(member: object): number {
  try {
    const held = (member as { held?: unknown }).held;
    return typeof held === 'function' ? Number(held.call(member)) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/**
 * @internal Whether a member that threw from a count release took it as done: its
 * availability rose, or its count API's `held()` fell (an all-of counts a release done once
 * its other members took their units back, though one failed and the minimum it reports did
 * not move). A member that shows neither, or cannot be read, is taken as not released, so the
 * release can be retried.
 */
export function returnedBy(member: { available(): number }, before: CountReading): boolean {
  try {
    return member.available() > before.available || heldOf(member) < before.held;
  } catch {
    return false;
  }
}

/** @internal Settles a permit a refill fenced off (it returns nothing), ignoring failures. */
export function discardPermit(permit: BudgetPermit): void {
  try {
    const sync = (permit as { releaseSync?: () => boolean }).releaseSync;
    if (typeof sync === 'function') sync.call(permit);
    else permit.release().catch(() => {});
  } catch {
    // Nothing could come back from it anyway.
  }
}

/**
 * @internal The members' epochs at one moment: `undefined` for one whose reservations outlive
 * refills.
 */
export type Epochs = readonly (number | undefined)[];

/**
 * @internal The epochs of a combinator's members that forget their reservations at a refill:
 * those that declare `refill: 'reset'` and expose a numeric `epoch`. A reservation taken on
 * one of them in an epoch it has since left can return nothing (its permit is fenced off,
 * its count reservation forgotten), so a ledger may drop it. Members under `carry`, without
 * epochs (rate limiters, combinators) or that do not say keep their reservations for good.
 */
export class ResetEpochs {
  private readonly watched: readonly boolean[];
  /** Whether any member is watched: without one, nothing a ledger holds ever goes stale. */
  readonly any: boolean;

  constructor(private readonly members: readonly unknown[]) {
    this.watched = members.map((m) => capabilitiesOf(m).refill === 'reset');
    this.any = this.watched.some((w) => w);
  }

  /** Member `i`'s epoch now, when it is watched and says; otherwise `undefined`. */
  stamp(i: number): number | undefined {
    if (!this.watched[i]) return undefined;
    try {
      const epoch = (this.members[i] as { epoch?: unknown }).epoch;
      return typeof epoch === 'number' ? epoch : undefined;
    } catch {
      return undefined;
    }
  }

  /** Every member's {@link ResetEpochs.stamp} now. */
  now(): Epochs {
    return this.watched.map((_, i) => this.stamp(i));
  }
}

/**
 * @internal Whether a reservation stamped `then` on member `i` may still return something,
 * given the epochs `now`: unless both are known and differ.
 */
export function stillLive(then: number | undefined, now: Epochs, i: number): boolean {
  const e = now[i];
  return then === undefined || e === undefined || e === then;
}

/** @internal What a {@link CountLedger} needs to drop reservations refills have fenced off. */
export interface Fence<H> {
  /** The members' epochs now. */
  epochs(): Epochs;
  /** Whether `handle` can still return anything, given the epochs now. */
  live(handle: H, now: Epochs): boolean;
  /** Settles a handle being dropped, so that no leak is reported for it. */
  discard(handle: H): void;
}

function sameEpochs(a: Epochs, b: Epochs): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return a.length === b.length;
}

/**
 * @internal The count API (`tryReserve(cost)` / `release(cost)`) on top of handles: each
 * count reservation is kept as a handle under its cost, and `release(cost)` settles one
 * handle of exactly that cost. Releasing a cost that nothing holds is an over-release: it
 * is counted and changes nothing, so a double release can never refund twice.
 *
 * Combinators whose members hand out handles (token budgets, async guards) use this so the
 * count API keeps the epoch fencing of the handles underneath.
 *
 * With a {@link Fence}, entries a refill has fenced off (their member forgot them under
 * `reset`) are dropped whenever a watched member's epoch has moved since the last look, so
 * consume-and-refill use keeps only what can still be returned, and `held` counts only that.
 *
 * `held` is exact at any size and reads at most 2^53 − 1; `overReleased` saturates there.
 */
export class CountLedger<H> {
  private readonly byCost = new Map<number, H[]>();
  private readonly heldUnits = new UnitSum();
  private overReleasedUnits = 0;
  private seen: Epochs | undefined;

  constructor(private readonly fence?: Fence<H>) {}

  /** Units held through the count API (at most 2^53 − 1). */
  get held(): number {
    this.refresh();
    return this.heldUnits.value;
  }

  /** Units released beyond what was held, ignored (saturating at 2^53 − 1). */
  get overReleased(): number {
    return this.overReleasedUnits;
  }

  /** Keeps `handle` under `cost`; one already fenced off is settled and not kept. */
  push(cost: number, handle: H): void {
    const now = this.refresh();
    if (now !== undefined && !this.live(handle, now)) {
      this.discard(handle);
      return;
    }
    const list = this.byCost.get(cost);
    if (list === undefined) this.byCost.set(cost, [handle]);
    else list.push(handle);
    this.heldUnits.add(cost);
  }

  /**
   * Keeps `handle` under `cost` when a reservation produced one.
   *
   * @returns whether there was a handle (the count API's `tryReserve` result).
   */
  keep(cost: number, handle: H | null): boolean {
    if (handle === null) return false;
    this.push(cost, handle);
    return true;
  }

  /**
   * Removes and returns a handle of exactly `cost`, or counts an over-release. A caller whose
   * settling of the handle fails puts it back with {@link CountLedger.push}.
   */
  take(cost: number): H | undefined {
    this.refresh();
    const list = this.byCost.get(cost);
    const handle = list?.pop();
    if (handle === undefined) {
      this.overReleasedUnits = saturatingAdd(this.overReleasedUnits, cost);
      return undefined;
    }
    if (list!.length === 0) this.byCost.delete(cost);
    this.heldUnits.subtract(cost);
    return handle;
  }

  /** Drops what a refill fenced off, when a watched epoch moved since the last look. */
  private refresh(): Epochs | undefined {
    const fence = this.fence;
    if (fence === undefined) return undefined;
    const now = fence.epochs();
    if (this.seen !== undefined && sameEpochs(now, this.seen)) return now;
    this.seen = now;
    const dropped: H[] = [];
    for (const [cost, list] of this.byCost) {
      const kept: H[] = [];
      for (const h of list) {
        if (this.live(h, now)) {
          kept.push(h);
        } else {
          dropped.push(h);
          this.heldUnits.subtract(cost);
        }
      }
      if (kept.length === list.length) continue;
      if (kept.length === 0) this.byCost.delete(cost);
      else this.byCost.set(cost, kept);
    }
    // Settled once the ledger is consistent again: settling may call back into it.
    for (const h of dropped) this.discard(h);
    return now;
  }

  private live(handle: H, now: Epochs): boolean {
    try {
      return this.fence!.live(handle, now);
    } catch {
      return true; // when in doubt, keep: a kept entry can still be released
    }
  }

  private discard(handle: H): void {
    try {
      this.fence!.discard(handle);
    } catch {
      // A fenced-off handle returns nothing; failing to settle it loses nothing.
    }
  }
}
