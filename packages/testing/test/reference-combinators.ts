// Minimal reference combinators over core's AtomicBudget, so the composite checks are proven
// before @budgetry/compose plugs in. `bug` plants the gallery's composite bugs.
import { AtomicBudget, type SyncBudgetGuard, type SyncBudgetPermit } from '@budgetry/core';
import type { AllOfSubject, AnyOfSubject, HierarchySubject } from '../src/index.js';

const members = (capacities: readonly number[]) =>
  capacities.map((c) => new AtomicBudget(c, { leakBackstop: false }));

const once = (permits: SyncBudgetPermit[]) => ({
  release: () => {
    for (const p of permits) p.releaseSync();
  },
});

/**
 * An all-of over `given` members (the kit's faulty members) or fresh ones. Bugs: a partial
 * reservation left charged after a denial; no rollback when a member throws.
 */
export function referenceAllOf(
  capacities: readonly number[],
  bug?: 'partial-left-charged' | 'no-rollback-on-exception',
  given?: readonly SyncBudgetGuard[],
): AllOfSubject {
  const ms = given ?? members(capacities);
  return {
    available: () => ms.map((m) => m.available()),
    tryAcquire: (costs) => {
      const taken: SyncBudgetPermit[] = [];
      for (const [i, m] of ms.entries()) {
        let p: SyncBudgetPermit | null;
        try {
          p = m.tryAcquireSync(costs[i]!);
        } catch (error) {
          if (bug !== 'no-rollback-on-exception') for (const t of taken) t.releaseSync();
          throw error;
        }
        if (p === null) {
          if (bug !== 'partial-left-charged') for (const t of taken) t.releaseSync();
          return null;
        }
        taken.push(p);
      }
      return once(taken);
    },
  };
}

/** An any-of: the first member that fits serves; a member's exception propagates (nothing charged). */
export function referenceAnyOf(
  capacities: readonly number[],
  bug?: 'wrong-member-named',
  given?: readonly SyncBudgetGuard[],
): AnyOfSubject {
  const ms = given ?? members(capacities);
  return {
    available: () => ms.map((m) => m.available()),
    tryAcquire: (cost) => {
      for (const [i, m] of ms.entries()) {
        const p = m.tryAcquireSync(cost);
        if (p !== null)
          return { member: bug === 'wrong-member-named' ? (i + 1) % ms.length : i, ...once([p]) };
      }
      return null;
    },
  };
}

/**
 * A parent with children: the child first, then the parent; a denial or an exception on the
 * parent rolls the child back. Bugs: the parent never charged; no rollback on an exception.
 */
export function referenceHierarchy(
  capacities: readonly number[],
  bug?: 'child-skips-parent' | 'no-rollback-on-exception',
  given?: readonly SyncBudgetGuard[],
): HierarchySubject {
  const [parent, ...children] = given ?? members(capacities);
  return {
    available: () => [parent!.available(), ...children.map((c) => c.available())],
    tryAcquire: (child, cost) => {
      const own = child === null ? null : children[child]!.tryAcquireSync(cost);
      if (child !== null && own === null) return null;
      if (bug === 'child-skips-parent' && own !== null) return once([own]);
      let up: SyncBudgetPermit | null;
      try {
        up = parent!.tryAcquireSync(cost);
      } catch (error) {
        if (bug !== 'no-rollback-on-exception') own?.releaseSync();
        throw error;
      }
      if (up === null) {
        own?.releaseSync();
        return null;
      }
      return once(own === null ? [up] : [own, up]);
    },
  };
}
