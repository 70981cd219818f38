// RedisAllOf on a three-node Redis Cluster, started for this file and stopped after it: members
// whose keys share one slot (names found to hash alike) run as one all-of through
// ioredis.Cluster, on whichever node serves that slot; a member in another slot is refused
// when the all-of is built. The cluster is set up as cluster.test.ts sets up its own.
import { BudgetError } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { budgetKeys, RedisBudget, RedisTokenBudget } from '../src/index.js';
import { RedisAllOf } from '../src/redis-all-of.js';
import { clusterReady, fileCluster } from './helpers/cluster.js';
import { slotOf } from './helpers/keyspace.js';
import { uniquePrefix } from './helpers/redis.js';

const ready = clusterReady;
const clusterOf = fileCluster();

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
    const rows = new RedisBudget(10, { redis: clusterOf(), name: 'rows', keyPrefix });
    const tokens = new RedisTokenBudget(20, { redis: clusterOf(), name: tokensName, keyPrefix });
    const slots = await Promise.all(
      [rows, tokens].map(async (b) =>
        Number(await clusterOf().call('CLUSTER', 'KEYSLOT', budgetKeys(keyPrefix, b.name).state)),
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
    const apart = new RedisBudget(10, { redis: clusterOf(), name: 'elsewhere', keyPrefix });
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
    const rpm = new RedisBudget(5, { redis: clusterOf(), name: 'rpm', keyPrefix, slot });
    const tpm = new RedisTokenBudget(100, { redis: clusterOf(), name: 'tpm', keyPrefix, slot });
    const gate = new RedisAllOf({ rpm, tpm });
    const permit = (await gate.tryAcquire(5))!;
    expect(await gate.tryAcquireDetailed(1)).toEqual({ ok: false, deniedBy: 'rpm' });
    expect(await permit.commitEach({ rpm: 1, tpm: 40 })).toBe(true);
    const s = await gate.snapshot();
    expect([s.rpm.available, s.tpm.available]).toEqual([4, 60]);
    await Promise.all([rpm.destroy(), tpm.destroy()]);
  }, 30_000);
});
