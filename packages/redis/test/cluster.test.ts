// A three-node Redis Cluster, started for this file and stopped after it: every key of a tree
// is in one slot by the cluster's own CLUSTER KEYSLOT, and hierarchies (and a budget) run
// through ioredis.Cluster — trees spread over the nodes, each script sent where its slot lives.
import { describe, expect, it } from 'vitest';
import { hierarchyKeys, RedisBudget, RedisHierarchy } from '../src/index.js';
import { clusterReady, fileCluster } from './helpers/cluster.js';
import { hostile, slotOf } from './helpers/keyspace.js';
import { uniquePrefix } from './helpers/redis.js';

const TEMPLATE = { capacity: 30, children: { capacity: 12, children: { capacity: 5 } } };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ready = clusterReady;
const clusterOf = fileCluster();

/** The master that serves `slot`, as the cluster says. */
async function ownerOf(slot: number): Promise<number> {
  const ranges = await clusterOf().cluster('SLOTS');
  return ranges.find(([from, to]) => slot >= from && slot <= to)![2]![1];
}

describe.skipIf(!ready)('on a three-node Redis Cluster', () => {
  it('puts every key of a tree in one slot, by the cluster’s own CLUSTER KEYSLOT', async () => {
    const prefix = uniquePrefix('slots');
    for (const name of ['tenants', ...hostile]) {
      const keys = Object.values(hierarchyKeys(prefix, name));
      const slots = await Promise.all(
        keys.map(async (k) => Number(await clusterOf().call('CLUSTER', 'KEYSLOT', k))),
      );
      expect(new Set(slots).size, name).toBe(1);
      expect(slots[0]).toBe(slotOf(keys[0]!));
    }
  });

  it('runs three-level hierarchies on every node, never admitting past capacity', async () => {
    const keyPrefix = uniquePrefix('cluster');
    const names = Array.from({ length: 8 }, (_, i) => `tree-${i}`);
    const owners = new Set(
      await Promise.all(names.map((n) => ownerOf(slotOf(hierarchyKeys(keyPrefix, n).state)))),
    );
    expect(owners.size).toBeGreaterThanOrEqual(2); // the trees are spread over the nodes
    let reloads = 0;
    for (const name of names) {
      const tree = new RedisHierarchy(TEMPLATE, { redis: clusterOf(), name, keyPrefix });
      const permit = (await tree.at('acme', 'a{l}:ice').tryAcquire(5))!;
      expect(await permit.commit(2)).toBe(true);
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          tree.at(i % 2 ? 'acme' : 'b c\n', `u${i % 4}`).tryReserve(1 + (i % 3)),
        ),
      );
      const granted = results.filter(Boolean).length;
      expect(granted).toBeGreaterThan(0);
      expect(results.some((r) => !r)).toBe(true);
      const [root, acme] = await Promise.all([tree.snapshot(), tree.child('acme').snapshot()]);
      expect(root.held).toBeLessThanOrEqual(30);
      expect(acme.held).toBeLessThanOrEqual(12);
      expect(acme.held).toBeGreaterThanOrEqual(2);
      await tree.refill();
      expect(await tree.snapshot()).toMatchObject({ held: 0, available: 30, epoch: 1 });
      reloads += root.scriptReloads;
    }
    // Each node's script cache started empty: NOSCRIPT there, answered by sending the text.
    expect(reloads).toBeGreaterThanOrEqual(owners.size);
  }, 30_000);

  it('gives an expired lease back to its path on the cluster, and a budget works there too', async () => {
    const keyPrefix = uniquePrefix('cluster-leases');
    const tree = new RedisHierarchy(TEMPLATE, { redis: clusterOf(), name: 'leases', keyPrefix });
    await tree.at('acme', 'x').tryAcquire(4, { leaseMs: 100 });
    await sleep(150);
    expect(await tree.reclaimExpired()).toMatchObject({ leases: 1, refunded: 4 });
    expect(await tree.child('acme').held()).toBe(0);
    const budget = new RedisBudget(10, { redis: clusterOf(), name: 'rows', keyPrefix });
    const permit = (await budget.tryAcquire(6))!;
    await permit.commit(2);
    expect(await budget.available()).toBe(8);
    await Promise.all([tree.destroy(), budget.destroy()]);
    expect(await tree.held()).toBe(0);
  });
});
