import type { Subscription } from './listeners.js';
import type { HierarchyNode } from './node.js';
import type { Level, TreeState } from './types.js';

/**
 * @internal What a node of a hierarchy keeps beside its counters: its capacity, its children
 * in memory and its level. Almost every node — a tenant at its template's capacity with no
 * children — shares its level's frame ({@link Level.frame}), so an idle tenant is a node of
 * five fields and a map entry; a node gets a frame of its own the first time it has children
 * or a capacity other than its template's, and goes back to the shared one when it has
 * neither (see `ResidentNode.ownFrame` and `ResidentNode.shareFrame`).
 *
 * The shared frame's `kids` stays `undefined` and its `capacity` is the template's, for good.
 * Fields are assigned in the constructor only, in one order, so every frame has one shape.
 */
export class Frame {
  /** The node's capacity: its template's, unless overridden. */
  declare capacity: number;
  /** Children in memory, by key; `undefined` when none (and always, in a shared frame). */
  declare kids: Map<string, HierarchyNode> | undefined;
  /** The level the node is at, shared by every node there. */
  declare readonly level: Level;

  constructor(capacity: number, level: Level) {
    this.capacity = capacity;
    this.kids = undefined;
    this.level = level;
  }

  /** Whether this is its level's shared frame, which no node may change. */
  get shared(): boolean {
    return this === this.level.frame;
  }
}

/**
 * @internal Makes a level and its shared frame. Every level is an instance of one class, with
 * its final shape before its frame points at it, so the frame's `level` field has one type.
 *
 * @param capacity - the level's template capacity.
 * @param child - the level below, if any.
 * @param depth - 0 at the root.
 * @param tree - the tree's shared state.
 * @returns the level, with its shared frame.
 */
export function makeLevel(
  capacity: number,
  child: Level | undefined,
  depth: number,
  tree: TreeState,
): Level {
  const level = new TemplateLevel(capacity, child, depth, tree);
  level.frame = new Frame(capacity, level);
  return level;
}

/** A level, as {@link makeLevel} makes it. */
class TemplateLevel implements Level {
  declare readonly capacity: number;
  declare readonly child: Level | undefined;
  declare readonly depth: number;
  declare readonly tree: TreeState;
  declare readonly evictOnIdle: boolean;
  declare catchUp: (() => void) | undefined;
  declare listeners: readonly Subscription[] | undefined;
  declare frame: Frame;

  constructor(capacity: number, child: Level | undefined, depth: number, tree: TreeState) {
    this.capacity = capacity;
    this.child = child;
    this.depth = depth;
    this.tree = tree;
    this.evictOnIdle = tree.evictOnIdle;
    this.catchUp = undefined;
    this.listeners = undefined;
    this.frame = undefined as unknown as Frame; // set by makeLevel, once the shape is final
  }
}
