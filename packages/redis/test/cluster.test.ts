// A three-node Redis Cluster, started for this file and stopped after it: every key of a tree
// is in one slot by the cluster's own CLUSTER KEYSLOT, and hierarchies (and a budget) run
// through ioredis.Cluster — trees spread over the nodes, each script sent where its slot lives.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hierarchyKeys, RedisBudget, RedisHierarchy } from '../src/index.js';
import { hostile, slotOf } from './helpers/keyspace.js';
import { freePort, PrivateRedis, privateReady, uniquePrefix } from './helpers/redis.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TEMPLATE = { capacity: 30, children: { capacity: 12, children: { capacity: 5 } } };

function hasRedisCli(): boolean {
  try {
    execFileSync('redis-cli', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    if (process.env['CI'] === 'true') {
      throw new Error('redis-cli is needed to form a cluster: apt-get install redis-tools');
    }
    return false;
  }
}

const ready = privateReady && hasRedisCli();
const nodes: PrivateRedis[] = [];
const dirs: string[] = [];
let cluster: Cluster | undefined;

beforeAll(async () => {
  if (!ready) return;
  for (let i = 0; i < 3; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'budgetry-cluster-'));
    dirs.push(dir);
    // The bus port is chosen too: the default, port + 10 000, may be above 65 535.
    const bus = String(await freePort());
    const args = ['--cluster-enabled', 'yes', '--cluster-port', bus, '--dir', dir];
    nodes.push(await PrivateRedis.start(undefined, args));
  }
  const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
  await run('redis-cli', [
    '--cluster',
    'create',
    ...addresses,
    '--cluster-replicas',
    '0',
    '--cluster-yes',
  ]);
  for (const n of nodes) {
    for (let i = 0; ; i++) {
      const { stdout } = await run('redis-cli', ['-p', String(n.port), 'cluster', 'info']);
      if (stdout.includes('cluster_state:ok')) break;
      if (i > 100) throw new Error(`cluster node ${n.port} did not reach cluster_state:ok`);
      await sleep(50);
    }
  }
  cluster = new Cluster([{ host: '127.0.0.1', port: nodes[0]!.port }]);
  cluster.on('error', () => {});
}, 30_000);

afterAll(async () => {
  cluster?.disconnect();
  for (const n of nodes) await n.kill();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** The master that serves `slot`, as the cluster says. */
async function ownerOf(slot: number): Promise<number> {
  const ranges = await cluster!.cluster('SLOTS');
  return ranges.find(([from, to]) => slot >= from && slot <= to)![2]![1];
}

describe.skipIf(!ready)('on a three-node Redis Cluster', () => {
  it('puts every key of a tree in one slot, by the cluster’s own CLUSTER KEYSLOT', async () => {
    const prefix = uniquePrefix('slots');
    for (const name of ['tenants', ...hostile]) {
      const keys = Object.values(hierarchyKeys(prefix, name));
      const slots = await Promise.all(
        keys.map(async (k) => Number(await cluster!.call('CLUSTER', 'KEYSLOT', k))),
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
      const tree = new RedisHierarchy(TEMPLATE, { redis: cluster!, name, keyPrefix });
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
    const tree = new RedisHierarchy(TEMPLATE, { redis: cluster!, name: 'leases', keyPrefix });
    await tree.at('acme', 'x').tryAcquire(4, { leaseMs: 100 });
    await sleep(150);
    expect(await tree.reclaimExpired()).toMatchObject({ leases: 1, refunded: 4 });
    expect(await tree.child('acme').held()).toBe(0);
    const budget = new RedisBudget(10, { redis: cluster!, name: 'rows', keyPrefix });
    const permit = (await budget.tryAcquire(6))!;
    await permit.commit(2);
    expect(await budget.available()).toBe(8);
    await Promise.all([tree.destroy(), budget.destroy()]);
    expect(await tree.held()).toBe(0);
  });
});
