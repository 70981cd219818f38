// A three-node Redis Cluster for one test file: private redis-server processes with cluster
// mode on, joined with `redis-cli --cluster create`, started before the file's tests and
// stopped after them.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { freePort, PrivateRedis, privateReady } from './redis.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

/** Whether a cluster can be formed here (redis-server and redis-cli); CI never skips. */
export const clusterReady: boolean = privateReady && hasRedisCli();

/**
 * Starts the cluster before the calling file's tests (registers `beforeAll` / `afterAll`;
 * call at the file's top level) and returns a getter for an ioredis `Cluster` client on it.
 */
export function fileCluster(): () => Cluster {
  const nodes: PrivateRedis[] = [];
  const dirs: string[] = [];
  let cluster: Cluster | undefined;
  beforeAll(async () => {
    if (!clusterReady) return;
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
  return () => cluster!;
}
