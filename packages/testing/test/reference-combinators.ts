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

export function referenceAnyOf(
  capacities: readonly number[],
  bug?: 'wrong-member-named',
): AnyOfSubject {
  const ms = members(capacities);
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

export function referenceHierarchy(
  capacities: readonly number[],
  bug?: 'child-skips-parent',
): HierarchySubject {
  const [parent, ...children] = members(capacities);
  return {
    available: () => [parent!.available(), ...children.map((c) => c.available())],
    tryAcquire: (child, cost) => {
      const own = child === null ? null : children[child]!.tryAcquireSync(cost);
      if (child !== null && own === null) return null;
      if (bug === 'child-skips-parent' && own !== null) return once([own]);
      const up = parent!.tryAcquireSync(cost);
      if (up === null) {
        own?.releaseSync();
        return null;
      }
      return once(own === null ? [up] : [own, up]);
    },
  };
}
