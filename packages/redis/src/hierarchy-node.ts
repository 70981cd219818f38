import {
  assertAmount,
  type BudgetCapabilities,
  BudgetError,
  type Decision,
  type PermitBudgetGuard,
} from '@budgetry/core';
import { CountApi, type OpenUnits } from './count-api.js';
import { escapeName } from './keys.js';
import type { AcquireOptions } from './options.js';
import { RedisPermit } from './redis-permit.js';
import { IDENTITY, type RedisCounters, type RemoteCore } from './remote-core.js';

/**
 * A point-in-time view of one node of a {@link RedisHierarchy} and of its tree, read in one
 * script call.
 *
 * @example
 * ```ts
 * import type { RedisHierarchySnapshot } from '@budgetry/redis';
 * const show = (s: RedisHierarchySnapshot) =>
 *   `${s.path.join('/') || '(root)'}: ${s.held}/${s.capacity}, ${s.available} free on its path`;
 * ```
 */
export interface RedisHierarchySnapshot extends RedisCounters {
  /** The node's keys from the root down (empty for the root). */
  readonly path: readonly string[];
  /** The node's capacity: declared for it, else its level's. */
  readonly capacity: number;
  /** Whether the capacity was declared for this node ({@link RedisHierarchyNode.declare}). */
  readonly declared: boolean;
  /** Units held by the node and its whole subtree in the current epoch (commits included). */
  readonly held: number;
  /** The part of `held` reserved on the node itself, not on its descendants. */
  readonly ownHeld: number;
  /** The part of `ownHeld` reserved through the node's count API (not leased). */
  readonly countHeld: number;
  /** What a reservation on this node can take now: the least room on its path to the root. */
  readonly available: number;
}

/** @internal What every node handle of one tree shares. */
export interface TreeContext {
  readonly core: RemoteCore;
  /** Capacities by depth, root first: a node's unless declared otherwise. */
  readonly levels: readonly number[];
  /** Units granted locally under `failure: 'open'`, by node name; no entry means none. */
  readonly open: Map<string, number>;
}

const CAPABILITIES: BudgetCapabilities = Object.freeze({
  sync: false,
  countRelease: true,
  partialCommit: true,
  retryHint: false,
  refill: 'reset',
  schedulable: false,
});

/**
 * One node of a {@link RedisHierarchy} — the root, a tenant, a user — as a handle in this
 * process. A reservation on a node charges it and every ancestor up to the root in one Lua
 * script (one atomic step, one round trip), or, when any of them lacks room, changes nothing;
 * settling it — release, commit, partial commit, expiry of its lease — gives back to the same
 * path exactly once. At every node, `held` = its own holds + its children's held ≤ capacity.
 *
 * Handles cost nothing and touch nothing: a node exists in Redis only while it holds
 * something or has a declared capacity, whichever process names it. Keys are data: any string,
 * percent-encoded, so `{`, `}`, `:`, spaces and newlines in a tenant id reach no other node.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { RedisHierarchy } from '@budgetry/redis';
 *
 * const redis = new Redis();
 * const tree = new RedisHierarchy(
 *   { capacity: 10_000, children: { capacity: 2_000, children: { capacity: 500 } } },
 *   { redis, name: 'tokens-per-minute', refillEveryMs: 60_000 },
 * );
 * const alice = tree.at('acme', 'alice');
 * const permit = await alice.tryAcquire(300); // alice, acme and the root, in one script
 * if (permit) await permit.commit(120); // 180 go back to all three
 * redis.disconnect();
 * ```
 */
export class RedisHierarchyNode implements PermitBudgetGuard {
  /** The parent, or `null` at the root. */
  readonly parent: RedisHierarchyNode | null;
  /** The key under which the parent holds this node (`''` at the root). */
  readonly key: string;
  /** Depth in the tree: 0 at the root. */
  readonly depth: number;
  /** Keys from the root down to this node (empty at the root). */
  readonly path: readonly string[];
  /** Asynchronous, pool count release, partial commit, `reset` epochs; not schedulable. */
  readonly capabilities: BudgetCapabilities = CAPABILITIES;
  /** What a refill of the tree does: always `reset`. */
  readonly refillPolicy = 'reset' as const;
  /** @internal */
  protected readonly tree: TreeContext;
  /** The node's name in the tree's script: `n`, then `:` and each escaped key. */
  private readonly ref: string;
  private readonly count: CountApi;

  /** @internal Use {@link RedisHierarchyNode.child} and {@link RedisHierarchyNode.at}. */
  constructor(tree: TreeContext, parent: RedisHierarchyNode | null, key: string) {
    this.tree = tree;
    this.parent = parent;
    this.key = key;
    this.depth = parent === null ? 0 : parent.depth + 1;
    this.path = parent === null ? [] : Object.freeze([...parent.path, key]);
    this.ref = parent === null ? 'n' : `${parent.ref}:${escapeName(key)}`;
    this.count = new CountApi(tree.core, [this.ref], openUnitsOf(tree.open, this.ref));
  }

  /**
   * The same for every handle on this node of this tree through the same client: compose
   * refuses two of them in one coordinator or combinator, as it refuses one object twice.
   */
  get [IDENTITY](): string {
    return `${this.tree.core.identity} ${this.ref}`;
  }

  /**
   * The child under `key`: a handle, made without a call to Redis. The node itself exists in
   * Redis once something is reserved on it (or its capacity is declared).
   *
   * @param key - a tenant id: any well-formed string (data, never key syntax).
   * @returns the child's handle.
   * @throws BudgetError `INVALID_ARGUMENT` for a key that is not a string or has a lone
   * surrogate, or for a node on the tree's last level.
   */
  child(key: string): RedisHierarchyNode {
    if (typeof key !== 'string') {
      throw invalid(`a tenant key must be a string, got ${typeof key}`, { key });
    }
    if (this.depth + 1 >= this.tree.levels.length) {
      throw invalid(
        `the node at ${JSON.stringify(this.path)} is on the tree's last level (${this.tree.levels.length} levels): it has no children`,
        { path: this.path, key },
      );
    }
    return new RedisHierarchyNode(this.tree, this, key);
  }

  /**
   * The descendant at `keys`, one key per level below this node.
   *
   * @param keys - tenant ids, outermost first.
   * @returns the node at the end of the path.
   * @throws BudgetError as {@link RedisHierarchyNode.child}.
   */
  at(...keys: string[]): RedisHierarchyNode {
    let node: RedisHierarchyNode = this;
    for (const key of keys) node = node.child(key);
    return node;
  }

  /**
   * Reserve `cost` on this node and every ancestor through the count API, or on none.
   *
   * @param cost - a non-negative safe integer; 0 is always granted.
   * @returns `true` when the whole path had room.
   * @throws BudgetError `INVALID_AMOUNT` before anything is sent; `BACKEND` / `TIMEOUT` when
   * Redis did not answer and the tree fails closed.
   */
  tryReserve(cost: number): Promise<boolean> {
    return this.count.tryReserve(cost);
  }

  /**
   * Return `cost` units reserved on this node with {@link RedisHierarchyNode.tryReserve} (by
   * any process: a node's count API is one pool), to it and every ancestor. Units beyond what
   * the node's count API holds in the current epoch are ignored and counted (or, with
   * `strict`, the call rejects with `OVER_RELEASE` and changes nothing).
   *
   * @param cost - a non-negative safe integer.
   */
  release(cost: number): Promise<void> {
    return this.count.release(cost);
  }

  /**
   * Reserve `cost` on this node and every ancestor as a leased permit, or on none.
   *
   * @param cost - a non-negative safe integer.
   * @param options - this permit's lease length.
   * @returns a held permit, or `null` when some node on the path had no room.
   * @throws BudgetError as {@link RedisHierarchyNode.tryReserve}.
   */
  async tryAcquire(cost: number, options?: AcquireOptions): Promise<RedisPermit | null> {
    const decision = await this.tryAcquireDetailed(cost, options);
    return decision.ok ? decision.permit : null;
  }

  /**
   * {@link RedisHierarchyNode.tryAcquire}, saying which node denied: the first on the path
   * from this node up to the root without room for `cost`, as compose's hierarchy does.
   *
   * @param cost - a non-negative safe integer.
   * @param options - this permit's lease length.
   * @returns the permit, or in `deniedBy` the path of the node that had no room (`[]` for the
   * root), with `exceedsCapacity: true` when the cost is above the smallest capacity on this
   * node's path (no refill or release can admit it).
   */
  async tryAcquireDetailed(
    cost: number,
    options?: AcquireOptions,
  ): Promise<Decision<readonly string[], RedisPermit>> {
    assertAmount(cost, 'cost');
    const core = this.tree.core;
    const { handle, v } = await core.lease(
      cost,
      options,
      [this.ref],
      (id, epoch, deadline, backed) => new RedisPermit(core, id, cost, epoch, deadline, backed),
    );
    if (handle !== null) return { ok: true, permit: handle };
    const up = Math.min(Math.max(v[3] ?? 0, 0), this.depth);
    const deniedBy = this.path.slice(0, this.depth - up);
    // The script names the path's smallest capacity with a denial: above it, waiting is pointless.
    const most = v[4];
    return most !== undefined && cost > most
      ? { ok: false, deniedBy, exceedsCapacity: true }
      : { ok: false, deniedBy };
  }

  /** Units a reservation on this node can take now: the least room on its path. */
  async available(): Promise<number> {
    return (await this.snapshot()).available;
  }

  /** Units held by this node and its subtree, by every process. */
  async held(): Promise<number> {
    return (await this.snapshot()).held;
  }

  /** Units held by this node itself (count API, permits, commits), not by its descendants. */
  async ownHeld(): Promise<number> {
    return (await this.snapshot()).ownHeld;
  }

  /** The node's counters and the tree's, in one call. */
  async snapshot(): Promise<RedisHierarchySnapshot> {
    const { core, levels } = this.tree;
    const r = (await core.call('get', [this.ref])).v;
    const n = (i: number): number => r[i] ?? 0;
    let available = Number.MAX_SAFE_INTEGER;
    for (let i = 0; i <= this.depth; i++) {
      const declared = n(7 + 4 * i);
      const capacity = declared >= 0 ? declared : levels[this.depth - i]!;
      available = Math.min(available, capacity - n(8 + 4 * i));
    }
    const declared = n(7) >= 0;
    return {
      path: this.path,
      capacity: declared ? n(7) : levels[this.depth]!,
      declared,
      held: n(8),
      ownHeld: n(9),
      countHeld: n(10),
      available: Math.max(available, 0),
      epoch: n(0),
      leases: n(4),
      overReleased: n(1),
      expiredLeases: n(2),
      expiredUnits: n(3),
      serverTime: n(5),
      nextRefillAt: n(6) < 0 ? undefined : n(6),
      scriptReloads: core.runner.stats.scriptReloads,
    };
  }

  /**
   * Give this node a capacity of its own instead of its level's, for every process: a tenant
   * on a bigger plan. The node stays in Redis with it until the tree is destroyed.
   *
   * @param capacity - a non-negative safe integer, at least what the node holds now.
   * @throws BudgetError `INVALID_AMOUNT` for a bad capacity; `INVALID_ARGUMENT` at the root
   * (its capacity is the template's) or for a capacity below what the node holds, with
   * nothing changed.
   */
  async declare(capacity: number): Promise<void> {
    assertAmount(capacity, 'capacity');
    if (this.parent === null) {
      throw invalid("the root's capacity is the template's: open the tree with another one", {
        capacity,
      });
    }
    const { v } = await this.tree.core.call('cap', [this.ref, String(capacity)]);
    if (v[0] === -1) {
      throw invalid(
        `capacity ${capacity} is below the ${v[1]} units node ${JSON.stringify(this.path)} holds`,
        { path: this.path, capacity, held: v[1] },
      );
    }
  }
}

function invalid(message: string, details: Record<string, unknown>): BudgetError {
  return new BudgetError({ code: 'INVALID_ARGUMENT', message, details });
}

/** A node's local grants, kept in the tree's map only while there are some. */
function openUnitsOf(map: Map<string, number>, ref: string): OpenUnits {
  return {
    get: () => map.get(ref) ?? 0,
    set: (units) => {
      if (units > 0) map.set(ref, units);
      else map.delete(ref);
    },
  };
}
