import type { SyncBudgetPermit } from '@budgetry/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hierarchy } from '../src/hierarchy/hierarchy.js';
import type { HierarchyNode } from '../src/hierarchy/node.js';

/*
 * A reservation checks the node and its parent, charges the rest of the path in one
 * optimistic pass (taking back what it took when a node higher up has no room), and only then
 * charges the first two. These tests drive paths of every length up to 4 below the root, with
 * capacities small enough that every level denies, handles kept across evictions and capacity
 * overrides, against a model of the path sums.
 */

const caps = [30, 28, 26, 24, 22] as const;
const template = {
  capacity: caps[0],
  children: {
    capacity: caps[1],
    children: {
      capacity: caps[2],
      children: { capacity: caps[3], children: { capacity: caps[4] } },
    },
  },
};

type Op =
  | { kind: 'reserve' | 'acquire' | 'release'; path: string[]; cost: number; kept: boolean }
  | { kind: 'settle'; index: number; commit: boolean }
  | { kind: 'override'; path: string[]; capacity: number }
  | { kind: 'evict' | 'refill' };

const pathArb = fc.array(fc.constantFrom('a', 'b'), { maxLength: 4 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constantFrom('reserve' as const, 'acquire' as const, 'release' as const),
      path: pathArb,
      cost: fc.nat(16),
      kept: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('settle' as const),
      index: fc.nat(40),
      commit: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('override' as const),
      path: fc.array(fc.constantFrom('a', 'b'), { minLength: 1, maxLength: 4 }),
      capacity: fc.nat(40),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom({ kind: 'evict' as const }, { kind: 'refill' as const }),
  },
);

/** The model: what each path holds itself, by count and by permit, and its capacity. */
class PathModel {
  readonly own = new Map<string, number>();
  readonly counted = new Map<string, number>();
  readonly capacity = new Map<string, number>();

  capOf(path: readonly string[]): number {
    return this.capacity.get(path.join('/')) ?? caps[path.length]!;
  }

  heldOf(path: readonly string[]): number {
    const prefix = path.join('/');
    let sum = 0;
    for (const [k, v] of this.own) {
      if (prefix === '' || k === prefix || k.startsWith(`${prefix}/`)) sum += v;
    }
    return sum;
  }

  fits(path: readonly string[], cost: number): boolean {
    for (let d = 0; d <= path.length; d++) {
      const prefix = path.slice(0, d);
      if (this.heldOf(prefix) + cost > this.capOf(prefix)) return false;
    }
    return true;
  }

  add(path: readonly string[], units: number): void {
    const k = path.join('/');
    this.own.set(k, (this.own.get(k) ?? 0) + units);
  }
}

/** Checks every node in memory against the model, and Σ children + own = held ≤ capacity. */
function checkTree(node: HierarchyNode, model: PathModel): void {
  const path = node.path;
  expect(node.held()).toBe(model.heldOf(path));
  expect(node.capacity).toBe(model.capOf(path));
  expect(node.held()).toBeLessThanOrEqual(node.capacity);
  let sum = 0;
  for (const kid of node.children()) {
    sum += kid.held();
    checkTree(kid, model);
  }
  expect(sum + node.ownHeld()).toBe(node.held());
}

describe('hierarchy: paths of every depth', () => {
  it('charge the whole path or none, wherever the denial is, with handles kept across evictions', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 70 }), fc.boolean(), (ops, evictOnIdle) => {
        const root = hierarchy(template, { evictOnIdle });
        const model = new PathModel();
        const handles = new Map<string, HierarchyNode>();
        const permits: { permit: SyncBudgetPermit; path: string[]; cost: number; epoch: number }[] =
          [];
        let epoch = 0;
        const nodeAt = (path: string[], kept: boolean): HierarchyNode => {
          const key = path.join('/');
          const fresh = root.at(...path);
          if (!kept) return fresh;
          const handle = handles.get(key) ?? fresh;
          handles.set(key, handle);
          return handle;
        };
        for (const op of ops) {
          if (op.kind === 'reserve' || op.kind === 'acquire') {
            const node = nodeAt(op.path, op.kept);
            const fits = model.fits(op.path, op.cost);
            if (op.kind === 'reserve') {
              expect(node.tryReserveSync(op.cost)).toBe(fits);
              const k = op.path.join('/');
              if (fits) model.counted.set(k, (model.counted.get(k) ?? 0) + op.cost);
            } else {
              const permit = node.tryAcquireSync(op.cost);
              expect(permit !== null).toBe(fits);
              if (permit !== null) permits.push({ permit, path: op.path, cost: op.cost, epoch });
            }
            if (fits) model.add(op.path, op.cost);
          } else if (op.kind === 'release') {
            const k = op.path.join('/');
            const accepted = Math.min(op.cost, model.counted.get(k) ?? 0);
            nodeAt(op.path, op.kept).releaseSync(op.cost);
            model.counted.set(k, (model.counted.get(k) ?? 0) - accepted);
            model.add(op.path, -accepted);
          } else if (op.kind === 'settle') {
            const entry = permits[op.index % Math.max(permits.length, 1)];
            if (entry !== undefined) {
              const held = entry.permit.state === 'held';
              const settled = op.commit ? entry.permit.commitSync() : entry.permit.releaseSync();
              expect(settled).toBe(held);
              if (held && !op.commit && entry.epoch === epoch) model.add(entry.path, -entry.cost);
            }
          } else if (op.kind === 'override') {
            const parent = root.at(...op.path.slice(0, -1));
            const key = op.path[op.path.length - 1]!;
            const held = model.heldOf(op.path);
            if (op.capacity < held) {
              expect(() => parent.child(key, { capacity: op.capacity })).toThrow();
            } else {
              parent.child(key, { capacity: op.capacity });
              model.capacity.set(op.path.join('/'), op.capacity);
            }
          } else if (op.kind === 'refill') {
            root.refill();
            epoch++;
            model.own.clear();
            model.counted.clear();
          } else {
            root.evictIdle();
          }
          checkTree(root, model);
        }
      }),
      { numRuns: 250 },
    );
  });

  it('deny at each level of a path of four, naming the node, and leave every node as it was', () => {
    const root = hierarchy(template);
    const leaf = root.at('a', 'a', 'a', 'a');
    const path = ['a', 'a', 'a', 'a'];
    for (let depth = 0; depth <= 4; depth++) {
      // The node at this depth holds all but 10 of its room itself; every other node on the
      // path has more than 10 left.
      const node = root.at(...path.slice(0, depth));
      const fill = node.available() - 10;
      expect(node.tryReserveSync(fill)).toBe(true);
      const before = [0, 1, 2, 3, 4].map((d) => root.at(...path.slice(0, d)).held());
      expect(leaf.tryAcquireDetailedSync(11)).toEqual({
        ok: false,
        deniedBy: path.slice(0, depth),
      });
      expect(leaf.tryReserveSync(11)).toBe(false);
      expect([0, 1, 2, 3, 4].map((d) => root.at(...path.slice(0, d)).held())).toEqual(before);
      expect(leaf.tryReserveSync(10)).toBe(true);
      leaf.releaseSync(10);
      node.releaseSync(fill);
      expect(root.held()).toBe(0);
    }
  });
});
