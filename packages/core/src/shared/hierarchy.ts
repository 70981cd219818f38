import { checkTimes } from '../budgets/options.js';
import { checkSchedule } from '../budgets/schedule.js';
import { systemClock } from '../budgets/system-clock.js';
import type { SchedulableCapabilities } from '../spec/capabilities.js';
import { scheduledElsewhere } from './due-refill.js';
import {
  N_CAP,
  N_DEPTH,
  N_EPOCH,
  N_HELD,
  N_PARENT,
  powerOfTwo,
  readLayout,
  T_HOLDS,
  T_KEY_BYTES,
  T_KEY_USED,
  T_LEVELS,
  T_MAX_NODES,
  T_NODES,
  T_TABLE,
  TreeLayout,
} from './hierarchy-layout.js';
import { SharedHierarchyNode } from './hierarchy-node.js';
import {
  checkHierarchyOpenOptions,
  checkHierarchyOptions,
  type SharedHierarchyOpenOptions,
  type SharedHierarchyOptions,
  type SharedHierarchySnapshot,
  type SharedHierarchyTemplate,
} from './hierarchy-options.js';
import { TreeRefills } from './hierarchy-refill.js';
import { HierarchyTree } from './hierarchy-tree.js';
import {
  KIND_HIERARCHY,
  L_STATE,
  laneI32,
  OPEN,
  S_EPOCH,
  S_LEAKS,
  S_OVER_RELEASED,
  S_RECLAIMED,
  S_RECLAIMED_LANES,
  W_RECOVERED,
} from './layout.js';
import { invalidDescriptor } from './memory.js';
import { assertSharedMemory, type SharedBudgetDescriptor, SharedRegion } from './region.js';
import { type ExitingThread, SharedLeases } from './shared-leases.js';

const _MAX = Number.MAX_SAFE_INTEGER;

/**
 * Budgets in a tree — global → org → team → user, up to four levels below the root — shared
 * exactly by worker threads: the worker-thread twin of compose's `hierarchy()`. A reservation
 * on a node charges it and every ancestor in one step across all threads, or, when any of
 * them lacks room, changes nothing; a refill of the root begins a new epoch for the whole
 * tree (`reset`: every node starts empty and older holds are fenced off).
 *
 * The whole tree lives in one `SharedArrayBuffer` under one lock. Tenant keys are data: any
 * string, stored as UTF-8 bytes and compared byte for byte. Nodes are made on first use by
 * any thread and never removed, so the tree's size is fixed when it is created (`maxNodes`,
 * `maxKeyBytes`); running out is a `BACKEND` error that says which limit to raise.
 *
 * Send {@link SharedHierarchy.share}'s descriptor to each worker and reopen it there with
 * {@link SharedHierarchy.open}. Each handle records, per node, what it holds; when its thread
 * exits ({@link SharedHierarchy.releaseOnExit}) or stops beating for `leaseMs`
 * ({@link SharedHierarchy.reclaimExpired}), another thread gives exactly that back, once.
 *
 * @example
 * ```ts
 * import { Worker } from 'node:worker_threads';
 * import { SharedHierarchy } from '@budgetry/core';
 *
 * const tenants = new SharedHierarchy({ capacity: 10_000, children: { capacity: 500 } });
 * const worker = new Worker(new URL('./serve.js', import.meta.url), {
 *   workerData: tenants.share(),
 * });
 * tenants.releaseOnExit(worker);
 * // in serve.js:
 * //   const tenants = SharedHierarchy.open(workerData);
 * //   const permit = tenants.child(tenantId).tryAcquireSync(20);
 * //   if (permit) { ...; permit.commitSync(used); }
 * ```
 */
export class SharedHierarchy extends SharedHierarchyNode {
  private readonly creator: boolean;
  private readonly leases: SharedLeases;
  private readonly refills: TreeRefills;

  /** Synchronous, pool count release, partial commit, `reset` refills, schedulable. */
  override get capabilities(): SchedulableCapabilities {
    return super.capabilities as SchedulableCapabilities;
  }

  /**
   * @param template - the root's capacity and, nested under `children`, each level's template.
   * @param options - the tree's limits (`maxNodes`, `maxKeyBytes`, `maxHoldsPerHandle`), the
   * lease settings (`maxHandles`, `leaseMs`, `clock`), `name` and `leakBackstop`.
   * @throws BudgetError `BACKEND` where `SharedArrayBuffer` is unavailable;
   * `INVALID_ARGUMENT` for a malformed, cyclic or too deep template or bad options;
   * `INVALID_AMOUNT` for a bad capacity.
   */
  constructor(template: SharedHierarchyTemplate, options?: SharedHierarchyOptions);
  /** @internal Opens a descriptor; use {@link SharedHierarchy.open}. */
  constructor(template: undefined, options: SharedHierarchyOpenOptions, region: SharedRegion);
  constructor(
    template: SharedHierarchyTemplate | undefined,
    options: SharedHierarchyOptions = {},
    opened?: SharedRegion,
  ) {
    const region = opened ?? createRegion(template, options);
    super(new HierarchyTree(region, options.leakBackstop ?? true), null, '', 0);
    this.creator = opened === undefined;
    this.leases = new SharedLeases(region);
    this.refills = new TreeRefills(this.tree, () => this.capacity);
    this.tree.refills = this.refills;
  }

  /**
   * Reopens, in this thread, a hierarchy another thread shared: a new handle on the same tree.
   *
   * @param descriptor - what {@link SharedHierarchy.share} returned, received through
   * `postMessage`.
   * @param options - this handle's leak backstop and clock.
   * @returns the root, as a handle with its own lane.
   * @throws BudgetError `INVALID_ARGUMENT` for anything that is not such a descriptor (a copy
   * that lost its `SharedArrayBuffer`, one from another process, another layout version, a
   * budget's), `CLOSED` when the creator closed the tree, `BACKEND` when every handle is taken.
   */
  static open(
    descriptor: SharedBudgetDescriptor,
    options: SharedHierarchyOpenOptions = {},
  ): SharedHierarchy {
    assertSharedMemory('SharedHierarchy.open');
    checkHierarchyOpenOptions(options);
    const region = SharedRegion.open(descriptor, KIND_HIERARCHY, options.clock ?? systemClock);
    if (readLayout(region.i32, region.lanes).total > region.buffer.byteLength) {
      throw invalidDescriptor("the descriptor's buffer is too small for the hierarchy it names");
    }
    return new SharedHierarchy(undefined, options, region);
  }

  /** What to `postMessage` to a worker so it can {@link SharedHierarchy.open} this tree. */
  share(): SharedBudgetDescriptor {
    return this.tree.region.describe('hierarchy');
  }

  /**
   * Begin a new epoch for the whole tree, in every thread: every node starts empty, and
   * permits and count reservations from before are fenced off, so settling them later
   * returns nothing. One store, whatever the size of the tree.
   *
   * @param times - refills to apply at once (default 1); a positive safe integer.
   * @throws BudgetError `INVALID_ARGUMENT` when `times` is not a positive safe integer, or
   * would take the epoch past 2^53 − 1 (nothing changes).
   */
  refill(times = 1): void {
    if (times !== 1) checkTimes(times);
    this.refills.refill(times);
  }

  /** @internal The schedule's catch-up (see `refillScheduled`). */
  refillScheduled(times: number, first: number, next: number, now: number, period: number): void {
    this.refills.scheduled(times, first, next, now, period);
  }

  /**
   * Keep the tree's epochs in step with a refill schedule: `catchUp` runs before every
   * operation on any node of this handle (reservations, releases, reads, settling a permit).
   * Attach it in one thread; the refills it applies reach every thread, and compose's
   * schedulers publish the next boundary so that a handle in any thread that finds the clock
   * past it applies that refill first (see `SharedBudget.followSchedule`).
   *
   * @param catchUp - applies the refills the schedule says are due.
   * @returns a function that detaches the schedule (calling it twice is harmless).
   * @throws BudgetError `INVALID_ARGUMENT` when `catchUp` is not a function or a schedule is
   * attached already.
   */
  followSchedule(catchUp: () => void): () => void {
    const t = this.tree;
    checkSchedule(catchUp, t.catchUp !== undefined || scheduledElsewhere(t.f64), t.name);
    t.catchUp = catchUp;
    return () => {
      if (t.catchUp === catchUp) t.catchUp = undefined;
    };
  }

  /** The whole tree's counters at once, read in one step. */
  snapshot(): SharedHierarchySnapshot {
    const t = this.tree;
    if (t.catchUp !== undefined) t.catchUp();
    const { f64: f, i32, layout } = t;
    const h = layout.headerI32;
    const root = layout.nodeF64(0);
    t.lock();
    let handles = 0;
    for (let i = 0; i < layout.lanes; i++) if (i32[laneI32(i) + L_STATE] === OPEN) handles++;
    const held = f[root + N_EPOCH] === f[S_EPOCH] ? f[root + N_HELD]! : 0;
    const snapshot: SharedHierarchySnapshot = {
      capacity: f[root + N_CAP]!,
      available: Math.max(f[root + N_CAP]! - held, 0),
      held,
      epoch: f[S_EPOCH]!,
      nodes: i32[h + T_NODES]!,
      maxNodes: layout.maxNodes,
      keyBytes: i32[h + T_KEY_USED]!,
      maxKeyBytes: layout.keyBytes,
      overReleased: f[S_OVER_RELEASED]!,
      leaks: f[S_LEAKS]!,
      reclaimed: f[S_RECLAIMED]!,
      reclaimedHandles: f[S_RECLAIMED_LANES]!,
      handles,
      lockTakeovers: Atomics.load(i32, W_RECOVERED),
    };
    t.unlock();
    return snapshot;
  }

  /**
   * Give back this handle's holds and its lane. The creator's `close()` also closes the tree
   * for every thread: later calls on any handle fail with `CLOSED`, and so does `open`.
   * Calling it twice is harmless.
   */
  close(): void {
    if (this.creator) this.tree.region.markClosed();
    this.tree.region.closeLane();
  }

  /** Same as {@link SharedHierarchy.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Give back the holds of every handle opened in `worker`'s thread as soon as it exits.
   *
   * @param worker - a `node:worker_threads` Worker (anything with `threadId` and `once('exit')`).
   */
  releaseOnExit(worker: ExitingThread): void {
    this.leases.releaseOnExit(worker);
  }

  /**
   * Give back the holds of handles whose heartbeat is older than `leaseMs`.
   *
   * @returns how many handles were reclaimed and the units they gave back.
   */
  reclaimExpired(): { handles: number; units: number } {
    return this.leases.reclaimExpired();
  }
}

/** A new tree's memory, after checking what the constructor was given. */
function createRegion(template: unknown, options: SharedHierarchyOptions): SharedRegion {
  assertSharedMemory('SharedHierarchy');
  const c = checkHierarchyOptions(template, options);
  const layout = new TreeLayout(
    c.maxHandles,
    c.maxNodes,
    powerOfTwo(c.maxNodes * 2),
    c.holdsPerHandle,
    c.maxKeyBytes,
  );
  const region = SharedRegion.create(
    {
      kind: KIND_HIERARCHY,
      capacity: c.capacities[0]!,
      carry: false,
      strict: false,
      lanes: c.maxHandles,
      waitSlots: 0,
      leaseMs: c.leaseMs,
      extraBytes: layout.extraBytes,
    },
    options.clock ?? systemClock,
    options.name,
  );
  // No other thread can see the buffer yet: plain stores.
  const { i32, f64 } = region;
  const h = layout.headerI32;
  i32[h + T_MAX_NODES] = layout.maxNodes;
  i32[h + T_NODES] = 1;
  i32[h + T_KEY_BYTES] = layout.keyBytes;
  i32[h + T_KEY_USED] = 0;
  i32[h + T_TABLE] = layout.tableSize;
  i32[h + T_HOLDS] = layout.holdsPerLane;
  i32[h + T_LEVELS] = c.capacities.length;
  c.capacities.forEach((capacity, depth) => {
    f64[layout.templateF64(depth)] = capacity;
  });
  f64[layout.nodeF64(-1) + N_CAP] = Number.POSITIVE_INFINITY;
  f64[layout.nodeF64(0) + N_CAP] = c.capacities[0]!;
  i32[layout.nodeI32(0) + N_PARENT] = -1;
  i32[layout.nodeI32(0) + N_DEPTH] = 0;
  return region;
}
