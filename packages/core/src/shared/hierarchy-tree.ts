import { invalid } from '../budgets/options.js';
import { BudgetError } from '../spec/budget-error.js';
import type { EventSite, HierarchySubscription } from './hierarchy-events.js';
import { encodeKey, hashKey } from './hierarchy-keys.js';
import {
  E_COUNT,
  E_EPOCH,
  E_NODE,
  E_PERMITS,
  HOLD_BYTES,
  N_CAP,
  N_COUNT,
  N_DEPTH,
  N_EPOCH,
  N_HASH,
  N_HELD,
  N_KEY_LEN,
  N_KEY_OFF,
  N_KIDS,
  N_OWN,
  N_PARENT,
  PATH,
  readLayout,
  T_KEY_USED,
  T_LEVELS,
  T_NODES,
  type TreeLayout,
} from './hierarchy-layout.js';
import { keysFull, nodesFull } from './hierarchy-limits.js';
import type { TreeRefills } from './hierarchy-refill.js';
import {
  FREE,
  H_CLOSED,
  L_GEN,
  L_STATE,
  LOCK_CONTENDED,
  laneI32,
  S_EPOCH,
  W_LOCK,
} from './layout.js';
import type { SharedRegion } from './region.js';
import { BEAT_EVERY } from './shared-guard-core.js';

/**
 * @internal One handle's view of a shared hierarchy: the region with its lane, the tree's
 * layout, and the steps every critical section of the tree is made of. The helpers here that
 * write while the lock is held write only what changes no state anyone can observe (a node
 * or hold record of an older epoch brought to the current one with nothing in it, key bytes
 * not yet published), so they may run before a section's tail; every real change is written
 * in that tail, with no calls and no loops (see `RegionMemory.slowLock`).
 */
export class HierarchyTree implements EventSite {
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  readonly u8: Uint8Array;
  readonly layout: TreeLayout;
  readonly owner: number;
  readonly genIndex: number;
  readonly gen: number;
  /** Float64 index of this handle's first hold record, and how many it has. */
  readonly holds: number;
  readonly holdsPerLane: number;
  /** Float64 index of the scratch node (what unused path slots point at). */
  readonly scratch: number;
  readonly levels: number;
  /**
   * Calls left before this handle beats from its own calls: a worker that keeps the tree busy
   * in a long synchronous loop never runs its heartbeat timer, yet must not look dead.
   */
  callsToBeat = BEAT_EVERY;
  /**
   * This handle's subscriptions (see `subscribe`), copied on write; `undefined` while it has
   * none, the one check an operation makes for listeners.
   */
  listeners: readonly HierarchySubscription[] | undefined = undefined;
  /** The refill schedule the root follows in this thread, if any. */
  catchUp: (() => void) | undefined = undefined;
  /** Refills through this handle (set by the root), also those a passed boundary makes due. */
  refills: TreeRefills | undefined = undefined;

  constructor(
    readonly region: SharedRegion,
    readonly backstop: boolean,
  ) {
    this.i32 = region.i32;
    this.f64 = region.f64;
    this.u8 = new Uint8Array(region.buffer);
    this.layout = readLayout(region.i32, region.lanes);
    this.holdsPerLane = this.layout.holdsPerLane;
    this.scratch = this.layout.nodeF64(-1);
    this.levels = this.i32[this.layout.headerI32 + T_LEVELS]!;
    // Every handle's region gives back the tree holds of a lane it reclaims.
    region.laneHook = (lane) => this.reclaimHolds(lane);
    region.claimLane();
    this.owner = region.owner;
    this.genIndex = region.laneI + L_GEN;
    this.gen = region.gen;
    this.holds = this.layout.holdsF64(region.lane);
  }

  get name(): string | undefined {
    return this.region.name;
  }

  lock(): void {
    if (Atomics.compareExchange(this.i32, W_LOCK, 0, this.owner) !== 0) this.region.slowLock();
  }

  unlock(): void {
    if ((Atomics.exchange(this.i32, W_LOCK, 0) & LOCK_CONTENDED) !== 0) {
      Atomics.notify(this.i32, W_LOCK, 1);
    }
    if (--this.callsToBeat === 0) this.beatNow();
  }

  /** Beats now and restarts the count (see `callsToBeat`). */
  beatNow(): void {
    this.callsToBeat = BEAT_EVERY;
    this.region.beat();
  }

  /** With the lock held: whether this handle may go on (its lane is its own, the tree open). */
  usable(): boolean {
    return this.i32[this.genIndex] === this.gen && this.i32[H_CLOSED] === 0;
  }

  /** With the lock held: releases it and throws why this handle cannot be used. */
  refuse(): never {
    const error = this.region.refusal();
    this.unlock();
    throw error ?? new BudgetError({ code: 'CLOSED', message: 'closed', details: {} });
  }

  /** With the lock held: releases it and throws `error`. */
  fail(error: BudgetError): never {
    this.unlock();
    throw error;
  }

  /**
   * With the lock held: brings the node at Float64 index `p` into `epoch` if a refill left it
   * in an older one. Such a node holds nothing, so this changes nothing observable; the epoch
   * is written last, and a thread stopped before it leaves the node as it was.
   */
  freshen(p: number, epoch: number): void {
    const f = this.f64;
    f[p + N_HELD] = 0;
    f[p + N_COUNT] = 0;
    f[p + N_OWN] = 0;
    f[p + N_EPOCH] = epoch;
  }

  /**
   * With the lock held: this handle's hold record for `node` in `epoch`, made (or taken over
   * from a record with nothing in it) if it has none; `-1` when every record holds something.
   * Records are found by open addressing from the node's index; a record is never emptied
   * while its lane is open, only reused once it holds nothing, so no chain is ever cut.
   */
  holdFor(node: number, epoch: number): number {
    const f = this.f64;
    const size = this.holdsPerLane;
    const mask = size - 1;
    let reusable = -1;
    for (let k = 0; k < size; k++) {
      const e = this.holds + ((node + k) & mask) * (HOLD_BYTES / 8);
      const tag = f[e + E_NODE]!;
      if (tag === node + 1) {
        if (f[e + E_EPOCH] !== epoch) this.freshenHold(e, node, epoch);
        return e;
      }
      const idle =
        tag === 0 || f[e + E_EPOCH] !== epoch || f[e + E_COUNT]! + f[e + E_PERMITS]! === 0;
      if (idle && reusable < 0) reusable = e;
      if (tag === 0) break; // the end of the chain: the node has no record
    }
    if (reusable >= 0) this.freshenHold(reusable, node, epoch);
    return reusable;
  }

  /** With the lock held: this handle's record for `node` if it has one, else `-1`. */
  findHold(node: number): number {
    return this.findHoldIn(this.holds, node);
  }

  /** With the lock held: the record for `node` among the records from `first`, else `-1`. */
  /** @internal */
  findHoldIn(first: number, node: number): number {
    const f = this.f64;
    const mask = this.holdsPerLane - 1;
    for (let k = 0; k <= mask; k++) {
      const e = first + ((node + k) & mask) * (HOLD_BYTES / 8);
      const tag = f[e + E_NODE]!;
      if (tag === node + 1) return e;
      if (tag === 0) break;
    }
    return -1;
  }

  /** With the lock held: the count-API units lane `lane` records on `node` in `epoch`. */
  /** @internal */
  countOf(lane: number, node: number, epoch: number): number {
    if (this.i32[laneI32(lane) + L_STATE] === FREE) return 0;
    const e = this.findHoldIn(this.layout.holdsF64(lane), node);
    return e >= 0 && this.f64[e + E_EPOCH] === epoch ? this.f64[e + E_COUNT]! : 0;
  }

  /** With the lock held: the count-API units every lane but `lane` records on `node`. */
  private countOfOthers(lane: number, node: number, epoch: number): number {
    let sum = 0;
    for (let j = 0; j < this.layout.lanes; j++) if (j !== lane) sum += this.countOf(j, node, epoch);
    return sum;
  }

  /**
   * A record with nothing in it (in effect) made the record of `node` in `epoch`: amounts
   * zeroed, then the epoch, the node last, so any prefix leaves it holding nothing.
   */
  private freshenHold(e: number, node: number, epoch: number): void {
    const f = this.f64;
    f[e + E_COUNT] = 0;
    f[e + E_PERMITS] = 0;
    f[e + E_EPOCH] = epoch;
    f[e + E_NODE] = node + 1;
  }

  /**
   * Fills `path` with the Float64 index of each node from `node` up to the root, the unused
   * slots with the scratch node's.
   */
  pathOf(node: number, path: number[]): void {
    const { i32, layout } = this;
    let n = node;
    for (let k = 0; k < PATH; k++) {
      path[k] = n < 0 ? this.scratch : layout.nodeF64(n);
      if (n >= 0) n = i32[layout.nodeI32(n) + N_PARENT]!;
    }
  }

  /** With the lock held: the child of `parent` under `bytes` (hashed to `hash`), or `-1`. */
  findChild(parent: number, bytes: Uint8Array, hash: number): { node: number; slot: number } {
    const { i32, u8, layout } = this;
    const size = layout.tableSize;
    const table = layout.tableI32;
    for (let k = 0; k < size; k++) {
      const slot = (hash + k) & (size - 1);
      const tag = i32[table + slot]!;
      if (tag === 0) return { node: -1, slot };
      const n = tag - 1;
      const ni = layout.nodeI32(n);
      if (i32[ni + N_HASH] !== hash || i32[ni + N_PARENT] !== parent) continue;
      if (i32[ni + N_KEY_LEN] !== bytes.length) continue;
      const off = layout.keys + i32[ni + N_KEY_OFF]!;
      let same = true;
      for (let b = 0; b < bytes.length && same; b++) same = u8[off + b] === bytes[b];
      if (same) return { node: n, slot };
    }
    return { node: -1, slot: -1 };
  }

  /**
   * With the lock held: creates the child of `parent` under `bytes` in table slot `slot`, at
   * `capacity`; returns its index, or the limit that stopped it. The key's bytes go into the
   * arena past what is used (invisible until published); the node, the table slot and the
   * counters are then written in one tail.
   */
  insertChild(
    parent: number,
    bytes: Uint8Array,
    hash: number,
    slot: number,
    capacity: number,
  ): number | 'nodes' | 'keys' {
    const { i32, f64, u8, layout } = this;
    const h = layout.headerI32;
    const used = i32[h + T_NODES]!;
    if (used >= layout.maxNodes || slot < 0) return 'nodes';
    const keyUsed = i32[h + T_KEY_USED]!;
    if (keyUsed + bytes.length > layout.keyBytes) return 'keys';
    u8.set(bytes, layout.keys + keyUsed);
    const pi = layout.nodeI32(parent);
    const depth = i32[pi + N_DEPTH]! + 1;
    const kids = i32[pi + N_KIDS]! + 1;
    const ni = layout.nodeI32(used);
    const nf = layout.nodeF64(used);
    const epoch = f64[S_EPOCH]!;
    // The tail: stores only.
    f64[nf + N_CAP] = capacity;
    f64[nf + N_HELD] = 0;
    f64[nf + N_COUNT] = 0;
    f64[nf + N_OWN] = 0;
    f64[nf + N_EPOCH] = epoch;
    i32[ni + N_PARENT] = parent;
    i32[ni + N_DEPTH] = depth;
    i32[ni + N_KEY_OFF] = keyUsed;
    i32[ni + N_KEY_LEN] = bytes.length;
    i32[ni + N_HASH] = hash;
    i32[ni + N_KIDS] = 0;
    i32[pi + N_KIDS] = kids;
    i32[h + T_KEY_USED] = keyUsed + bytes.length;
    i32[h + T_NODES] = used + 1;
    i32[layout.tableI32 + slot] = used + 1;
    return used;
  }

  /**
   * The index of `parent`'s child under `key`, made if no thread made it yet; with
   * `capacity`, that child's capacity is set to it. The key is encoded and hashed before the
   * lock is taken.
   */
  childIndex(parent: number, key: string, capacity: number | undefined, path: string[]): number {
    const bytes = encodeKey(key);
    const hash = hashKey(bytes, parent);
    const { f64: f, i32, layout } = this;
    const depth = i32[layout.nodeI32(parent) + N_DEPTH]! + 1;
    const template = f[layout.templateF64(depth)]!;
    this.lock();
    if (!this.usable()) this.refuse();
    const found = this.findChild(parent, bytes, hash);
    if (found.node < 0) {
      const made = this.insertChild(parent, bytes, hash, found.slot, capacity ?? template);
      if (made === 'nodes') this.fail(nodesFull(this, [...path, key]));
      if (made === 'keys') this.fail(keysFull(this, [...path, key], bytes.length));
      this.unlock();
      return made;
    }
    if (capacity !== undefined) {
      // Lowering a capacity below what the child holds would leave it over capacity.
      const nf = layout.nodeF64(found.node);
      const held = f[nf + N_EPOCH] === f[S_EPOCH] ? f[nf + N_HELD]! : 0;
      if (capacity < held) {
        this.fail(
          invalid(
            `capacity ${capacity} for '${key}' is below the ${held} units it holds; release them first`,
            { path, key, capacity, held },
          ),
        );
      }
      f[nf + N_CAP] = capacity;
    }
    this.unlock();
    return found.node;
  }

  /**
   * With the lock held (the region's `laneHook`): gives back what lane `lane` holds on the
   * tree in the live epoch, one hold record at a time, and returns the units. The lane's
   * generation is bumped first, so its owner, if it still runs, is refused from here on
   * instead of settling what is given back here. Each record is given back in one tail that
   * also zeroes it: a thread stopped between two records leaves both consistent, and the next
   * reclaim of the lane (still open: the region frees it last) gives back the rest, never a
   * record twice.
   */
  reclaimHolds(lane: number): number {
    const { f64: f, i32, layout } = this;
    const li = laneI32(lane);
    i32[li + L_GEN] = (i32[li + L_GEN]! + 1) | 0;
    const epoch = f[S_EPOCH]!;
    const first = layout.holdsF64(lane);
    const path: number[] = [0, 0, 0, 0, 0];
    let total = 0;
    for (let k = 0; k < this.holdsPerLane; k++) {
      const e = first + k * (HOLD_BYTES / 8);
      const tag = f[e + E_NODE]!;
      if (tag === 0 || f[e + E_EPOCH] !== epoch) continue;
      const count = f[e + E_COUNT]!;
      const permits = f[e + E_PERMITS]!;
      if (count === 0 && permits === 0) continue;
      this.pathOf(tag - 1, path);
      const p0 = path[0]!;
      const p1 = path[1]!;
      const p2 = path[2]!;
      const p3 = path[3]!;
      const p4 = path[4]!;
      // A record of the live epoch was written with its node's path in that epoch. The count
      // API is one pool per node: give back no more than it holds beyond other records.
      const pool = f[p0 + N_COUNT]! - this.countOfOthers(lane, tag - 1, epoch);
      const counted = Math.max(0, Math.min(count, pool));
      const back = counted + permits;
      const h0 = f[p0 + N_HELD]! - back;
      const h1 = f[p1 + N_HELD]! - back;
      const h2 = f[p2 + N_HELD]! - back;
      const h3 = f[p3 + N_HELD]! - back;
      const h4 = f[p4 + N_HELD]! - back;
      const c0 = f[p0 + N_COUNT]! - counted;
      const o0 = f[p0 + N_OWN]! - back;
      total += back;
      // The tail: stores only.
      f[p4 + N_HELD] = h4;
      f[p3 + N_HELD] = h3;
      f[p2 + N_HELD] = h2;
      f[p1 + N_HELD] = h1;
      f[p0 + N_HELD] = h0;
      f[p0 + N_COUNT] = c0;
      f[p0 + N_OWN] = o0;
      f[e + E_COUNT] = 0;
      f[e + E_PERMITS] = 0;
    }
    return total;
  }
}
