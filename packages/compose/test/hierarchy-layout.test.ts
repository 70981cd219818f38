import type { BudgetEvent } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { hierarchy } from '../src/hierarchy/hierarchy.js';
import type { HierarchyNode } from '../src/hierarchy/node.js';
import { EVICTED } from '../src/hierarchy/types.js';

/*
 * What a node keeps in memory (see ResidentNode and Frame): five own fields, the same five in
 * the same order on every node, and a frame shared by every node of a level that has no
 * children and its template's capacity. These tests read the internals on purpose: an idle
 * tenant's size and the hot path's single shape depend on them, and no behaviour shows them.
 */

/** The counters the hot path uses, which the class keeps protected. */
const counters = (node: HierarchyNode) => node as unknown as { room: number; countHeld: number };

const tree = (evictOnIdle = false) =>
  hierarchy(
    { capacity: 100, children: { capacity: 40, children: { capacity: 10 } } },
    { evictOnIdle },
  );

describe('hierarchy nodes: one shape, five fields', () => {
  it('every node, root, tenant, overridden or not in memory, has the same own fields in one order', () => {
    const root = tree();
    const lazy = tree(true);
    const nodes = [
      root,
      root.child('org'),
      root.at('org', 'user'),
      root.child('big', { capacity: 90 }),
      lazy.at('org', 'user'), // a handle not in memory
    ];
    root.child('gone');
    root.evictIdle(); // 'gone' and 'org/user' leave memory; the handles stay
    for (const node of nodes) {
      expect(Object.keys(node)).toEqual(['parent', 'key', 'room', 'countHeld', 'frame']);
    }
  });

  it('keeps capacity minus what is held in room, and EVICTED in room and countHeld out of memory', () => {
    const root = tree();
    const user = root.at('org', 'user');
    expect(user.tryReserveSync(3)).toBe(true);
    expect(user.tryAcquireSync(2)).not.toBeNull();
    expect([counters(user).room, counters(user).countHeld]).toEqual([5, 3]);
    expect(counters(root.child('org')).room).toBe(35);
    const idle = root.child('idle');
    root.evictIdle();
    expect([counters(idle).room, counters(idle).countHeld]).toEqual([EVICTED, EVICTED]);
    expect(idle.evicted).toBe(true);
  });
});

describe('hierarchy nodes: frames', () => {
  it('tenants at their template capacity with no children share their level’s frame', () => {
    const root = tree();
    const [a, b] = [root.at('org', 'a'), root.at('org', 'b')];
    expect(a.frame).toBe(b.frame);
    expect(a.frame).toBe(a.level.frame);
    expect(a.frame.shared).toBe(true);
    expect(root.child('org').frame.shared).toBe(false); // it has children
    expect(root.child('org').frame.kids?.size).toBe(2);
  });

  it('a node gets its own frame for an override, and gives it back at its template capacity', () => {
    const root = tree();
    const org = root.child('solo', { capacity: 30 });
    expect(org.frame.shared).toBe(false);
    expect(org.frame.capacity).toBe(30);
    expect(org.tryReserveSync(25)).toBe(true);
    root.child('solo', { capacity: 40 });
    expect(org.frame).toBe(org.level.frame);
    expect([org.capacity, org.available()]).toEqual([40, 15]);
  });

  it('a node gives its frame back when its children leave memory, and an evicted handle holds none', () => {
    const root = tree();
    const org = root.child('org');
    const user = org.child('user');
    const big = org.child('big', { capacity: 20 });
    expect(org.frame.shared).toBe(false);
    root.child('org', { capacity: 40 }); // at its template capacity, still with children
    expect(org.frame.shared).toBe(false);
    root.child('org').child('big', { capacity: 10 }); // big is idle again
    expect(root.evictIdle()).toBe(3); // user, big, then org
    for (const node of [org, user, big]) expect(node.frame).toBe(node.level.frame);
    const lazy = tree(true);
    const kept = lazy.at('org', 'user');
    expect(kept.tryReserveSync(4)).toBe(true);
    const lazyOrg = lazy.child('org');
    expect(lazyOrg.frame.shared).toBe(false);
    kept.releaseSync(4); // user leaves memory, then org
    expect([kept.evicted, lazyOrg.evicted]).toEqual([true, true]);
    expect(lazyOrg.frame).toBe(lazyOrg.level.frame);
  });

  it('never writes a shared frame', () => {
    const root = tree();
    const shared = root.at('org', 'user').level.frame;
    root.child('org').child('big', { capacity: 7 });
    root.at('org', 'user').tryReserveSync(10);
    root.child('org').child('user', { capacity: 12 });
    expect([shared.capacity, shared.kids]).toEqual([10, undefined]);
    expect(root.child('org').level.frame.kids).toBeUndefined();
  });
});

describe('hierarchy nodes: eviction and handles not in memory', () => {
  it('under evictOnIdle, a node whose children hold nothing but stay (overrides) is not dropped', () => {
    const root = tree(true);
    const org = root.child('org');
    org.child('vip', { capacity: 5 }); // in memory for its override, holding nothing
    expect(org.tryReserveSync(0)).toBe(true); // a zero cost leaves org idle but for its child
    expect(org.tryAcquireSync(3)?.releaseSync()).toBe(true);
    expect(root.has('org')).toBe(true);
    expect(root.child('org').has('vip')).toBe(true);
    expect(root.child('org').child('vip').capacity).toBe(5);
  });

  it('a zero count release on a handle that nothing in memory stands for tells no listener', () => {
    const root = tree();
    const events: BudgetEvent[] = [];
    const stop = root.subscribe((event) => events.push(event));
    const gone = root.child('gone');
    root.evictIdle();
    gone.releaseSync(0); // no node in memory: nothing came back
    expect(events).toEqual([]);
    const again = root.child('gone'); // a twin in memory now stands for the handle
    gone.releaseSync(0);
    expect(events.map((e) => e.type)).toEqual(['release']);
    expect([root.overReleased(), again.held(), gone.held()]).toEqual([0, 0, 0]);
    stop();
  });
});
