import { BudgetError } from '../spec/budget-error.js';
import type { HierarchyTree } from './hierarchy-tree.js';

/**
 * @internal The errors of a shared hierarchy's fixed limits: each says which limit was hit
 * and how to raise it, as `BACKEND` (the request was fine; the memory was sized too small).
 */
export function tooMany(tree: HierarchyTree, path: readonly string[]): BudgetError {
  const limit = tree.holdsPerLane;
  return new BudgetError({
    code: 'BACKEND',
    message:
      `this handle of the shared hierarchy already holds units on ${limit} nodes ` +
      '(maxHoldsPerHandle); settle some of them, use another handle (SharedHierarchy.open), ' +
      'or create the hierarchy with a larger maxHoldsPerHandle',
    details: { budget: tree.name, path, maxHoldsPerHandle: limit },
  });
}

/** @internal The node table is full. */
export function nodesFull(tree: HierarchyTree, path: readonly string[]): BudgetError {
  const limit = tree.layout.maxNodes;
  return new BudgetError({
    code: 'BACKEND',
    message:
      `all ${limit} nodes of this shared hierarchy are made (maxNodes), and nodes are never ` +
      'removed; create the hierarchy with a larger maxNodes',
    details: { budget: tree.name, path, maxNodes: limit },
  });
}

/** @internal The key arena is full. */
export function keysFull(tree: HierarchyTree, path: readonly string[], bytes: number): BudgetError {
  const limit = tree.layout.keyBytes;
  return new BudgetError({
    code: 'BACKEND',
    message:
      `the ${limit} bytes for tenant keys of this shared hierarchy (maxKeyBytes) cannot take ` +
      `a key of ${bytes} more bytes; create the hierarchy with a larger maxKeyBytes`,
    details: { budget: tree.name, path, maxKeyBytes: limit, keyBytes: bytes },
  });
}
