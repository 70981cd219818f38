import { assertAmount } from '@budgetry/core';
import { describe, invalid } from '../internal/member-list.js';
import { makeLevel } from './frame.js';
import { HierarchyNode } from './node.js';
import { markEvicting } from './resident-node.js';
import type {
  HierarchyOptions,
  HierarchyRoot,
  HierarchyTemplate,
  Level,
  TreeState,
} from './types.js';

function toLevel(template: unknown, depth: number, tree: TreeState, seen: Set<unknown>): Level {
  if (typeof template !== 'object' || template === null) {
    throw invalid(
      `hierarchy template at depth ${depth} must be an object, got ${describe(template)}`,
      {
        depth,
      },
    );
  }
  if (seen.has(template)) {
    throw invalid(`hierarchy template has a cycle at depth ${depth}`, { depth });
  }
  seen.add(template);
  const { capacity, children } = template as HierarchyTemplate;
  assertAmount(capacity, depth === 0 ? 'capacity' : `capacity at depth ${depth}`);
  const child = children === undefined ? undefined : toLevel(children, depth + 1, tree, seen);
  return makeLevel(capacity, child, depth, tree);
}

/**
 * Budgets in a tree — global → org → team → user → key, any depth — where a reservation on a
 * node charges the whole path to the root atomically. Children are created on demand by key
 * (a tenant id) from a per-level template, may override their capacity, and together may
 * oversubscribe their parent: 1 000 tenants of 10 000 each under a global 1 000 000 admit
 * whatever fits both the tenant's and the global limit.
 *
 * When to use: per-tenant budgets inside a global budget, so no tenant can spend another's
 * budget or starve the others past its own cap. The tree is synchronous and in-process; every
 * node is a `SyncBudgetGuard`, so a tenant node can be a member of an all-of or a
 * coordinator dimension. Idle tenants are cheap, and can be evicted ({@link
 * HierarchyNode.evictIdle} or `evictOnIdle`) without losing anything outstanding. For
 * per-period caps, refill the root on a schedule (`intervalRefill(root, …)`): every node
 * starts the new epoch empty, older reservations fenced off.
 *
 * @param template - the root's capacity and, nested under `children`, each level's template.
 * @param options - eviction on idle and the leak backstop.
 * @returns the root node.
 * @throws BudgetError `INVALID_ARGUMENT` for a malformed or cyclic template or bad options,
 * `INVALID_AMOUNT` for a bad capacity; nothing is built.
 *
 * @example
 * ```ts
 * import { hierarchy } from '@budgetry/compose';
 *
 * const global = hierarchy({ capacity: 1_000_000, children: { capacity: 10_000 } });
 * const acme = global.child('acme');
 * if (acme.tryReserveSync(2_500)) {
 *   // charged to acme and to the global budget
 *   acme.releaseSync(2_500);
 * }
 * global.child('bigco', { capacity: 50_000 }); // an override
 * ```
 */
export function hierarchy(
  template: HierarchyTemplate,
  options: HierarchyOptions = {},
): HierarchyRoot {
  if (typeof options !== 'object' || options === null) {
    throw invalid(`hierarchy options must be an object, got ${describe(options)}`, {});
  }
  const { evictOnIdle, leakBackstop } = options;
  if (evictOnIdle !== undefined && typeof evictOnIdle !== 'boolean') {
    throw invalid('option evictOnIdle must be a boolean', { evictOnIdle });
  }
  if (leakBackstop !== undefined && typeof leakBackstop !== 'boolean') {
    throw invalid('option leakBackstop must be a boolean', { leakBackstop });
  }
  const tree: TreeState = {
    evictOnIdle: evictOnIdle ?? false,
    backstop: leakBackstop ?? true,
    leaks: 0,
    overReleased: 0,
    epoch: 0,
    schedule: undefined,
    nextRefill: undefined,
    listeners: undefined,
  };
  const level = toLevel(template, 0, tree, new Set());
  if (tree.evictOnIdle) markEvicting();
  return new HierarchyNode(null, '', level.frame) as HierarchyRoot;
}
