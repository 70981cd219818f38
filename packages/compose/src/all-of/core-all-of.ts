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
    if (n <= 2) return new CorePairAllOf(keys, members, fixed, loops, core[0]!, at(core, 1));
    if (n <= 4) return new CoreQuadAllOf(keys, members, fixed, loops, core);
    if (n <= 8) return new CoreOctAllOf(keys, members, fixed, loops, core);
    return new CoreLoopAllOf(keys, members, fixed, loops, core);
  }
  const pair = members.length === 2 && fixed[0]! < 0 && fixed[1]! < 0;
  if (pair && !loops.probes[0] && !loops.probes[1]) {
    return new PairAllOf(keys, members, fixed, loops, loops.calls[0]!, loops.calls[1]!);
  }
  return new SyncAllOf(keys, members, fixed, loops);
}

/** Two core budgets charged the cost (or one, and a filler): the headline shape, rows and tokens. */
class CorePairAllOf<K extends MemberKey> extends SyncAllOf<K> {
  constructor(
    keys: K[],
    members: SyncBudgetGuard[],
    fixed: number[],
    loops: CountMembers,
    private readonly a: CoreCounter,
    private readonly b: CoreCounter,
  ) {
    super(keys, members, fixed, loops);
  }

  override tryReserveSync(cost: number): boolean {
    const { a, b } = this;
    if (!isSafe(cost) || cost <= 0 || !a.countFits(cost) || !b.countFits(cost)) {
      return super.tryReserveSync(cost);
    }
    a.countTake(cost);
    b.countTake(cost);
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
    this.countHeld -= cost;
    a.countGive(cost);
    b.countGive(cost);
  }
}

/**
 * Three or four core budgets charged the cost, straight-line: a loop's one call site per
 * method costs V8 a dispatch per member, where a position of its own learns the one or two
 * classes found there. Every member is asked first, then every member is changed, so a
 * refusal changes nothing before the general path takes over. Three members leave the fourth
 * position to a budget of its own that nobody observes (see {@link FILLER_CAPACITY}); when it
 * refuses, the general path, which never calls it, takes over.
 */
class CoreQuadAllOf<K extends MemberKey> extends SyncAllOf<K> {
  private readonly a: CoreCounter;
  private readonly b: CoreCounter;
  private readonly c: CoreCounter;
  private readonly d: CoreCounter;

  constructor(
    keys: K[],
    members: SyncBudgetGuard[],
    fixed: number[],
    loops: CountMembers,
    core: readonly CoreCounter[],
  ) {
    super(keys, members, fixed, loops);
    this.a = core[0]!;
    this.b = core[1]!;
    this.c = core[2]!;
    this.d = at(core, 3);
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
    a.countTake(cost);
    b.countTake(cost);
    c.countTake(cost);
    d.countTake(cost);
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
    this.countHeld -= cost;
    a.countGive(cost);
    b.countGive(cost);
    c.countGive(cost);
    d.countGive(cost);
  }
}

/**
 * Five to eight core budgets charged the cost: {@link CoreQuadAllOf} at twice the width, its
 * positions past the last member filled the same way. Its reservation alone is more code than
 * V8 inlines into one caller beside the release, so one of the two stays a call; every member
 * method is still inlined into it.
 */
class CoreOctAllOf<K extends MemberKey> extends SyncAllOf<K> {
  private readonly a: CoreCounter;
  private readonly b: CoreCounter;
  private readonly c: CoreCounter;
  private readonly d: CoreCounter;
  private readonly e: CoreCounter;
  private readonly f: CoreCounter;
  private readonly g: CoreCounter;
  private readonly h: CoreCounter;

  constructor(
    keys: K[],
    members: SyncBudgetGuard[],
    fixed: number[],
    loops: CountMembers,
    core: readonly CoreCounter[],
  ) {
    super(keys, members, fixed, loops);
    this.a = core[0]!;
    this.b = core[1]!;
    this.c = core[2]!;
    this.d = core[3]!;
    this.e = core[4]!;
    this.f = at(core, 5);
    this.g = at(core, 6);
    this.h = at(core, 7);
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
    a.countTake(cost);
    b.countTake(cost);
    c.countTake(cost);
    d.countTake(cost);
    e.countTake(cost);
    f.countTake(cost);
    g.countTake(cost);
    h.countTake(cost);
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
    this.countHeld -= cost;
    a.countGive(cost);
    b.countGive(cost);
    c.countGive(cost);
    d.countGive(cost);
    e.countGive(cost);
    f.countGive(cost);
    g.countGive(cost);
    h.countGive(cost);
  }
}

/**
 * More than eight core budgets charged the cost, in loops whose call sites see only core's two
 * budget classes. A member that refuses ends the loop; what was changed before it is changed
 * back exactly, and the general path takes over.
 */
class CoreLoopAllOf<K extends MemberKey> extends SyncAllOf<K> {
  constructor(
    keys: K[],
    members: SyncBudgetGuard[],
    fixed: number[],
    loops: CountMembers,
    private readonly core: readonly CoreCounter[],
  ) {
    super(keys, members, fixed, loops);
  }

  override tryReserveSync(cost: number): boolean {
    if (!isSafe(cost) || cost <= 0) return super.tryReserveSync(cost);
    const core = this.core;
    let i = 0;
    for (; i < core.length; i++) {
      const m = core[i]!;
      if (!m.countFits(cost)) break;
      m.countTake(cost);
    }
    if (i === core.length) {
      this.countHeld = saturatingAdd(this.countHeld, cost);
      return true;
    }
    while (i > 0) core[--i]!.countGive(cost);
    return super.tryReserveSync(cost);
  }

  override releaseSync(cost: number): void {
    if (isSafe(cost) && cost > 0 && cost <= this.countHeld) {
      const core = this.core;
      let i = 0;
      for (; i < core.length; i++) {
        const m = core[i]!;
        if (!m.countHolds(cost)) break;
        m.countGive(cost);
      }
      if (i === core.length) {
        this.countHeld -= cost;
        return;
      }
      while (i > 0) core[--i]!.countTake(cost);
    }
    super.releaseSync(cost);
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
