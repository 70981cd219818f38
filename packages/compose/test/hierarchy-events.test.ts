// What hierarchy nodes report to subscribers: reservations and denials to the listeners of
// the node they were made through and of its ancestors, named by path; refunds, over-releases
// and refills to the whole tree.
import { describe, expect, it } from 'vitest';
import { type HierarchyEvent, hierarchy } from '../src/hierarchy/index.js';

const template = { capacity: 20, children: { capacity: 10, children: { capacity: 4 } } };

function listen(node: { subscribe(l: (e: HierarchyEvent) => void): () => void }) {
  const events: HierarchyEvent[] = [];
  const stop = node.subscribe((e) => events.push(e));
  return { events, stop };
}

describe('hierarchy events', () => {
  it('tells the root every reservation and denial, naming the node it was made through', () => {
    const root = hierarchy(template);
    const all = listen(root);
    root.at('acme', 'alice').tryReserveSync(3);
    root.child('bigco').tryAcquireSync(12);
    root.tryReserveSync(2);
    expect(all.events).toEqual([
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

  it('tells a tenant its own and its sub-tenants’ reservations, not its siblings’ or parents’', () => {
    const root = hierarchy(template);
    const acme = listen(root.child('acme'));
    root.at('acme', 'alice').tryReserveSync(1);
    root.child('acme').tryReserveSync(2);
    root.at('bigco', 'bob').tryReserveSync(1);
    root.tryReserveSync(1);
    root.child('acme ').tryReserveSync(1); // another key, however alike
    expect(acme.events.map((e) => [e.type, e.path])).toEqual([
      ['reserve', ['acme', 'alice']],
      ['reserve', ['acme']],
    ]);
  });

  it('says which node on the path denied, for count and permit reservations alike', () => {
    const root = hierarchy(template);
    const all = listen(root);
    root.child('big').tryReserveSync(10); // root: 10 left
    root.child('big2').tryReserveSync(8); // root: 2 left
    root.at('acme', 'alice').tryReserveSync(3); // alice has room (4), the root not
    root.at('acme', 'alice').tryAcquireSync(5); // alice itself has no room
    const denials = all.events.filter((e) => e.type === 'deny');
    expect(denials.map((e) => [e.path, e.deniedBy])).toEqual([
      [['acme', 'alice'], []],
      [
        ['acme', 'alice'],
        ['acme', 'alice'],
      ],
    ]);
  });

  it('tells the whole tree a count over-release after its release, as core budgets do', () => {
    const root = hierarchy(template);
    const acme = root.child('acme');
    const bigco = listen(root.child('bigco')); // a sibling hears refunds: they free the root
    acme.tryReserveSync(3);
    acme.releaseSync(5);
    expect(bigco.events).toEqual([
      { type: 'release', budget: undefined, cost: 5, refunded: 3, available: 10, path: ['acme'] },
      {
        type: 'over-release',
        budget: undefined,
        requested: 5,
        accepted: 3,
        excess: 2,
        path: ['acme'],
      },
    ]);
    expect(root.overReleased()).toBe(2);
  });

  it('reports an over-release on a handle nothing in memory stands for', () => {
    const root = hierarchy(template, { evictOnIdle: true });
    const all = listen(root);
    root.child('ghost').releaseSync(2);
    expect(all.events.map((e) => e.type)).toEqual(['release', 'over-release']);
    expect(root.overReleased()).toBe(2);
  });

  it('reports reservations and denials through handles not in memory (evictOnIdle)', () => {
    const root = hierarchy(template, { evictOnIdle: true });
    const all = listen(root);
    const alice = root.at('acme', 'alice');
    alice.tryReserveSync(5); // over alice's 4
    alice.tryReserveSync(4);
    const permit = root.at('acme', 'bob').tryAcquireSync(4);
    expect(all.events.map((e) => [e.type, e.path, e.deniedBy])).toEqual([
      ['deny', ['acme', 'alice'], ['acme', 'alice']],
      ['reserve', ['acme', 'alice'], undefined],
      ['reserve', ['acme', 'bob'], undefined],
    ]);
    permit?.releaseSync();
    expect(all.events.at(-1)).toMatchObject({ type: 'release', path: ['acme', 'bob'] });
  });

  it('stops telling a listener once unsubscribed, and leaves the tree without listeners', () => {
    const root = hierarchy(template);
    const tenant = listen(root.child('acme'));
    tenant.stop();
    root.child('acme').tryReserveSync(1);
    expect(tenant.events).toEqual([]);
    expect(root.level.tree.listeners).toBeUndefined();
  });
});
