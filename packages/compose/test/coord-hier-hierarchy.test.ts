import { AtomicBudget, BudgetError, type SyncBudgetPermit } from '@budgetry/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { coordinator } from '../src/coordinator/coordinator.js';
import { hierarchy } from '../src/hierarchy/hierarchy.js';
import type { HierarchyNode } from '../src/hierarchy/node.js';
import { intervalRefill } from '../src/refill/interval-refill.js';
import { lazyRefill } from '../src/refill/lazy-refill.js';
import { TestClock } from './helpers/test-clock.js';

const MAX = Number.MAX_SAFE_INTEGER;

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (error) {
    return BudgetError.isInstance(error) ? error.code : 'not a BudgetError';
  }
  return undefined;
};

const lazyTree = (rootCapacity = 100) =>
  hierarchy(
    { capacity: rootCapacity, children: { capacity: 10, children: { capacity: 5 } } },
    { evictOnIdle: true, leakBackstop: false },
  );

/** Every node in memory below `node`, with the root counted out. */
function nodesBelow(node: HierarchyNode): number {
  let n = 0;
  for (const kid of node.children()) n += 1 + nodesBelow(kid);
  return n;
}

describe('evictOnIdle: a tenant that holds nothing is not kept in memory', () => {
  it('after a denied reservation, through the count API, a permit or the detailed call', () => {
    const root = lazyTree(0);
    for (let i = 0; i < 200; i++) {
      expect(root.child(`t${i}`).tryReserveSync(1)).toBe(false);
      expect(root.child(`p${i}`).tryAcquireSync(1)).toBeNull();
      expect(root.at(`o${i}`, 'u').tryAcquireDetailedSync(1)).toEqual({
        ok: false,
        deniedBy: [],
        exceedsCapacity: true,
      });
    }
    expect(root.size).toBe(0);
  });

  it('after a denial by the tenant itself, its org included', () => {
    const root = lazyTree();
    for (let i = 0; i < 200; i++) expect(root.at(`o${i}`, 'u').tryReserveSync(6)).toBe(false);
    expect(root.size).toBe(0);
  });

  it('after reads only', () => {
    const root = lazyTree();
    for (let i = 0; i < 200; i++) {
      const t = root.at(`o${i}`, `u${i}`);
      expect([t.available(), t.held(), t.ownHeld(), t.capacity, t.pathCapacity()]).toEqual([
        5, 0, 0, 5, 5,
      ]);
      expect([t.size, t.has('x'), [...t.children()].length, t.evictIdle()]).toEqual([
        0,
        false,
        0,
        0,
      ]);
    }
    expect(root.size).toBe(0);
  });

  it('after a zero-cost reservation or permit', () => {
    const root = lazyTree();
    for (let i = 0; i < 200; i++) {
      expect(root.child(`t${i}`).tryReserveSync(0)).toBe(true);
      const p = root.child(`p${i}`).tryAcquireSync(0);
      expect(p?.releaseSync()).toBe(true);
      expect(root.child(`c${i}`).tryAcquireSync(0)?.commitSync()).toBe(true);
      root.child(`r${i}`).releaseSync(3); // nothing held: over-released, nothing kept
    }
    expect(root.size).toBe(0);
    expect(root.overReleased()).toBe(600);
  });

  it('when a coordinator with a per-dispatch tenant is denied by another dimension', () => {
    const root = lazyTree();
    const llm = coordinator({ rows: new AtomicBudget(0) });
    for (let i = 0; i < 200; i++) {
      const d = llm.with({ tenant: root.child(`t${i}`) }).tryReserveSync({ rows: 1, tenant: 1 });
      expect(d).toEqual({ ok: false, deniedBy: 'rows', exceedsCapacity: true });
    }
    expect(root.size).toBe(0);
  });

  it('when an override is set back to its template capacity', () => {
    const root = lazyTree();
    const big = root.child('big', { capacity: 50 }); // an override is kept in memory
    expect(root.has('big')).toBe(true);
    expect(big.tryReserveSync(20)).toBe(true);
    big.releaseSync(20);
    expect(root.has('big')).toBe(true);
    root.child('big', { capacity: 10 });
    expect(root.size).toBe(0);
    expect(big.capacity).toBe(10);
    expect(big.tryReserveSync(11)).toBe(false);
  });

  it('while a handle handed out before keeps working through its twin', () => {
    const root = lazyTree();
    const early = root.at('o', 'u'); // not in memory yet
    expect(early.evicted).toBe(true);
    const other = root.at('o', 'u');
    const p = other.tryAcquireSync(4)!;
    expect([early.held(), root.child('o').held(), root.size]).toEqual([4, 4, 1]);
    expect(early.tryReserveSync(2)).toBe(false); // one tenant, one cap: no second copy
    expect(early.tryReserveSync(1)).toBe(true);
    early.releaseSync(1);
    p.releaseSync();
    expect(root.size).toBe(0);
    expect(early.tryReserveSync(5)).toBe(true);
    expect(other.held()).toBe(5);
    other.releaseSync(5);
    expect(root.size).toBe(0);
  });

  it('matches a path model whatever handles are kept, and keeps only nodes holding something', () => {
    type Op =
      | { kind: 'reserve' | 'acquire' | 'release' | 'read'; handle: number; cost: number }
      | { kind: 'settle'; index: number; commit: boolean }
      | { kind: 'handle'; path: string[] }
      | { kind: 'refill' };
    const pathArb = fc.array(fc.constantFrom('a', 'b'), { minLength: 1, maxLength: 2 });
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      fc.record({
        kind: fc.constantFrom(
          'reserve' as const,
          'acquire' as const,
          'release' as const,
          'read' as const,
        ),
        handle: fc.nat(20),
        cost: fc.nat(8),
      }),
      fc.record({ kind: fc.constant('settle' as const), index: fc.nat(20), commit: fc.boolean() }),
      fc.record({ kind: fc.constant('handle' as const), path: pathArb }),
      fc.record({ kind: fc.constant('refill' as const) }),
    );
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
        const caps = [20, 10, 5];
        const root = lazyTree(caps[0]);
        const own = new Map<string, number>();
        const count = new Map<string, number>();
        const handles: { node: HierarchyNode; path: string[] }[] = [
          { node: root.at('a', 'b'), path: ['a', 'b'] },
        ];
        const permits: { p: SyncBudgetPermit; path: string[]; cost: number; epoch: number }[] = [];
        let epoch = 0;
        const heldOf = (prefix: string) => {
          let sum = 0;
          for (const [k, v] of own) {
            if (prefix === '' || k === prefix || k.startsWith(`${prefix}/`)) sum += v;
          }
          return sum;
        };
        const add = (path: string[], d: number) => {
          const k = path.join('/');
          own.set(k, (own.get(k) ?? 0) + d);
        };
        for (const op of ops) {
          if (op.kind === 'handle') {
            handles.push({ node: root.at(...op.path), path: op.path });
            continue;
          }
          if (op.kind === 'refill') {
            root.refill();
            epoch++;
            own.clear();
            count.clear();
            continue;
          }
          if (op.kind === 'settle') {
            const e = permits[op.index % Math.max(permits.length, 1)];
            if (e === undefined) continue;
            const wasHeld = e.p.state === 'held';
            expect(op.commit ? e.p.commitSync() : e.p.releaseSync()).toBe(wasHeld);
            if (wasHeld && !op.commit && e.epoch === epoch) add(e.path, -e.cost);
            continue;
          }
          const { node, path } = handles[op.handle % handles.length]!;
          const k = path.join('/');
          if (op.kind === 'read') {
            expect(node.held()).toBe(heldOf(k));
            continue;
          }
          if (op.kind === 'release') {
            const accepted = Math.min(op.cost, count.get(k) ?? 0);
            node.releaseSync(op.cost);
            count.set(k, (count.get(k) ?? 0) - accepted);
            add(path, -accepted);
            continue;
          }
          let fits = heldOf('') + op.cost <= caps[0]!;
          for (let d = 1; d <= path.length; d++) {
            if (heldOf(path.slice(0, d).join('/')) + op.cost > caps[d]!) fits = false;
          }
          if (op.kind === 'reserve') {
            expect(node.tryReserveSync(op.cost)).toBe(fits);
            if (fits) count.set(k, (count.get(k) ?? 0) + op.cost);
          } else {
            const p = node.tryAcquireSync(op.cost);
            expect(p !== null).toBe(fits);
            if (p !== null) permits.push({ p, path, cost: op.cost, epoch });
          }
          if (fits) add(path, op.cost);
        }
        // Only nodes that hold something are in memory: one per non-empty prefix.
        const holding = new Set<string>();
        for (const [k, v] of own) {
          if (v === 0) continue;
          const parts = k.split('/');
          for (let d = 1; d <= parts.length; d++) holding.add(parts.slice(0, d).join('/'));
        }
        expect(nodesBelow(root)).toBe(holding.size);
        expect(root.held()).toBe(heldOf(''));
      }),
      { numRuns: 300 },
    );
  });
});

describe('a hierarchy root follows a refill schedule: epochs come from the clock', () => {
  it('lazyRefill(root): a tenant used directly sees the epoch the clock is in', () => {
    const clock = new TestClock(0);
    const root = hierarchy({ capacity: 10, children: { capacity: 10 } });
    lazyRefill(root, { intervalMs: 100, clock });
    expect(root.child('a').tryReserveSync(10)).toBe(true);
    clock.advance(100);
    expect(root.child('a').tryReserveSync(10)).toBe(true); // new epoch: full again
    expect(root.epoch).toBe(1);
  });

  it('applies a due refill before reads, count releases and permit settles on any node', () => {
    const clock = new TestClock(0);
    const root = hierarchy({ capacity: 100, children: { capacity: 10 } });
    lazyRefill(root, { intervalMs: 100, clock });
    const a = root.child('a');
    expect(a.tryReserveSync(4)).toBe(true);
    clock.advance(100);
    expect([a.held(), a.available(), root.held()]).toEqual([0, 10, 0]);
    const permit = a.tryAcquireSync(10)!;
    clock.advance(100);
    expect(permit.commitSync(3)).toBe(true); // settles in epoch 2: nothing of it charged there
    expect([root.epoch, a.held()]).toEqual([2, 0]);
    expect(a.tryReserveSync(6)).toBe(true);
    clock.advance(100);
    a.releaseSync(6); // the 6 belong to an epoch that is over: over-released, not returned
    expect([a.held(), root.overReleased(), root.epoch]).toEqual([0, 6, 3]);
  });

  it('with evictOnIdle, drops the tenants the due refill emptied before serving the call', () => {
    const clock = new TestClock(0);
    const root = lazyTree();
    lazyRefill(root, { intervalMs: 100, clock });
    const u = root.at('o', 'u');
    u.tryAcquireSync(5)!.commitSync();
    expect(root.size).toBe(1);
    clock.advance(100);
    expect(root.size).toBe(0);
    expect(u.tryReserveSync(5)).toBe(true);
    expect(root.held()).toBe(5);
  });

  it('refuses a second schedule, a non-function and any node but the root', () => {
    const clock = new TestClock(0);
    const root = hierarchy({ capacity: 10, children: { capacity: 10 } });
    expect(codeOf(() => root.child('a').followSchedule(() => {}))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => root.followSchedule(42 as never))).toBe('INVALID_ARGUMENT');
    using first = intervalRefill(root, { intervalMs: 100, clock });
    expect(codeOf(() => root.followSchedule(() => {}))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => lazyRefill(root, { intervalMs: 50, clock }))).toBe('INVALID_ARGUMENT');
    expect(first.epoch).toBe(0);
  });

  it('detaches once, and a rejected call never applies a due refill', () => {
    const root = hierarchy({ capacity: 10, children: { capacity: 10 } });
    let due = false;
    let refills = 0;
    const detach = root.followSchedule(() => {
      if (!due) return;
      due = false;
      refills++;
      root.refill();
    });
    const a = root.child('a');
    expect(a.tryReserveSync(10)).toBe(true);
    due = true;
    expect(codeOf(() => a.tryReserveSync(-1))).toBe('INVALID_AMOUNT');
    expect(codeOf(() => a.releaseSync(1.5))).toBe('INVALID_AMOUNT');
    expect(codeOf(() => a.tryAcquireSync(Number.NaN))).toBe('INVALID_AMOUNT');
    expect(refills).toBe(0);
    expect(a.available()).toBe(10);
    expect(refills).toBe(1);
    detach();
    detach();
    const again = root.followSchedule(() => {});
    due = true;
    expect(a.tryReserveSync(10)).toBe(true);
    expect(refills).toBe(1);
    again();
  });
});

describe('hierarchy sums stay exact safe integers', () => {
  it('over-released units saturate at MAX_SAFE_INTEGER', () => {
    const root = hierarchy({ capacity: 10, children: { capacity: 5 } });
    root.releaseSync(MAX);
    root.child('a').releaseSync(MAX);
    root.child('b').releaseSync(3);
    expect(root.overReleased()).toBe(MAX);
  });
});
