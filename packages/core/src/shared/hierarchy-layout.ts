/**
 * @internal The memory of a `SharedHierarchy`: the region every shared budget has (header, lock,
 * lanes; see layout.ts) followed by the tree's own area, all in one `SharedArrayBuffer`, so
 * one lock covers the whole tree and a reservation at any depth is one critical section.
 *
 * ```
 * region         header, hot words, budget state, lanes (no waiter slots)
 * tree header    64 bytes (Int32 × 16): limits and what is used of them
 * templates      64 bytes (Float64 × 8): the template capacity of each level
 * scratch node   64 bytes: the node a short path's unused slots point at (never read back)
 * nodes          maxNodes × 64 bytes: Float64 capacity, held, count, own, epoch;
 *                Int32 parent, depth, key offset, key length, key hash, children
 * key table      tableSize × Int32: (parent, key) → node + 1, open addressing, 0 = empty
 * holds          maxHandles × holdsPerHandle × 32 bytes: Float64 node + 1, epoch, count
 *                units, permit units — what each handle holds on each node
 * scratch hold   32 bytes: where a release by a handle with no record of the node writes
 * key arena      maxKeyBytes: every node's key, UTF-8 (lone surrogates as WTF-8)
 * ```
 *
 * Nodes are stamped with the epoch they were last written in: a node whose stamp is older
 * than the tree's epoch holds nothing (a `reset` refill of the root fences the whole tree in
 * one store). Hold records are stamped the same way. Nodes are never removed: the table is
 * sized once, by `maxNodes`.
 */
import { bufferBytes } from './layout.js';

/** Levels below the root a template may have: paths are at most this + 1 nodes long. */
export const MAX_DEPTH = 4;
/** Nodes on the longest path, root included. */
export const PATH = MAX_DEPTH + 1;

// Tree header (Int32 offsets from the tree's first Int32 word).
export const T_MAX_NODES = 0;
export const T_NODES = 1;
export const T_KEY_BYTES = 2;
export const T_KEY_USED = 3;
export const T_TABLE = 4;
export const T_HOLDS = 5;
export const T_LEVELS = 6;

export const NODE_BYTES = 64;
/** Float64 offsets inside a node. */
export const N_CAP = 0;
/** Units held by the node and its subtree (count API, permits, committed), in N_EPOCH. */
export const N_HELD = 1;
/** Units the count API holds on the node itself, in N_EPOCH. */
export const N_COUNT = 2;
/** Units held on the node itself (count API, permits, committed), in N_EPOCH. */
export const N_OWN = 3;
export const N_EPOCH = 4;
/** Int32 offsets inside a node (from its first Int32 word). */
export const N_PARENT = 10;
export const N_DEPTH = 11;
export const N_KEY_OFF = 12;
export const N_KEY_LEN = 13;
export const N_HASH = 14;
export const N_KIDS = 15;

export const HOLD_BYTES = 32;
/** Float64 offsets inside a hold record. */
export const E_NODE = 0; // node index + 1; 0 = never used
export const E_EPOCH = 1;
export const E_COUNT = 2;
export const E_PERMITS = 3;

/** Rounds up to a multiple of 8. */
function align8(bytes: number): number {
  return Math.ceil(bytes / 8) * 8;
}

/** The smallest power of two ≥ `n` (and ≥ 1). */
export function powerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** Where everything of the tree's area is, for one set of limits. */
export class TreeLayout {
  /** Byte offset of the tree header. */
  readonly base: number;
  readonly templates: number;
  readonly scratch: number;
  readonly nodes: number;
  readonly table: number;
  readonly holds: number;
  readonly scratchHold: number;
  readonly keys: number;
  /** Bytes of the whole buffer. */
  readonly total: number;

  constructor(
    readonly lanes: number,
    readonly maxNodes: number,
    readonly tableSize: number,
    readonly holdsPerLane: number,
    readonly keyBytes: number,
  ) {
    this.base = bufferBytes(lanes, 0);
    this.templates = this.base + 64;
    this.scratch = this.templates + 64;
    this.nodes = this.scratch + NODE_BYTES;
    this.table = this.nodes + maxNodes * NODE_BYTES;
    this.holds = align8(this.table + tableSize * 4);
    this.scratchHold = this.holds + lanes * holdsPerLane * HOLD_BYTES;
    this.keys = this.scratchHold + HOLD_BYTES;
    this.total = align8(this.keys + keyBytes);
  }

  /** Bytes after the region (what `RegionInit.extraBytes` asks for). */
  get extraBytes(): number {
    return this.total - this.base;
  }

  /** Int32 index of the tree header. */
  get headerI32(): number {
    return this.base / 4;
  }

  /** Float64 index of level `depth`'s template capacity. */
  templateF64(depth: number): number {
    return this.templates / 8 + depth;
  }

  /** Float64 index of node `n`'s first word (`-1`: the scratch node). */
  nodeF64(n: number): number {
    return n < 0 ? this.scratch / 8 : (this.nodes + n * NODE_BYTES) / 8;
  }

  /** Int32 index of node `n`'s first word. */
  nodeI32(n: number): number {
    return (this.nodes + n * NODE_BYTES) / 4;
  }

  /** Int32 index of the key table's first slot. */
  get tableI32(): number {
    return this.table / 4;
  }

  /** Float64 index of lane `lane`'s first hold record. */
  holdsF64(lane: number): number {
    return (this.holds + lane * this.holdsPerLane * HOLD_BYTES) / 8;
  }

  /** Float64 index of the scratch hold record. */
  get scratchHoldF64(): number {
    return this.scratchHold / 8;
  }
}

/** The layout of a buffer whose tree header is already written. */
export function readLayout(i32: Int32Array, lanes: number): TreeLayout {
  const h = bufferBytes(lanes, 0) / 4;
  return new TreeLayout(
    lanes,
    i32[h + T_MAX_NODES]!,
    i32[h + T_TABLE]!,
    i32[h + T_HOLDS]!,
    i32[h + T_KEY_BYTES]!,
  );
}
