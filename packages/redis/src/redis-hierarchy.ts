import { assertAmount, BudgetError } from '@budgetry/core';
import { CalendarMarks } from './calendar-marks.js';
import { RedisHierarchyNode, type TreeContext } from './hierarchy-node.js';
import { HIERARCHY_SCRIPT } from './hierarchy-script.js';
import { hierarchyKeys } from './keys.js';
import { type RedisHierarchyOptions, resolveOptions } from './options.js';
import { type ReclaimReport, RemoteCore } from './remote-core.js';
import { ScriptRunner } from './script-runner.js';

/**
 * The shape of one level of a {@link RedisHierarchy} and, through `children`, of every level
 * below it — the template of compose's `hierarchy()` and core's `SharedHierarchy`.
 *
 * @example
 * ```ts
 * import type { RedisHierarchyTemplate } from '@budgetry/redis';
 *
 * const user: RedisHierarchyTemplate = { capacity: 1_000 };
 * const tenant: RedisHierarchyTemplate = { capacity: 20_000, children: user };
 * const root: RedisHierarchyTemplate = { capacity: 1_000_000, children: tenant };
 * ```
 */
export interface RedisHierarchyTemplate {
  /** Capacity of a node at this level (a non-negative safe integer), unless declared. */
  readonly capacity: number;
  /** Template for this level's children; absent for leaves. */
  readonly children?: RedisHierarchyTemplate;
}

/** Node records examined per call when stale ones are removed. */
const TIDY_BATCH = 500;

/** Deeper than any tree needs; bounds the work of one script call. */
const MAX_LEVELS = 16;

/**
 * Budgets in a tree on Redis — global → tenant → user, up to 16 levels — shared by every
 * process that opens the same `name`. A reservation on a node charges it and every ancestor in
 * one Lua script: one atomic step and one round trip however deep the tree, or, when any node
 * on the path lacks room, nothing. Release, commit, partial commit and a lease's expiry give
 * back to the same path exactly once; a refill begins a new epoch for the whole tree at once
 * (`reset`: every node starts empty, older reservations are fenced off). Time is the Redis
 * server's clock.
 *
 * Nodes are addressed by path and made on first use with their level's capacity, or given one
 * of their own with {@link RedisHierarchyNode.declare}. A node holding nothing at its level's
 * capacity is removed from Redis, so idle tenants cost nothing. Every key of the tree shares
 * one hash tag — one Cluster slot — and tenant ids are data, percent-encoded.
 *
 * The root is a node like any other ({@link RedisHierarchyNode}), with the tree's operations:
 * `refill`, `reclaimExpired`, `destroy`. Every node declares its capabilities (asynchronous,
 * pool count release, partial commit, `reset`, not schedulable), so compose's combinators
 * take a tenant node as a member as it is.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { RedisHierarchy } from '@budgetry/redis';
 *
 * const redis = new Redis();
 * const tree = new RedisHierarchy(
 *   { capacity: 100_000, children: { capacity: 10_000, children: { capacity: 1_000 } } },
 *   { redis, name: 'rows-per-minute', refillEveryMs: 60_000 },
 * );
 * await tree.child('bigco').declare(50_000); // a tenant on a bigger plan
 * const decision = await tree.at('acme', 'alice').tryAcquireDetailed(800);
 * if (decision.ok) await decision.permit.commit(650);
 * else console.log('no room at', decision.deniedBy); // e.g. ['acme']
 * redis.disconnect();
 * ```
 */
export class RedisHierarchy extends RedisHierarchyNode {
  /** The tree's name in Redis. */
  readonly name: string;
  /** The root's capacity. */
  readonly capacity: number;
  /** Capacities by level, root first: a node's unless declared otherwise. */
  readonly levels: readonly number[];

  /**
   * @param template - the root's capacity and, nested under `children`, each level's.
   * @param options - client, name, and the settings of {@link RedisHierarchyOptions}.
   * @throws BudgetError `INVALID_ARGUMENT` for a malformed, cyclic or too deep template or bad
   * options; `INVALID_AMOUNT` for a bad capacity. A tree of the same name opened with other
   * capacities or period is refused (`INVALID_ARGUMENT`) at its first call.
   */
  constructor(template: RedisHierarchyTemplate, options: RedisHierarchyOptions) {
    const levels = levelsOf(template);
    const o = resolveOptions(options, false);
    if (o.refillPolicy !== 'reset') {
      throw new BudgetError({
        code: 'INVALID_ARGUMENT',
        message: `a hierarchy refills with 'reset' only, got refillPolicy ${JSON.stringify(o.refillPolicy)}`,
        details: { name: 'refillPolicy', value: o.refillPolicy },
      });
    }
    const k = hierarchyKeys(o.keyPrefix, o.name, o.slot);
    const keys = [k.state, k.nodes, k.leases, k.deadlines, k.graveyard];
    const config = [
      levels.join(','),
      o.calendar?.text ?? String(o.refillEveryMs),
      String(o.idempotencyWindowMs),
    ];
    const c = o.calendar;
    const marks = c && new CalendarMarks(c.schedule, c.text, c.unit);
    const runner = new ScriptRunner(
      o.redis,
      HIERARCHY_SCRIPT,
      keys,
      config,
      o.timeoutMs,
      o.name,
      marks === undefined ? [] : [{ at: 1, marks }],
      o.maxBatch,
    );
    const tree: TreeContext = { core: new RemoteCore(o, runner), levels, open: new Map() };
    super(tree, null, '');
    this.name = o.name;
    this.capacity = levels[0]!;
    this.levels = Object.freeze(levels);
  }

  /**
   * Begin a new epoch for the whole tree now: every node starts empty, and permits and count
   * reservations from before are fenced off (settling them later returns nothing). One
   * script, whatever the size of the tree. Many processes refilling at one boundary should
   * pass the epoch they saw as `ifEpoch`, so the refill happens once.
   *
   * @param times - refills to apply at once (default 1), a positive safe integer.
   * @throws BudgetError `INVALID_ARGUMENT` when `times` is not a positive safe integer, or
   * would take the epoch past 2^53 − 1 (nothing changes); `TIMEOUT` / `BACKEND` when Redis
   * did not answer: the refill may have been applied. A copy the client re-sends is applied
   * once, but a call made again is a new refill: retry with the epoch read before as
   * `ifEpoch`, so that it begins no second epoch.
   * @param ifEpoch - refill only if the tree is still in this epoch.
   * @returns whether the refill was applied.
   */
  refill(times = 1, ifEpoch?: number): Promise<boolean> {
    return this.tree.core.refill(times, ifEpoch);
  }

  /**
   * Settle every lease of the tree whose time ran out, each giving back to its whole path
   * once (expired leases are also swept, a few at a time, by every other call); then remove
   * the records of nodes that older epochs left behind (they hold nothing now), a batch per
   * call, so a tree that refills keeps no trace of tenants that went quiet.
   *
   * @returns what came back.
   */
  async reclaimExpired(): Promise<ReclaimReport> {
    const core = this.tree.core;
    const report = await core.reclaimExpired();
    let cursor = '0';
    do {
      const { v } = await core.call('tdy', [cursor, String(TIDY_BATCH)]);
      cursor = String(v[0]);
    } while (cursor !== '0');
    return report;
  }

  /** Delete the tree's keys from Redis (its permits can no longer settle anything). */
  destroy(): Promise<void> {
    return this.tree.core.destroy();
  }
}

/** The template's capacities, root first: an object per level, no cycle, ≤ MAX_LEVELS. */
function levelsOf(template: unknown): number[] {
  const capacities: number[] = [];
  const seen = new Set<unknown>();
  for (let t = template, depth = 0; t !== undefined; depth++) {
    if (typeof t !== 'object' || t === null) {
      throw invalidTemplate(`at depth ${depth} must be an object, got ${typeof t}`, depth);
    }
    if (seen.has(t)) throw invalidTemplate(`has a cycle at depth ${depth}`, depth);
    if (depth >= MAX_LEVELS) {
      throw invalidTemplate(`has more than ${MAX_LEVELS} levels`, depth);
    }
    seen.add(t);
    const { capacity, children } = t as RedisHierarchyTemplate;
    assertAmount(capacity, depth === 0 ? 'capacity' : `capacity at depth ${depth}`);
    capacities.push(capacity);
    t = children;
  }
  return capacities;
}

function invalidTemplate(what: string, depth: number): BudgetError {
  return new BudgetError({
    code: 'INVALID_ARGUMENT',
    message: `hierarchy template ${what}`,
    details: { depth },
  });
}
