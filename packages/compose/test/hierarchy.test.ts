import { BudgetError, type SyncBudgetPermit } from '@budgetry/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allOf } from '../src/all-of/all-of.js';
import { hierarchy } from '../src/hierarchy/hierarchy.js';
import type { HierarchyNode } from '../src/hierarchy/node.js';
import { intervalRefill } from '../src/refill/interval-refill.js';
import { TestClock } from './helpers/test-clock.js';

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (error) {
    return BudgetError.isInstance(error) ? error.code : 'not a BudgetError';
  }
  return undefined;
};

const tree = () =>
  hierarchy({ capacity: 100, children: { capacity: 40, children: { capacity: 25 } } });

/** Checks Σ children held + own held = held ≤ capacity at every node in memory. */
function checkInvariant(node: HierarchyNode): void {
  const kids = [...node.children()];
  const sum = kids.reduce((a, k) => a + k.held(), 0);
  expect(node.ownHeld()).toBeGreaterThanOrEqual(0);
  expect(sum + node.ownHeld()).toBe(node.held());
  expect(node.held()).toBeLessThanOrEqual(node.capacity);
  for (const k of kids) checkInvariant(k);
}

describe('hierarchy: behaviour', () => {
  it('charges the whole path to the root and releases it', () => {
    const root = tree();
    const user = root.at('a', 'x');
    expect(user.tryReserveSync(20)).toBe(true);
    expect([user.held(), root.child('a').held(), root.held()]).toEqual([20, 20, 20]);
    expect(root.child('a').ownHeld()).toBe(0);
    user.releaseSync(20);
    expect([user.held(), root.child('a').held(), root.held()]).toEqual([0, 0, 0]);
  });

  it('rolls back the whole path when an ancestor denies, and says which', () => {
    const root = tree();
    expect(root.at('a', 'x').tryReserveSync(25)).toBe(true);
    const y = root.at('a', 'y');
    const decision = y.tryAcquireDetailedSync(20); // y has room, org a (40) does not
    expect(decision).toEqual({ ok: false, deniedBy: ['a'] });
    expect([y.held(), root.child('a').held(), root.held()]).toEqual([0, 25, 25]);
    // Above x's capacity (25): no release could admit it, and the denial says so.
    expect(root.at('b', 'x').tryAcquireDetailedSync(26)).toEqual({
      ok: false,
      deniedBy: ['b', 'x'],
      exceedsCapacity: true,
    });
    expect(root.held()).toBe(25);
  });

  it('lets children oversubscribe their parent while the parent still holds', () => {
    const root = hierarchy({ capacity: 100, children: { capacity: 60 } });
    expect(root.child('a').tryReserveSync(60)).toBe(true);
    expect(root.child('b').tryReserveSync(60)).toBe(false);
    expect(root.child('b').available()).toBe(40);
    expect(root.child('b').tryReserveSync(40)).toBe(true);
    expect(root.available()).toBe(0);
  });

  it('counts the parent’s own reservations with its children’s', () => {
    const root = tree();
    const org = root.child('a');
    expect(org.tryReserveSync(10)).toBe(true);
    expect(org.child('x').tryReserveSync(25)).toBe(true);
    expect(org.child('y').tryReserveSync(10)).toBe(false);
    expect(org.ownHeld()).toBe(10);
    expect(org.held()).toBe(35);
    checkInvariant(root);
  });

  it('applies per-child capacity overrides', () => {
    const root = hierarchy({ capacity: 1_000, children: { capacity: 10 } });
    const big = root.child('big', { capacity: 500 });
    expect(big.capacity).toBe(500);
    expect(big.tryReserveSync(400)).toBe(true);
    expect(root.child('small').tryReserveSync(11)).toBe(false);
  });

  it('refuses to lower a child capacity below what the child holds, changing nothing', () => {
    const root = hierarchy({ capacity: 1_000, children: { capacity: 10 } });
    const acme = root.child('acme');
    expect(acme.tryReserveSync(8)).toBe(true);
    expect(() => root.child('acme', { capacity: 5 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect([acme.capacity, acme.held(), acme.available()]).toEqual([10, 8, 2]);
    expect(root.child('acme', { capacity: 8 }).available()).toBe(0); // down to what it holds: fine
  });

  it('releases permits exactly once, and a committed permit stays spent', () => {
    const root = tree();
    const user = root.at('a', 'x');
    const p = user.tryAcquireSync(5)!;
    const q = user.tryAcquireSync(5)!;
    expect(p.releaseSync()).toBe(true);
    expect(p.releaseSync()).toBe(false);
    expect(q.commitSync()).toBe(true);
    expect(q.releaseSync()).toBe(false);
    expect(root.held()).toBe(5);
  });

  it('evicts idle children without losing an outstanding reservation', () => {
    const root = hierarchy({ capacity: 1_000, children: { capacity: 10 } });
    for (let i = 0; i < 100; i++) root.child(`t${i}`).tryReserveSync(1);
    for (let i = 1; i < 100; i++) root.child(`t${i}`).releaseSync(1);
    root.child('custom', { capacity: 3 });
    expect(root.size).toBe(101);
    expect(root.evictIdle()).toBe(99);
    expect(root.size).toBe(2); // t0 still holds 1; custom keeps its override
    expect(root.held()).toBe(1);
    expect(root.child('t0').held()).toBe(1);
  });

  it('keeps a handle usable after its node was evicted, through its live twin', () => {
    const root = hierarchy({ capacity: 10, children: { capacity: 5 } });
    const stale = root.child('a');
    root.evictIdle();
    expect(stale.evicted).toBe(true);
    expect(stale.tryReserveSync(5)).toBe(true);
    const fresh = root.child('a');
    expect(fresh.held()).toBe(5);
    expect(fresh.tryReserveSync(1)).toBe(false); // one tenant, one cap: no second copy
    stale.releaseSync(5);
    expect(root.held()).toBe(0);
  });

  it('drops children as soon as they are idle with evictOnIdle', () => {
    const root = hierarchy(
      { capacity: 100, children: { capacity: 10, children: { capacity: 5 } } },
      { evictOnIdle: true },
    );
    const p = root.at('org', 'user').tryAcquireSync(3)!;
    expect(root.has('org')).toBe(true);
    p.releaseSync();
    expect(root.has('org')).toBe(false);
    expect(root.size).toBe(0);
  });

  it('treats tenant ids as data: any string is a distinct key', () => {
    const root = hierarchy({ capacity: 100, children: { capacity: 5 } });
    const ids = ['{a}', 'a:b', 'a b', 'a\nb', '', '__proto__', 'constructor'];
    for (const id of ids) expect(root.child(id).tryReserveSync(5)).toBe(true);
    expect(root.held()).toBe(35);
    for (const id of ids) expect(root.child(id).tryReserveSync(1)).toBe(false);
  });

  it('is a SyncBudgetGuard: a tenant node can be an all-of member', () => {
    const root = hierarchy({ capacity: 100, children: { capacity: 10 } });
    const tenant = root.child('acme');
    const both = allOf({ tenant, other: root.child('other') });
    expect(both.tryReserveSync(10)).toBe(true);
    expect(both.tryReserveSync(1)).toBe(false);
    expect(root.held()).toBe(20);
  });
});

describe('hierarchy: bad input', () => {
  it('rejects malformed templates, cycles and options at construction', () => {
    const cyclic: { capacity: number; children?: unknown } = { capacity: 1 };
    cyclic.children = cyclic;
    expect(codeOf(() => hierarchy(cyclic as never))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => hierarchy(null as never))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => hierarchy({ capacity: -1 }))).toBe('INVALID_AMOUNT');
    expect(codeOf(() => hierarchy({ capacity: 1, children: { capacity: 0.5 } }))).toBe(
      'INVALID_AMOUNT',
    );
    expect(codeOf(() => hierarchy({ capacity: 1, children: 3 as never }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => hierarchy({ capacity: 1 }, { evictOnIdle: 'yes' as never }))).toBe(
      'INVALID_ARGUMENT',
    );
  });

  it('rejects a tenant key that is not a string and a child below a leaf', () => {
    const root = hierarchy({ capacity: 10, children: { capacity: 5 } });
    for (const key of [1, null, undefined, {}, Symbol('k')]) {
      expect(codeOf(() => root.child(key as never))).toBe('INVALID_ARGUMENT');
    }
    expect(codeOf(() => root.child('a').child('b'))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => root.child('a', { capacity: -2 }))).toBe('INVALID_AMOUNT');
    expect(root.size).toBe(1);
  });

  it('rejects invalid costs with nothing changed', () => {
    const root = tree();
    const user = root.at('a', 'x');
    for (const bad of [-1, 1.5, Number.NaN, '2', 2n]) {
      expect(codeOf(() => user.tryReserveSync(bad as number))).toBe('INVALID_AMOUNT');
      expect(codeOf(() => user.tryAcquireSync(bad as number))).toBe('INVALID_AMOUNT');
      expect(codeOf(() => user.releaseSync(bad as number))).toBe('INVALID_AMOUNT');
    }
    expect(root.held()).toBe(0);
  });
});

type Op =
  | { kind: 'reserve' | 'acquire'; path: string[]; cost: number }
  | { kind: 'release'; path: string[]; cost: number }
  | { kind: 'settle'; index: number; commit: boolean }
  | { kind: 'evict' }
  | { kind: 'refill' };

const keyArb = fc.constantFrom('a', 'b', 'c');
const pathArb = fc.array(keyArb, { maxLength: 2 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constantFrom('reserve' as const, 'acquire' as const),
    path: pathArb,
    cost: fc.nat(30),
  }),
  fc.record({ kind: fc.constant('release' as const), path: pathArb, cost: fc.nat(30) }),
  fc.record({ kind: fc.constant('settle' as const), index: fc.nat(30), commit: fc.boolean() }),
  fc.record({ kind: fc.constant('evict' as const) }),
  fc.record({ kind: fc.constant('refill' as const) }),
);

describe('hierarchy: properties', () => {
  it('matches a path model: charges the whole path or nothing; Σ invariant at every node', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 80 }), fc.boolean(), (ops, evictOnIdle) => {
        const caps = [100, 40, 25];
        const root = hierarchy(
          {
            capacity: caps[0]!,
            children: { capacity: caps[1]!, children: { capacity: caps[2]! } },
          },
          { evictOnIdle },
        );
        // Model: own held (count and permit) per path.
        const own = new Map<string, number>();
        const count = new Map<string, number>();
        const permits: { p: SyncBudgetPermit; path: string[]; cost: number; epoch: number }[] = [];
        let epoch = 0;
        const heldOf = (path: string[]) => {
          const prefix = path.join('/');
          let sum = 0;
          for (const [k, v] of own)
            if (k === prefix || prefix === '' || k.startsWith(`${prefix}/`)) sum += v;
          return sum;
        };
        const add = (path: string[], d: number) => {
          const k = path.join('/');
          own.set(k, (own.get(k) ?? 0) + d);
        };
        for (const op of ops) {
          const node = root.at(...('path' in op ? op.path : []));
          if (op.kind === 'reserve' || op.kind === 'acquire') {
            let fits = true;
            for (let d = 0; d <= op.path.length; d++) {
              if (heldOf(op.path.slice(0, d)) + op.cost > caps[d]!) fits = false;
            }
            if (op.kind === 'reserve') {
              expect(node.tryReserveSync(op.cost)).toBe(fits);
              if (fits) {
                const k = op.path.join('/');
                count.set(k, (count.get(k) ?? 0) + op.cost);
              }
            } else {
              const p = node.tryAcquireSync(op.cost);
              expect(p !== null).toBe(fits);
              if (p) permits.push({ p, path: op.path, cost: op.cost, epoch });
            }
            if (fits) add(op.path, op.cost);
          } else if (op.kind === 'release') {
            const k = op.path.join('/');
            const accepted = Math.min(op.cost, count.get(k) ?? 0);
            node.releaseSync(op.cost);
            count.set(k, (count.get(k) ?? 0) - accepted);
            add(op.path, -accepted);
          } else if (op.kind === 'settle') {
            const entry = permits[op.index % Math.max(permits.length, 1)];
            if (entry) {
              const wasHeld = entry.p.state === 'held';
              expect(op.commit ? entry.p.commitSync() : entry.p.releaseSync()).toBe(wasHeld);
              // A permit from before a refill gives nothing back.
              if (wasHeld && !op.commit && entry.epoch === epoch) add(entry.path, -entry.cost);
            }
          } else if (op.kind === 'refill') {
            root.refill();
            epoch++;
            own.clear();
            count.clear();
          } else {
            root.evictIdle();
          }
          expect(root.held()).toBe(heldOf([]));
          expect(root.held()).toBeLessThanOrEqual(caps[0]!);
          checkInvariant(root);
          for (const a of ['a', 'b', 'c']) {
            if (root.has(a)) expect(root.child(a).held()).toBe(heldOf([a]));
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('hierarchy: refill', () => {
  it('starts every node empty, fences older permits, and returns committed units', () => {
    const root = hierarchy({ capacity: 100, children: { capacity: 10 } });
    const acme = root.child('acme');
    const old = acme.tryAcquireSync(6)!;
    acme.tryAcquireSync(4)!.commitSync();
    acme.tryReserveSync(0);
    expect(acme.tryReserveSync(1)).toBe(false);
    root.refill();
    expect([acme.held(), root.held(), root.epoch]).toEqual([0, 0, 1]);
    expect(acme.tryReserveSync(10)).toBe(true);
    expect(old.releaseSync()).toBe(true); // settles the handle ...
    expect(acme.held()).toBe(10); // ... but gives nothing to the new epoch
    acme.releaseSync(10);
    expect(root.held()).toBe(0);
  });

  it('refills only from the root, and follows an interval schedule', () => {
    const root = hierarchy({ capacity: 100, children: { capacity: 10 } });
    expect(() => root.child('a').refill()).toThrow(BudgetError);
    const clock = new TestClock();
    using daily = intervalRefill(root, { intervalMs: 86_400_000, clock });
    root.child('a').tryAcquireSync(10)?.commitSync();
    expect(root.child('a').available()).toBe(0);
    clock.advance(86_400_000); // the timer refills even though only a child is used
    expect(root.child('a').available()).toBe(10);
    expect(daily.epoch).toBe(1);
  });
});

describe('hierarchy: leak backstop', () => {
  it('releases a permit that was garbage-collected while held, and counts it', async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    expect(gc).toBeDefined(); // the test project runs with --expose-gc
    if (gc === undefined) return;
    const root = hierarchy({ capacity: 10, children: { capacity: 5 } });
    (() => {
      root.child('a').tryAcquireSync(4);
    })();
    for (let i = 0; i < 10 && root.held() !== 0; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(root.held()).toBe(0);
    expect(root.leaks()).toBe(1);
  });
});

describe('hierarchy: over-release on the count API', () => {
  it('is clamped to what the node holds and counted tree-wide', () => {
    const root = hierarchy({ capacity: 100, children: { capacity: 10 } });
    const a = root.child('a');
    const b = root.child('b');
    expect(a.tryReserveSync(4)).toBe(true);
    expect(b.tryReserveSync(3)).toBe(true);
    a.releaseSync(4);
    a.releaseSync(4); // nothing left on a: ignored, b keeps its 3
    expect([a.held(), b.held(), root.held()]).toEqual([0, 3, 3]);
    expect(root.overReleased()).toBe(4);
    expect(b.overReleased()).toBe(4);
  });
});

describe('hierarchy: sums at the edge of the safe-integer range', () => {
  it('children oversubscribing a root at MAX_SAFE_INTEGER admit exactly what fits', () => {
    const MAX = Number.MAX_SAFE_INTEGER;
    const root = hierarchy({ capacity: MAX, children: { capacity: MAX } });
    const [a, b] = [root.child('a'), root.child('b')];
    expect(a.tryReserveSync(MAX - 1)).toBe(true);
    expect(b.tryReserveSync(2)).toBe(false); // MAX − 1 + 2 is not a safe integer: still refused
    expect(b.tryAcquireSync(MAX)).toBeNull();
    expect(b.tryReserveSync(1)).toBe(true);
    expect([root.held(), root.available(), a.available(), b.available()]).toEqual([MAX, 0, 0, 0]);
    expect(root.ownHeld()).toBe(0);
    a.releaseSync(MAX - 1);
    expect([root.held(), b.available(), b.held()]).toEqual([1, MAX - 1, 1]);
  });
});
