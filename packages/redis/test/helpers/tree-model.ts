// The in-process model a Redis hierarchy is held to: compose's hierarchy() with the same
// template, and what both show of a node.
import { type HierarchyNode, type HierarchyRoot, hierarchy } from '@budgetry/compose';
import type { RedisHierarchySnapshot, RedisHierarchyTemplate } from '../../src/index.js';

export type Model = HierarchyRoot;

/** compose's hierarchy with the same template, without the leak backstop. */
export function modelOf(template: RedisHierarchyTemplate): Model {
  return hierarchy(template, { leakBackstop: false });
}

/** The root, every tenant, and every user of every tenant. */
export function pathsOf(tenants: readonly string[], users: readonly string[]): string[][] {
  return [[], ...tenants.map((t) => [t]), ...tenants.flatMap((t) => users.map((u) => [t, u]))];
}

/** What a node shows, alike for a Redis snapshot and a model node. */
export function nodeState(node: RedisHierarchySnapshot | HierarchyNode) {
  if ('declared' in node) {
    const { capacity, held, ownHeld, available } = node;
    return { capacity, held, ownHeld, available };
  }
  return {
    capacity: node.capacity,
    held: node.held(),
    ownHeld: node.ownHeld(),
    available: node.available(),
  };
}

/** The path of a node from its name in the hierarchy script ('n', 'n:<escaped key>', …). */
export function pathOfRef(ref: string): string[] {
  return ref.split(':').slice(1).map(decodeURIComponent);
}
