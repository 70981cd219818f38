import { SyncGuardBase } from '@budgetry/core';
import { Frame } from './frame.js';
import type { HierarchyNode } from './node.js';
import { EVICTED, type Level } from './types.js';

/**
 * @internal What a node of a hierarchy keeps in memory, and how a handle finds the node it
 * stands for. {@link PathNode} adds the operations along the path to the root, and
 * {@link HierarchyNode} the tree around it.
 *
 * A node is five fields: `parent`, `key`, `room`, `countHeld` and `frame` (its capacity,
 * children and level, shared by every node of a level that has no children and no capacity
 * override: see {@link Frame}). They are class fields, defined in that order before the
 * constructor sets them, the counters starting as small integers: every node has one shape.
 * (Fields left to the constructor's first assignments instead made each of those stores
 * consult the prototype chain, and V8 kept discarding its compiled constructor and `child()`
 * while trees were built; a benchmark that builds trees saw it as heap noise.)
 *
 * A handle not in memory has `room === countHeld === EVICTED`: it was evicted, or `child()`
 * handed it out under `evictOnIdle` before it reserved anything. Reads resolve it to its twin
 * in memory without creating one ({@link ResidentNode.twin}); reservations attach it
 * ({@link ResidentNode.live}) and, when they leave it idle (a denial, a zero cost), drop it
 * again. A node in memory has every ancestor in memory (a node is evicted only without
 * children), so only the first node of a path can be a handle not in memory.
 */
export abstract class ResidentNode extends SyncGuardBase {
  /** The parent, or `null` at the root. */
  readonly parent: HierarchyNode | null;
  /** The key under which the parent holds this node (`''` at the root). */
  readonly key: string;
  /** Capacity minus the units held by this node and its subtree, or `EVICTED`. */
  protected room = 0;
  /** Units this node holds through the count API, or `EVICTED` with `room`. */
  protected countHeld = 0;
  /** @internal Capacity, children and level; see {@link Frame}. */
  frame: Frame;
  /**
   * @internal Whether any tree in the process has followed a schedule. It lives on the
   * prototype and is set once, by the first `followSchedule`: until then it is a constant the
   * JIT folds away, so the operations of trees that follow none check nothing.
   */
  declare readonly anyScheduled: boolean;
  /**
   * @internal Whether any tree in the process has had a listener (`subscribe`): set once, on
   * the prototype, like {@link ResidentNode.anyScheduled}, so that until then reservations,
   * releases and settling permits check nothing for listeners.
   */
  declare readonly anyListened: boolean;
  /**
   * @internal Whether any tree in the process was made with `evictOnIdle`: set once, on the
   * prototype, like {@link ResidentNode.anyScheduled}, so that until then releases check nothing
   * for eviction.
   */
  declare readonly anyEvicting: boolean;

  /** @internal Use {@link hierarchy} and {@link HierarchyNode.child}. */
  constructor(parent: HierarchyNode | null, key: string, frame: Frame) {
    super();
    this.parent = parent;
    this.key = key;
    this.room = frame.capacity;
    this.frame = frame;
  }

  /** @internal The level this node is at. */
  get level(): Level {
    return this.frame.level;
  }

  /** Applies a due refill of a scheduled tree; see `HierarchyNode.followSchedule`. */
  protected caughtUp(): void {
    if (!this.anyScheduled) return;
    const catchUp = this.frame.level.catchUp;
    if (catchUp !== undefined) catchUp();
  }

  /** Units held by this node and its subtree; for a node in memory. */
  protected heldHere(): number {
    return this.frame.capacity - this.room;
  }

  /** The node this handle stands for, in memory, or `undefined` if none is. Never creates one. */
  protected twin(): HierarchyNode | undefined {
    if (this.room !== EVICTED) return this.self();
    // parent is non-null: the root is never evicted.
    return this.parent!.twin()?.frame.kids?.get(this.key);
  }

  /** The node this handle stands for, in memory: itself, its twin, or itself attached again. */
  protected live(): HierarchyNode {
    if (this.room !== EVICTED) return this.self();
    const p = this.parent!.live();
    const kids = p.kidsToFill();
    let node = kids.get(this.key);
    if (node === undefined) {
      // Out of memory, a node is idle at its template's capacity with no children (or it
      // would not have been dropped): under the same parent the handle itself can be the node
      // again; under a parent that was itself dropped and replaced, a twin is made.
      if (this.parent === p) {
        this.room = this.frame.capacity;
        this.countHeld = 0;
        node = this.self();
      } else {
        node = this.twinUnder(p);
      }
      kids.set(this.key, node);
    }
    return node;
  }

  /** This node as what it is: every node is a {@link HierarchyNode}. */
  protected self(): HierarchyNode {
    return this as unknown as HierarchyNode;
  }

  /** A fresh node for this handle's key under `parent`, at its template's capacity. */
  protected abstract twinUnder(parent: HierarchyNode): HierarchyNode;

  /** This node's children map, made (with a frame of its own) if it has none. */
  protected kidsToFill(): Map<string, HierarchyNode> {
    const frame = this.ownFrame();
    let kids = frame.kids;
    if (kids === undefined) kids = frame.kids = new Map();
    return kids;
  }

  /** This node's own frame, made from the shared one the first time it needs one. */
  protected ownFrame(): Frame {
    let frame = this.frame;
    if (frame.shared) this.frame = frame = new Frame(frame.capacity, frame.level);
    return frame;
  }

  /**
   * Goes back to the level's shared frame when its own says nothing the shared one does not:
   * no children, its template's capacity.
   */
  protected shareFrame(): void {
    const frame = this.frame;
    if (frame.kids === undefined && frame.capacity === frame.level.capacity) {
      this.frame = frame.level.frame;
    }
  }

  /** Sets this node's capacity; the caller checked it is at least what the node holds. */
  protected setCapacity(capacity: number): void {
    const held = this.heldHere();
    this.ownFrame().capacity = capacity;
    this.room = capacity - held;
    this.shareFrame();
  }

  /** Idle: nothing held, its template's capacity, no children (the root is never dropped). */
  protected isIdle(): boolean {
    const frame = this.frame;
    const capacity = frame.capacity;
    return this.room === capacity && frame.kids === undefined && capacity === frame.level.capacity;
  }

  /**
   * Marks this node as not in memory. It was idle, so its frame is already its level's: a
   * node has a frame of its own only while it has children or an override.
   */
  protected markEvicted(): void {
    this.room = EVICTED;
    this.countHeld = EVICTED;
  }

  /** Under `evictOnIdle`, drops this node if an operation left it idle. */
  protected dropIfIdle(): void {
    if (this.anyEvicting && this.frame.level.evictOnIdle) this.evictSelf();
  }

  /** Removes an idle node, then any ancestor left idle, from their parents' maps. */
  protected evictSelf(): void {
    let n: ResidentNode = this;
    while (n.parent !== null && n.isIdle()) {
      const p: ResidentNode = n.parent;
      const kids = p.frame.kids;
      if (kids !== undefined) {
        kids.delete(n.key);
        if (kids.size === 0) p.dropKids();
      }
      n.markEvicted();
      n = p;
    }
  }

  /** Forgets this node's (now empty) children map. */
  protected dropKids(): void {
    this.frame.kids = undefined;
    this.shareFrame();
  }

  protected clearSubtree(): void {
    this.room = this.frame.capacity;
    this.countHeld = 0;
    const kids = this.frame.kids;
    if (kids !== undefined) for (const k of kids.values()) k.clearSubtree();
  }

  /** Counts units released beyond what was held: a running total that saturates. */
  protected overRelease(units: number): void {
    const tree = this.frame.level.tree;
    tree.overReleased = Math.min(tree.overReleased + units, Number.MAX_SAFE_INTEGER);
  }
}

Object.defineProperty(ResidentNode.prototype, 'anyScheduled', { value: false, writable: true });
Object.defineProperty(ResidentNode.prototype, 'anyListened', { value: false, writable: true });
Object.defineProperty(ResidentNode.prototype, 'anyEvicting', { value: false, writable: true });

/** @internal Called by the first `followSchedule`; never undone (see `anyScheduled`). */
export function markScheduled(): void {
  (ResidentNode.prototype as { anyScheduled: boolean }).anyScheduled = true;
}

/** @internal Called by the first `subscribe`; never undone (see `anyListened`). */
export function markListened(): void {
  (ResidentNode.prototype as { anyListened: boolean }).anyListened = true;
}

/** @internal Called by the first `hierarchy(…, { evictOnIdle: true })`; never undone. */
export function markEvicting(): void {
  (ResidentNode.prototype as { anyEvicting: boolean }).anyEvicting = true;
}
