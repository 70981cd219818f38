// RedisAllOf on a three-node Redis Cluster, started for this file and stopped after it: members
// whose keys share one slot (names found to hash alike) run as one all-of through
// ioredis.Cluster, on whichever node serves that slot; a member in another slot is refused
// when the all-of is built. The cluster is set up as cluster.test.ts sets up its own.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BudgetError } from '@budgetry/core';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { budgetKeys, RedisBudget, RedisTokenBudget } from '../src/index.js';
import { RedisAllOf } from '../src/redis-all-of.js';
import { slotOf } from './helpers/keyspace.js';
import { freePort, PrivateRedis, privateReady, uniquePrefix } from './helpers/redis.js';

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

/** A name whose keys land in the same slot as those of `name`. */
function sameSlotAs(name: string, stem: string): string {
  const target = slotOf(budgetKeys('p', name).state);
  for (let i = 0; ; i++) {
    if (slotOf(budgetKeys('p', `${stem}-${i}`).state) === target) return `${stem}-${i}`;
  }
}

describe.skipIf(!ready)('RedisAllOf on a three-node Redis Cluster', () => {
  it('runs an all-of over members of one slot, and refuses a member of another', async () => {
    const keyPrefix = uniquePrefix('all-of');
    const tokensName = sameSlotAs('rows', 'tokens');
    const rows = new RedisBudget(10, { redis: cluster!, name: 'rows', keyPrefix });
    const tokens = new RedisTokenBudget(20, { redis: cluster!, name: tokensName, keyPrefix });
    const slots = await Promise.all(
      [rows, tokens].map(async (b) =>
        Number(await cluster!.call('CLUSTER', 'KEYSLOT', budgetKeys(keyPrefix, b.name).state)),
      ),
    );
    expect(slots[0]).toBe(slots[1]);
    const gate = new RedisAllOf({ rows, tokens });
    const permit = (await gate.tryAcquire(6))!;
    expect(await permit.commitEach({ rows: 2, tokens: 9 })).toBe(true);
    expect(await gate.tryAcquireDetailed(9)).toEqual({ ok: false, deniedBy: 'rows' });
    const results = await Promise.all(Array.from({ length: 20 }, () => gate.tryReserve(1)));
    expect(results.filter(Boolean).length).toBe(8); // rows has 8 left, tokens 11
    const s = await gate.snapshot();
    expect([s.rows.available, s.tokens.available, s.tokens.held]).toEqual([0, 3, 8]);
    const apart = new RedisBudget(10, { redis: cluster!, name: 'elsewhere', keyPrefix });
    expect(slotOf(budgetKeys(keyPrefix, 'elsewhere').state)).not.toBe(slots[0]);
    let error: unknown;
    try {
      new RedisAllOf({ rows, apart });
    } catch (e) {
      error = e;
    }
    expect(BudgetError.isInstance(error) && error.code).toBe('INVALID_ARGUMENT');
    expect((error as Error).message).toMatch(/member "apart" .* is in Cluster slot/);
    await Promise.all([rows.destroy(), tokens.destroy()]);
  }, 30_000);

  it('runs an all-of over budgets given the same slot option, whatever their names', async () => {
    const keyPrefix = uniquePrefix('all-of-slot');
    const slot = 'tenant:{acme}';
    const rpm = new RedisBudget(5, { redis: cluster!, name: 'rpm', keyPrefix, slot });
    const tpm = new RedisTokenBudget(100, { redis: cluster!, name: 'tpm', keyPrefix, slot });
    const gate = new RedisAllOf({ rpm, tpm });
    const permit = (await gate.tryAcquire(5))!;
    expect(await gate.tryAcquireDetailed(1)).toEqual({ ok: false, deniedBy: 'rpm' });
    expect(await permit.commitEach({ rpm: 1, tpm: 40 })).toBe(true);
    const s = await gate.snapshot();
    expect([s.rpm.available, s.tpm.available]).toEqual([4, 60]);
    await Promise.all([rpm.destroy(), tpm.destroy()]);
  }, 30_000);
});
