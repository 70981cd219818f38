// What a SharedHierarchy handle tells its listeners: what compose's hierarchy nodes tell
// theirs (reservations and denials to the listeners of the node they were made through and of
// its ancestors, named by path; settles, over-releases, leaks and refills to every listener),
// for what is done through that handle only. The compose twin test compares the two on random
// histories; these state each rule on its own.
import {
  SharedHierarchy,
  type SharedHierarchyEvent,
  type SharedHierarchyNode,
  type SharedHierarchyOptions,
} from '@budgetry/core';
import { afterEach, describe, expect, it } from 'vitest';

const TEMPLATE = { capacity: 20, children: { capacity: 10, children: { capacity: 4 } } };
const open: SharedHierarchy[] = [];
afterEach(() => {
  for (const tree of open.splice(0)) tree.close();
});
function tree(options: SharedHierarchyOptions = {}): SharedHierarchy {
  const t = new SharedHierarchy(TEMPLATE, { leakBackstop: false, ...options });
  open.push(t);
  return t;
}
function listen(node: SharedHierarchyNode) {
  const events: SharedHierarchyEvent[] = [];
  const stop = node.subscribe((e) => events.push(e));
  return { events, stop };
}

describe('SharedHierarchy events', () => {
  it('tells the root every reservation and denial, naming the node it was made through', () => {
    const root = tree();
    const all = listen(root);
    root.at('acme', 'alice').tryReserveSync(3);
    root.child('bigco').tryAcquireSync(12);
    root.tryReserveSync(2);
    expect(all.events).toStrictEqual([
      { type: 'reserve', budget: undefined, cost: 3, available: 1, path: ['acme', 'alice'] },
      {
        type: 'deny',
        budget: undefined,
        cost: 12,
        available: 10,
        path: ['bigco'],
        deniedBy: ['bigco'],
      },
      { type: 'reserve', budget: undefined, cost: 2, available: 15, path: [] },
    ]);
  });

  it('tells a tenant its own and its sub-tenants’ reservations, not its siblings’ or parent’s', () => {
    const root = tree();
    const acme = listen(root.child('acme'));
    root.at('acme', 'alice').tryReserveSync(1);
    root.child('acme').tryAcquireSync(20); // denied, through acme
    root.at('bigco', 'bob').tryReserveSync(1);
    root.tryReserveSync(1);
    root.child('acme ').tryReserveSync(1); // another key, however alike
    expect(acme.events.map((e) => [e.type, e.path])).toEqual([
      ['reserve', ['acme', 'alice']],
      ['deny', ['acme']],
    ]);
  });

  it('says which node on the path denied, for count and permit reservations alike', () => {
    const root = tree();
    const all = listen(root);
    root.child('big').tryReserveSync(10);
    root.child('big2').tryReserveSync(8); // the root has 2 left
    root.at('acme', 'alice').tryReserveSync(3); // alice has room (4), the root not
    root.at('acme', 'alice').tryAcquireSync(5); // alice itself has no room
    root.child('acme').tryAcquireDetailedSync(3); // the root, one level up
    const denials = all.events.filter((e) => e.type === 'deny');
    expect(denials.map((e) => [e.path, e.deniedBy, e.type === 'deny' && e.available])).toEqual([
      [['acme', 'alice'], [], 2],
      [['acme', 'alice'], ['acme', 'alice'], 2],
      [['acme'], [], 2],
    ]);
  });

  it('tells every listener a count over-release after its release, and the refill of the tree', () => {
    const root = tree();
    const acme = root.child('acme');
    const bigco = listen(root.child('bigco')); // a sibling hears refunds: they free the root
    acme.tryReserveSync(3);
    acme.releaseSync(5);
    root.refill();
    expect(bigco.events).toStrictEqual([
      { type: 'release', budget: undefined, cost: 5, refunded: 3, available: 10, path: ['acme'] },
      {
        type: 'over-release',
        budget: undefined,
        requested: 5,
        accepted: 3,
        excess: 2,
        path: ['acme'],
      },
      { type: 'refill', budget: undefined, epoch: 1, policy: 'reset', available: 20, path: [] },
    ]);
    expect(root.overReleased()).toBe(2);
  });

  it('tells commits with what came back, and a fenced-off permit’s release with what is free now', () => {
    const root = tree();
    const all = listen(root);
    const leaf = root.at('a', 'x');
    leaf.tryAcquireSync(4)!.commitSync(1);
    const stale = leaf.tryAcquireSync(2)!;
    root.child('b').tryReserveSync(5);
    root.refill(); // b's 5 and the commit's 1 are gone with the epoch
    root.child('a').tryReserveSync(7);
    stale.releaseSync();
    expect(all.events.filter((e) => e.type === 'commit' || e.type === 'release')).toStrictEqual([
      { type: 'commit', budget: undefined, cost: 4, used: 1, refunded: 3, path: ['a', 'x'] },
      { type: 'release', budget: undefined, cost: 2, refunded: 0, available: 3, path: ['a', 'x'] },
    ]);
  });

  it('is per handle: another handle’s operations, in this thread or any, are its own listeners’', () => {
    const root = tree();
    const other = SharedHierarchy.open(root.share(), { leakBackstop: false });
    open.push(other);
    const mine = listen(root);
    const theirs = listen(other);
    root.child('z').tryAcquireSync(2)!.commitSync(1);
    other.child('z').tryAcquireSync(2)!.releaseSync();
    other.child('z').tryReserveSync(30);
    root.refill();
    expect(mine.events.map((e) => e.type)).toEqual(['reserve', 'commit', 'refill']);
    expect(theirs.events.map((e) => e.type)).toEqual(['reserve', 'release', 'deny']);
  });

  it('removes exactly one subscription per call, and a handle without any tells nothing', () => {
    const root = tree();
    const heard: string[] = [];
    const listener = (e: SharedHierarchyEvent) => heard.push(e.type);
    const first = root.subscribe(listener);
    const second = root.child('a').subscribe(listener);
    expect(() => root.subscribe(42 as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    root.tryReserveSync(1); // made through the root: only the root's subscription hears it
    first();
    first();
    root.child('a').tryReserveSync(1);
    second();
    root.child('a').tryReserveSync(1);
    root.refill();
    expect(heard).toEqual(['reserve', 'reserve']);
    expect(root.held()).toBe(0);
  });

  it('keeps a detailed denial right when a listener reserves while told of it', () => {
    const root = tree();
    const leaf = root.at('a', 'x');
    root.subscribe((e) => {
      if (e.type === 'deny' && e.path.length === 2) root.child('b').tryReserveSync(50); // denied at b
    });
    // 5 is above a/x's capacity of 4, so the denial says that too.
    expect(leaf.tryAcquireDetailedSync(5)).toEqual({
      ok: false,
      deniedBy: ['a', 'x'],
      exceedsCapacity: true,
    });
  });

  it('a listener that throws stops neither the others nor the operation', () => {
    const root = tree();
    const heard: number[] = [];
    root.subscribe(() => {
      throw new Error('listener bug');
    });
    root.subscribe((e) => heard.push(e.type === 'release' ? e.refunded : -1));
    const warned = new Promise((resolve) => process.once('warning', resolve));
    expect(root.child('a').tryReserveSync(4)).toBe(true);
    root.child('a').releaseSync(4);
    expect(heard).toEqual([-1, 4]);
    expect(root.held()).toBe(0);
    return expect(warned).resolves.toMatchObject({ name: 'BudgetryObserverWarning' });
  });
});

const gc = (globalThis as { gc?: () => void }).gc;

// Allocating in a separate function keeps no reference to the permit in the test's frame.
function leakPermit(node: SharedHierarchyNode, cost: number): void {
  node.tryAcquireSync(cost);
}

describe.skipIf(gc === undefined)('SharedHierarchy leak events', () => {
  it('tells a collected permit’s release, then its leak, naming its node', async () => {
    const root = tree({ leakBackstop: true });
    const all = listen(root);
    leakPermit(root.at('a', 'x'), 3);
    for (let attempt = 0; attempt < 50 && root.leaks() === 0; attempt++) {
      gc!();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(all.events.slice(1)).toStrictEqual([
      { type: 'release', budget: undefined, cost: 3, refunded: 3, available: 4, path: ['a', 'x'] },
      { type: 'leak', budget: undefined, amount: 3, refunded: 3, path: ['a', 'x'] },
    ]);
  });
});
