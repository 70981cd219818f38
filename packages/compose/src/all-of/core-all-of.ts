import { AtomicBudget, type SyncBudgetGuard } from '@budgetry/core';
import { saturatingAdd } from '../internal/count-ledger.js';
import type { MemberKey } from '../internal/member-list.js';
import {
  type CoreCounter,
  type CountMembers,
  countMembersOf,
  pairFailure,
  pairReleaseFailure,
} from './count-loops.js';
import type { CountApi } from './rollback.js';
import { SyncAllOf } from './sync-all-of.js';

const isSafe = Number.isSafeInteger;

/**
 * The capacity of the budget that fills a fourth position: the largest a small integer holds
 * on every platform V8 runs on. A capacity past it would turn the fields of every
 * `AtomicBudget` in the process into boxed doubles (V8 keeps one field layout per class), and
 * a cost past it only sends that call the general way.
 */
const FILLER_CAPACITY = 2 ** 30 - 1;

/** Member `i`, or a budget of its own that nobody observes when there is none. */
function at(core: readonly CoreCounter[], i: number): CoreCounter {
  return core[i] ?? new AtomicBudget(FILLER_CAPACITY, { leakBackstop: false });
}

/**
 * @internal The all-of `allOf` builds over synchronous members. A shape with a fast count API
 * gets a class of its own whose two methods hold only that shape's path, so that their call
 * sites learn only that shape's member classes (V8 inlines a call site's targets only while
 * it has seen few) and the general path, out of line in the base class, does not compete with
 * them for the JIT's inlining budget:
 * - members that are all core `AtomicBudget`s and `AtomicTokenBudget`s charged the cost: each
 *   is asked whether its own method would just change its counts (`countFits`, `countHolds`:
 *   no observer, no refill schedule, the method not replaced) and then changed in place; when
 *   one says no, the call goes the general way, through every member's own method;
 * - two other members that fail clean and are charged the cost: their own count API.
 *
 * Anything else (a cost of 0 or not a safe integer, a denial, an over-release, fixed charges,
 * members that may throw after charging) is the base class's general path, with the same results.
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
    // One member is a pair whose second position is filled (see `at`).
    if (n <= 2) return new CorePairAllOf(keys, members, fixed, loops);
    if (n <= 4) return new CoreQuadAllOf(keys, members, fixed, loops);
    if (n <= 8) return new CoreOctAllOf(keys, members, fixed, loops);
    return new CoreLoopAllOf(keys, members, fixed, loops, core);
  }
  const pair = members.length === 2 && fixed[0]! < 0 && fixed[1]! < 0;
  if (pair && !loops.probes[0] && !loops.probes[1]) {
    return new PairAllOf(keys, members, fixed, loops, loops.calls[0]!, loops.calls[1]!);
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
    return super.tryReserveSync(cost);
  }

  /** Positions `0 … k − 1` gave `cost` back and `k` failed to: undo, then the general way. */
  protected unheld(k: number, cost: number): void {
    while (k > 0) this.at[--k]!.countTake(cost);
    super.releaseSync(cost);
  }
}

type Quad = [CoreCounter, CoreCounter, CoreCounter, CoreCounter];
type Octet = [...Quad, ...Quad];

/** Positions `0 … n − 1` are the members; the rest, up to `width`, are fillers (see `at`). */
function positions(core: readonly CoreCounter[], width: number): CoreCounter[] {
  return Array.from({ length: width }, (_, i) => at(core, i));
}

/** Two core budgets charged the cost (or one, and a filler): the headline shape, rows and tokens. */
class CorePairAllOf<K extends MemberKey> extends CoreAllOf<K> {
  private readonly a: CoreCounter;
  private readonly b: CoreCounter;

  constructor(keys: K[], members: SyncBudgetGuard[], fixed: number[], loops: CountMembers) {
    super(keys, members, fixed, loops, positions(loops.core!, 2));
    [this.a, this.b] = this.at as [CoreCounter, CoreCounter];
  }

  override tryReserveSync(cost: number): boolean {
    const { a, b } = this;
    if (!isSafe(cost) || cost <= 0 || !a.countFits(cost) || !b.countFits(cost)) {
      return super.tryReserveSync(cost);
    }
    let k = 0;
    try {
      a.countTake(cost);
      k = 1;
      b.countTake(cost);
      k = 2;
    } catch {
      return this.refused(k, cost);
    }
    this.countHeld = saturatingAdd(this.countHeld, cost);
    return true;
  }

  override releaseSync(cost: number): void {
    const { a, b } = this;
    if (
      !isSafe(cost) ||
      cost <= 0 ||
      cost > this.countHeld ||
      !a.countHolds(cost) ||
      !b.countHolds(cost)
    ) {
      super.releaseSync(cost);
      return;
    }
    let k = 0;
    try {
      a.countGive(cost);
      k = 1;
      b.countGive(cost);
      k = 2;
    } catch {
      this.unheld(k, cost);
      return;
    }
    this.countHeld -= cost;
  }
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
      return super.tryReserveSync(cost);
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
    } catch {
      return this.refused(k, cost);
    }
    this.countHeld = saturatingAdd(this.countHeld, cost);
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
      super.releaseSync(cost);
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
    } catch {
      this.unheld(k, cost);
      return;
    }
    this.countHeld -= cost;
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
      return super.tryReserveSync(cost);
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
    } catch {
      return this.refused(k, cost);
    }
    this.countHeld = saturatingAdd(this.countHeld, cost);
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
      super.releaseSync(cost);
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
    } catch {
      this.unheld(k, cost);
      return;
    }
    this.countHeld -= cost;
  }
}

/** More than eight core budgets, in loops whose call sites see only core's two budget classes. */
class CoreLoopAllOf<K extends MemberKey> extends CoreAllOf<K> {
  override tryReserveSync(cost: number): boolean {
    const at = this.at;
    let k = 0;
    if (isSafe(cost) && cost > 0) while (k < at.length && at[k]!.countFits(cost)) k++;
    if (k < at.length) return super.tryReserveSync(cost);
    k = 0;
    try {
      for (; k < at.length; k++) at[k]!.countTake(cost);
    } catch {
      return this.refused(k, cost);
    }
    this.countHeld = saturatingAdd(this.countHeld, cost);
    return true;
  }

  override releaseSync(cost: number): void {
    const at = this.at;
    let k = 0;
    if (isSafe(cost) && cost > 0 && cost <= this.countHeld) {
      while (k < at.length && at[k]!.countHolds(cost)) k++;
    }
    if (k < at.length) {
      super.releaseSync(cost);
      return;
    }
    k = 0;
    try {
      for (; k < at.length; k++) at[k]!.countGive(cost);
    } catch {
      this.unheld(k, cost);
      return;
    }
    this.countHeld -= cost;
  }
}

/** Two members that fail clean, charged the cost, through their own count API. */
class PairAllOf<K extends MemberKey> extends SyncAllOf<K> {
  constructor(
    keys: K[],
    members: SyncBudgetGuard[],
    fixed: number[],
    loops: CountMembers,
    private readonly a: CountApi,
    private readonly b: CountApi,
  ) {
    super(keys, members, fixed, loops);
  }

  override tryReserveSync(cost: number): boolean {
    if (!isSafe(cost) || cost <= 0) return super.tryReserveSync(cost);
    const a = this.a;
    let step = 0;
    try {
      if (!a.tryReserveSync(cost)) return false;
      step = 1;
      if (!this.b.tryReserveSync(cost)) {
        step = 2;
        a.releaseSync(cost);
        return false;
      }
    } catch (error) {
      throw pairFailure(this.loops, error, step, cost);
    }
    this.countHeld = saturatingAdd(this.countHeld, cost);
    return true;
  }

  override releaseSync(cost: number): void {
    if (!isSafe(cost) || cost <= 0 || cost > this.countHeld) {
      super.releaseSync(cost);
      return;
    }
    this.countHeld -= cost;
    let step = 0;
    try {
      this.a.releaseSync(cost);
      step = 1;
      this.b.releaseSync(cost);
    } catch (error) {
      throw pairReleaseFailure(this.loops, error, step, cost);
    }
  }
}
