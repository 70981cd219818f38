import type { SyncBudgetGuard } from '@budgetry/core';
import { saturatingAdd } from '../internal/count-ledger.js';
import type { MemberKey } from '../internal/member-list.js';
import {
  type CoreCounter,
  type CountMembers,
  corePosition,
  countMembersOf,
} from './count-loops.js';
import { SyncAllOf } from './sync-all-of.js';

const isSafe = Number.isSafeInteger;

/**
 * @internal The all-of `allOf` builds over synchronous members. One or two members are
 * always a `SyncAllOf` itself, whose count API holds the headline shape's path (one or two
 * core budgets) and, first on its general path, the path of two other members that fail
 * clean: a call site that drives all-ofs of many kinds sees one class for all of them, and
 * V8 inlines a call site's targets only while it has seen few (one that had seen three all-of
 * classes ran the headline shape at about 0.6× of one that had seen one).
 *
 * Three to eight core `AtomicBudget`s and `AtomicTokenBudget`s charged the cost get a class of
 * their own per width, straight-line, whose positions learn only core's two classes; more
 * than eight, one that loops. Each position is asked whether its own method would just change
 * its counts (`countFits`, `countHolds`: no observer, no refill schedule, the method not
 * replaced) and then changed in place; when one says no, the call goes the general way,
 * through every member's own method, with the same results.
 */
export function syncAllOf<K extends MemberKey>(
  keys: K[],
  members: SyncBudgetGuard[],
  fixed: number[],
): SyncAllOf<K> {
  const loops = countMembersOf(keys, members, fixed);
  const core = loops.core;
  if (core !== undefined) {
    const n = core.length;
    // One member is a pair whose second position is filled (see `corePosition`).
    if (n <= 2) return new SyncAllOf(keys, members, fixed, loops);
    if (n <= 4) return new CoreQuadAllOf(keys, members, fixed, loops);
    if (n <= 8) return new CoreOctAllOf(keys, members, fixed, loops);
    return new CoreLoopAllOf(keys, members, fixed, loops, core);
  }
  return new SyncAllOf(keys, members, fixed, loops);
}

/**
 * What the classes over core budgets share: their positions, in member order and then the
 * fillers, and the ways out to the general path. Each class asks every position first and
 * changes them after (asking between changes costs V8 the loads it could otherwise reuse);
 * positions never share counts, since members are distinct objects and a Proxy is not a core
 * budget. A position that says no sends the call the general way with nothing changed; one
 * whose counts cannot be written (a frozen budget) has what the positions before it took given
 * back exactly first. The general path then charges every member through its own method,
 * reporting a denial or a failure as it always does.
 */
abstract class CoreAllOf<K extends MemberKey> extends SyncAllOf<K> {
  constructor(
    keys: K[],
    members: SyncBudgetGuard[],
    fixed: number[],
    loops: CountMembers,
    protected readonly at: readonly CoreCounter[],
  ) {
    super(keys, members, fixed, loops);
  }

  /** Positions `0 … k − 1` took `cost` and position `k` failed to: undo, then the general way. */
  protected refused(k: number, cost: number): boolean {
    while (k > 0) this.at[--k]!.countGive(cost);
    return this.countGeneral(false, cost);
  }

  /** Positions `0 … k − 1` gave `cost` back and `k` failed to: undo, then the general way. */
  protected unheld(k: number, cost: number): void {
    while (k > 0) this.at[--k]!.countTake(cost);
    this.countGeneral(true, cost);
  }
}

type Quad = [CoreCounter, CoreCounter, CoreCounter, CoreCounter];
type Octet = [...Quad, ...Quad];

/** Positions `0 … n − 1` are the members; the rest, up to `width`, are fillers (`corePosition`). */
function positions(core: readonly CoreCounter[], width: number): CoreCounter[] {
  return Array.from({ length: width }, (_, i) => corePosition(core, i));
}

/**
 * Three or four core budgets, straight-line: a position of its own learns only the classes found
 * there, where a loop pays a dispatch per member. A fourth position may be a filler (`at`).
 */
class CoreQuadAllOf<K extends MemberKey> extends CoreAllOf<K> {
  private readonly a: CoreCounter;
  private readonly b: CoreCounter;
  private readonly c: CoreCounter;
  private readonly d: CoreCounter;

  constructor(keys: K[], members: SyncBudgetGuard[], fixed: number[], loops: CountMembers) {
    super(keys, members, fixed, loops, positions(loops.core!, 4));
    [this.a, this.b, this.c, this.d] = this.at as Quad;
  }

  override tryReserveSync(cost: number): boolean {
    const { a, b, c, d } = this;
    if (
      !isSafe(cost) ||
      cost <= 0 ||
      !a.countFits(cost) ||
      !b.countFits(cost) ||
      !c.countFits(cost) ||
      !d.countFits(cost)
    ) {
      return this.countGeneral(false, cost);
    }
    let k = 0;
    try {
      a.countTake(cost);
      k = 1;
      b.countTake(cost);
      k = 2;
      c.countTake(cost);
      k = 3;
      d.countTake(cost);
      k = 4;
      this.countHeld = saturatingAdd(this.countHeld, cost); // read-only state: undone as a take
    } catch {
      return this.refused(k, cost);
    }
    return true;
  }

  override releaseSync(cost: number): void {
    const { a, b, c, d } = this;
    if (
      !isSafe(cost) ||
      cost <= 0 ||
      cost > this.countHeld ||
      !a.countHolds(cost) ||
      !b.countHolds(cost) ||
      !c.countHolds(cost) ||
      !d.countHolds(cost)
    ) {
      this.countGeneral(true, cost);
      return;
    }
    let k = 0;
    try {
      a.countGive(cost);
      k = 1;
      b.countGive(cost);
      k = 2;
      c.countGive(cost);
      k = 3;
      d.countGive(cost);
      k = 4;
      this.countHeld -= cost;
    } catch {
      this.unheld(k, cost);
    }
  }
}

/**
 * Five to eight core budgets: {@link CoreQuadAllOf} at twice the width. Its reservation alone is
 * more than V8 inlines into one caller beside the release, so one of the two stays a call.
 */
class CoreOctAllOf<K extends MemberKey> extends CoreAllOf<K> {
  private readonly a: CoreCounter;
  private readonly b: CoreCounter;
  private readonly c: CoreCounter;
  private readonly d: CoreCounter;
  private readonly e: CoreCounter;
  private readonly f: CoreCounter;
  private readonly g: CoreCounter;
  private readonly h: CoreCounter;

  constructor(keys: K[], members: SyncBudgetGuard[], fixed: number[], loops: CountMembers) {
    super(keys, members, fixed, loops, positions(loops.core!, 8));
    [this.a, this.b, this.c, this.d, this.e, this.f, this.g, this.h] = this.at as Octet;
  }

  override tryReserveSync(cost: number): boolean {
    const { a, b, c, d, e, f, g, h } = this;
    if (
      !isSafe(cost) ||
      cost <= 0 ||
      !a.countFits(cost) ||
      !b.countFits(cost) ||
      !c.countFits(cost) ||
      !d.countFits(cost) ||
      !e.countFits(cost) ||
      !f.countFits(cost) ||
      !g.countFits(cost) ||
      !h.countFits(cost)
    ) {
      return this.countGeneral(false, cost);
    }
    let k = 0;
    try {
      a.countTake(cost);
      k = 1;
      b.countTake(cost);
      k = 2;
      c.countTake(cost);
      k = 3;
      d.countTake(cost);
      k = 4;
      e.countTake(cost);
      k = 5;
      f.countTake(cost);
      k = 6;
      g.countTake(cost);
      k = 7;
      h.countTake(cost);
      k = 8;
      this.countHeld = saturatingAdd(this.countHeld, cost);
    } catch {
      return this.refused(k, cost);
    }
    return true;
  }

  override releaseSync(cost: number): void {
    const { a, b, c, d, e, f, g, h } = this;
    if (
      !isSafe(cost) ||
      cost <= 0 ||
      cost > this.countHeld ||
      !a.countHolds(cost) ||
      !b.countHolds(cost) ||
      !c.countHolds(cost) ||
      !d.countHolds(cost) ||
      !e.countHolds(cost) ||
      !f.countHolds(cost) ||
      !g.countHolds(cost) ||
      !h.countHolds(cost)
    ) {
      this.countGeneral(true, cost);
      return;
    }
    let k = 0;
    try {
      a.countGive(cost);
      k = 1;
      b.countGive(cost);
      k = 2;
      c.countGive(cost);
      k = 3;
      d.countGive(cost);
      k = 4;
      e.countGive(cost);
      k = 5;
      f.countGive(cost);
      k = 6;
      g.countGive(cost);
      k = 7;
      h.countGive(cost);
      k = 8;
      this.countHeld -= cost;
    } catch {
      this.unheld(k, cost);
    }
  }
}

/** More than eight core budgets, in loops whose call sites see only core's two budget classes. */
class CoreLoopAllOf<K extends MemberKey> extends CoreAllOf<K> {
  override tryReserveSync(cost: number): boolean {
    const at = this.at;
    let k = 0;
    if (isSafe(cost) && cost > 0) while (k < at.length && at[k]!.countFits(cost)) k++;
    if (k < at.length) return this.countGeneral(false, cost);
    k = 0;
    try {
      for (; k < at.length; k++) at[k]!.countTake(cost);
      this.countHeld = saturatingAdd(this.countHeld, cost);
    } catch {
      return this.refused(k, cost);
    }
    return true;
  }

  override releaseSync(cost: number): void {
    const at = this.at;
    let k = 0;
    if (isSafe(cost) && cost > 0 && cost <= this.countHeld) {
      while (k < at.length && at[k]!.countHolds(cost)) k++;
    }
    if (k < at.length) {
      this.countGeneral(true, cost);
      return;
    }
    k = 0;
    try {
      for (; k < at.length; k++) at[k]!.countGive(cost);
      this.countHeld -= cost;
    } catch {
      this.unheld(k, cost);
    }
  }
}
