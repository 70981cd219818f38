import { checkCommonOptions, describe, invalid, invalidOption } from '../budgets/options.js';
import { assertAmount } from '../spec/amount.js';
import type { Clock } from '../spec/clock.js';
import { MAX_DEPTH, powerOfTwo } from './hierarchy-layout.js';
import { checkLease } from './shared-options.js';

/**
 * The shape of one level of a {@link SharedHierarchy} and, through `children`, of every level
 * below it — the same template as compose's `hierarchy()`, at most four levels below the root.
 *
 * @example
 * ```ts
 * import { SharedHierarchy, type SharedHierarchyTemplate } from '@budgetry/core';
 *
 * const user: SharedHierarchyTemplate = { capacity: 1_000 };
 * const org: SharedHierarchyTemplate = { capacity: 20_000, children: user };
 * const root = new SharedHierarchy({ capacity: 1_000_000, children: org });
 * root.at('acme', 'alice').tryReserveSync(100); // charges alice, acme and the root
 * root.close();
 * ```
 */
export interface SharedHierarchyTemplate {
  /** Capacity of a node created at this level (a non-negative safe integer). */
  readonly capacity: number;
  /** Template for this node's children; absent for leaves. */
  readonly children?: SharedHierarchyTemplate;
}

/**
 * Options for `new SharedHierarchy(template, options)`: the tree's limits, fixed when its
 * memory is made, and the lease settings of {@link SharedBudget}.
 *
 * @example
 * ```ts
 * import { SharedHierarchy, type SharedHierarchyOptions } from '@budgetry/core';
 *
 * const options: SharedHierarchyOptions = { maxNodes: 100_000, maxKeyBytes: 2_000_000 };
 * const tenants = new SharedHierarchy({ capacity: 1_000, children: { capacity: 10 } }, options);
 * tenants.close();
 * ```
 */
export interface SharedHierarchyOptions {
  /** A label carried in error details. */
  name?: string;
  /** Release permits garbage-collected while held, and count them in `leaks()` (default `true`). */
  leakBackstop?: boolean;
  /**
   * Nodes the tree can ever have, root included (default 4 096, at most 4 194 304). Nodes
   * are made on first use and never removed; each takes 72 bytes of the shared buffer.
   */
  maxNodes?: number;
  /** Bytes of UTF-8 for all tenant keys together (default 32 per node). */
  maxKeyBytes?: number;
  /**
   * Distinct nodes one handle may hold units on at once (default 128, at most 65 536,
   * rounded up to a power of two). Each handle keeps a 32-byte record per node it holds on,
   * so that what it holds comes back exactly when its thread dies.
   */
  maxHoldsPerHandle?: number;
  /** Handles open at once across all threads (default 64, at most 4 096). */
  maxHandles?: number;
  /** How long a handle may go without a heartbeat before its holds are given back (default 30 000 ms). */
  leaseMs?: number;
  /** The clock heartbeats and leases are read from (default: the system clock). */
  clock?: Clock;
}

/**
 * Options for a handle opened in another thread (`SharedHierarchy.open(descriptor, options)`).
 *
 * @example
 * ```ts
 * import type { SharedHierarchyOpenOptions } from '@budgetry/core';
 *
 * const options: SharedHierarchyOpenOptions = { leakBackstop: false };
 * ```
 */
export interface SharedHierarchyOpenOptions {
  /** Release permits garbage-collected while held (default `true`). */
  leakBackstop?: boolean;
  /** The clock heartbeats and leases are read from (default: the system clock). */
  clock?: Clock;
}

/** @internal The creator's options, checked, with defaults. */
export interface CheckedHierarchyOptions {
  readonly capacities: readonly number[];
  readonly maxNodes: number;
  readonly maxKeyBytes: number;
  readonly holdsPerHandle: number;
  readonly maxHandles: number;
  readonly leaseMs: number;
}

function count(name: string, value: unknown, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || (value as number) < 1 || (value as number) > max) {
    throw invalid(`option ${name} must be an integer from 1 to ${max}, got ${describe(value)}`, {
      name,
      value,
    });
  }
  return value as number;
}

/** The template's capacities, root first, checked (an object per level, no cycle, ≤ MAX_DEPTH). */
function levels(template: unknown): number[] {
  const capacities: number[] = [];
  const seen = new Set<unknown>();
  for (let t = template, depth = 0; t !== undefined; depth++) {
    if (typeof t !== 'object' || t === null) {
      throw invalid(`hierarchy template at depth ${depth} must be an object, got ${describe(t)}`, {
        depth,
      });
    }
    if (seen.has(t)) throw invalid(`hierarchy template has a cycle at depth ${depth}`, { depth });
    if (depth > MAX_DEPTH) {
      throw invalid(
        `a SharedHierarchy has at most ${MAX_DEPTH} levels below the root; the template has more`,
        { depth },
      );
    }
    seen.add(t);
    const { capacity, children } = t as SharedHierarchyTemplate;
    assertAmount(capacity, depth === 0 ? 'capacity' : `capacity at depth ${depth}`);
    capacities.push(capacity);
    t = children;
  }
  return capacities;
}

/** @internal Checks what `new SharedHierarchy` accepts. */
export function checkHierarchyOptions(
  template: unknown,
  options: SharedHierarchyOptions,
): CheckedHierarchyOptions {
  const capacities = levels(template);
  if (typeof options !== 'object' || options === null) {
    throw invalid(`options must be an object, got ${describe(options)}`, {});
  }
  checkCommonOptions(options);
  checkClock(options.clock);
  const maxNodes = count('maxNodes', options.maxNodes, 4096, 4_194_304);
  return {
    capacities,
    maxNodes,
    maxKeyBytes: count('maxKeyBytes', options.maxKeyBytes, maxNodes * 32, 2 ** 30),
    holdsPerHandle: powerOfTwo(count('maxHoldsPerHandle', options.maxHoldsPerHandle, 128, 65_536)),
    maxHandles: count('maxHandles', options.maxHandles, 64, 4096),
    leaseMs: checkLease(options.leaseMs),
  };
}

/** @internal Checks a handle's options in `open`. */
export function checkHierarchyOpenOptions(options: SharedHierarchyOpenOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw invalid(`open options must be an object, got ${describe(options)}`, {});
  }
  checkCommonOptions(options);
  checkClock(options.clock);
}

function checkClock(clock: unknown): void {
  if (clock === undefined) return;
  const c = clock as Partial<Clock> | null;
  if (typeof c?.now !== 'function' || typeof c.setTimer !== 'function') {
    throw invalidOption('clock', clock, 'a Clock (now() and setTimer())');
  }
}

/**
 * A point-in-time view of a whole {@link SharedHierarchy}, read in one step across all threads.
 *
 * @example
 * ```ts
 * import { SharedHierarchy } from '@budgetry/core';
 *
 * const root = new SharedHierarchy({ capacity: 100, children: { capacity: 10 } });
 * root.child('acme').tryReserveSync(4);
 * const { held, nodes, handles } = root.snapshot(); // 4, 2, 1
 * root.close();
 * ```
 */
export interface SharedHierarchySnapshot {
  /** The root's capacity. */
  readonly capacity: number;
  /** Units the root could grant now. */
  readonly available: number;
  /** Units held anywhere in the tree (the root's held). */
  readonly held: number;
  /** The tree's refill epoch. */
  readonly epoch: number;
  /** Nodes made so far, root included, and the limit. */
  readonly nodes: number;
  readonly maxNodes: number;
  /** Bytes of tenant keys stored so far, and the limit. */
  readonly keyBytes: number;
  readonly maxKeyBytes: number;
  /** Units the count API was asked to release beyond what a node held, tree-wide. */
  readonly overReleased: number;
  /** Permits garbage-collected while held, released by the backstop. */
  readonly leaks: number;
  /** Units given back because the handle holding them expired or its thread exited. */
  readonly reclaimed: number;
  /** Handles whose holds were given back that way. */
  readonly reclaimedHandles: number;
  /** Handles open now, across all threads. */
  readonly handles: number;
  /** Times the lock was taken over from a thread that stopped while holding it. */
  readonly lockTakeovers: number;
}
