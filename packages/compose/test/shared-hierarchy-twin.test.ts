// compose's hierarchy and core's SharedHierarchy are twins: for every sequence of detailed
// reservations, settles, count releases and refills on a three-level tree, both give the same
// decisions (including which node denied), hold the same amounts at every node, and tell
// their listeners the same events.
import { SharedHierarchy, type SharedHierarchyEvent, type SyncBudgetPermit } from '@budgetry/core';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { type HierarchyEvent, hierarchy } from '../src/hierarchy/index.js';

const TEMPLATE = { capacity: 20, children: { capacity: 9, children: { capacity: 4 } } };
const PATHS: readonly (readonly string[])[] = [
  [],
  ['a'],
  ['b'],
  ['a', 'x'],
  ['a', 'y'],
  ['b', 'x'],
];
/** Where both trees get a listener: the root, a tenant, a leaf under it, the other tenant. */
const LISTENED = [0, 1, 3, 2];

type Op =
  | { kind: 'acquire'; path: number; cost: number }
  | { kind: 'reserve'; path: number; cost: number }
  | { kind: 'release-count'; path: number; cost: number }
  | { kind: 'settle'; which: number; used: number | 'release' }
  | { kind: 'refill' };

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('acquire' as const),
      path: fc.nat(5),
      cost: fc.nat(10),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('reserve' as const),
      path: fc.nat(5),
      cost: fc.nat(6),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('release-count' as const),
      path: fc.nat(5),
      cost: fc.nat(6),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('settle' as const),
      which: fc.nat(20),
      used: fc.oneof(fc.constant('release' as const), fc.nat(10)),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'refill' as const }) },
);

const trees: SharedHierarchy[] = [];
afterEach(() => {
  for (const t of trees.splice(0)) t.close();
});

describe('SharedHierarchy and compose’s hierarchy', () => {
  it('decide alike, say the same node denied, hold the same at every node and tell the same events', () => {
    const heard: string[] = [];
    fc.assert(
      fc.property(fc.array(opArbitrary, { maxLength: 60 }), (ops) => {
        const plain = hierarchy(TEMPLATE, { leakBackstop: false });
        const shared = new SharedHierarchy(TEMPLATE, { leakBackstop: false });
        trees.push(shared);
        const plainEvents = LISTENED.map(() => [] as HierarchyEvent[]);
        const sharedEvents = LISTENED.map(() => [] as SharedHierarchyEvent[]);
        LISTENED.forEach((i, k) => {
          plain.at(...PATHS[i]!).subscribe((e) => plainEvents[k]!.push(e));
          shared.at(...PATHS[i]!).subscribe((e) => sharedEvents[k]!.push(e));
        });
        const plainAt = (i: number) => plain.at(...PATHS[i]!);
        const sharedAt = (i: number) => shared.at(...PATHS[i]!);
        const permits: [SyncBudgetPermit, SyncBudgetPermit][] = [];
        for (const op of ops) {
          if (op.kind === 'acquire') {
            const a = plainAt(op.path).tryAcquireDetailedSync(op.cost);
            const b = sharedAt(op.path).tryAcquireDetailedSync(op.cost);
            expect(b.ok).toBe(a.ok);
            if (a.ok && b.ok) permits.push([a.permit, b.permit]);
            if (!a.ok && !b.ok) expect(b).toEqual(a); // deniedBy and exceedsCapacity
          } else if (op.kind === 'reserve') {
            expect(sharedAt(op.path).tryReserveSync(op.cost)).toBe(
              plainAt(op.path).tryReserveSync(op.cost),
            );
          } else if (op.kind === 'release-count') {
            plainAt(op.path).releaseSync(op.cost);
            sharedAt(op.path).releaseSync(op.cost);
          } else if (op.kind === 'settle') {
            const pair = permits[op.which % Math.max(1, permits.length)];
            if (pair === undefined) continue;
            const [a, b] = pair;
            if (op.used === 'release') {
              expect(b.releaseSync()).toBe(a.releaseSync());
            } else {
              const used = Math.min(op.used, a.cost);
              expect(b.commitSync(used)).toBe(a.commitSync(used));
            }
          } else {
            plain.refill();
            shared.refill();
          }
          for (let i = 0; i < PATHS.length; i++) {
            expect([sharedAt(i).held(), sharedAt(i).ownHeld()]).toEqual([
              plainAt(i).held(),
              plainAt(i).ownHeld(),
            ]);
          }
          expect(shared.overReleased()).toBe(plain.overReleased());
        }
        // Both trees' listeners, on the root, on a tenant and on a leaf, hear the same events,
        // in the same order, naming the same nodes: the reservations and denials made through
        // their node or below it, and the whole tree's settles, over-releases and refills.
        expect(sharedEvents).toStrictEqual(plainEvents);
        for (const events of plainEvents) heard.push(...events.map((e) => e.type));
      }),
      { numRuns: 150 },
    );
    // The histories made every kind of event the two trees can tell here.
    expect(new Set(heard)).toEqual(
      new Set(['reserve', 'deny', 'release', 'commit', 'over-release', 'refill']),
    );
  });

  it('names the deepest full node first, and the root as []', () => {
    const shared = new SharedHierarchy(TEMPLATE, { leakBackstop: false });
    trees.push(shared);
    const leaf = shared.at('a', 'x');
    // Above a/x's capacity of 4: waiting cannot help, and the denial says so.
    expect(leaf.tryAcquireDetailedSync(5)).toEqual({
      ok: false,
      deniedBy: ['a', 'x'],
      exceedsCapacity: true,
    });
    expect(shared.child('a').tryReserveSync(9)).toBe(true);
    expect(leaf.tryAcquireDetailedSync(1)).toEqual({ ok: false, deniedBy: ['a'] });
    expect(shared.child('b').tryReserveSync(9)).toBe(true);
    expect(shared.tryReserveSync(2)).toBe(true);
    expect(shared.at('b').tryAcquireDetailedSync(1)).toEqual({ ok: false, deniedBy: ['b'] });
    shared.child('a').releaseSync(9);
    // 10 is above a's capacity of 9, and the root (20 − 9 − 2 = 9 left) is short of it too.
    expect(shared.child('a').tryAcquireDetailedSync(10)).toEqual({
      ok: false,
      deniedBy: ['a'],
      exceedsCapacity: true,
    });
    expect(shared.tryAcquireDetailedSync(10)).toEqual({ ok: false, deniedBy: [] });
  });
});
