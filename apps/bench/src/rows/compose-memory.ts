import { hierarchy } from '@budgetry/compose';
import type { MemoryRow } from '../row.js';
import { sink } from '../sink.js';
import { tenantKey } from './compose-tenants.js';
import { collect } from './memory.js';

const group = 'memory: heap per idle tenant in a hierarchy';
const perTenant = 100;

// Set at run time rather than a literal, so nothing about the touch is folded away.
let cost = 1;

/*
 * A hierarchy keeps every child it created until `evictIdle()` (or `evictOnIdle: true`)
 * drops it; by default nothing is evicted. These rows create each tenant with `child(key)`
 * and touch it once (reserve + release one unit), as a tenant that has served a request and
 * gone quiet, then measure the heap the whole tree retains: node, Map entry and, in the
 * "with keys" rows, the key string (`t-0` … `t-999999`, at most 8 characters).
 */

/**
 * Heap bytes per idle tenant in a hierarchy of `count` tenants.
 *
 * @param count - tenants to create.
 * @param countKeys - whether the key strings are made between the two readings (billed to
 * the tenants) or before the first (a caller's own copy of its ids, not billed).
 * @returns retained bytes per tenant.
 */
export function bytesPerIdleTenant(count: number, countKeys: boolean): number {
  cost = 1;
  const root = hierarchy({ capacity: 1_000_000_000, children: { capacity: 1_000_000 } });
  const ownKeys: string[] = [];
  if (!countKeys) for (let i = 0; i < count; i++) ownKeys.push(tenantKey(i));
  collect();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < count; i++) {
    const tenant = root.child(countKeys ? tenantKey(i) : ownKeys[i]!);
    if (tenant.tryReserveSync(cost)) tenant.releaseSync(cost);
  }
  collect();
  const after = process.memoryUsage().heapUsed;
  // Read after the second reading, so the tree and the caller's keys stay alive until then.
  sink(root.size + ownKeys.length);
  return (after - before) / count;
}

function tenantRow(
  count: number,
  label: string,
  countKeys: boolean,
  rounds: { rounds: number; quickRounds: number },
): MemoryRow {
  return {
    ...rounds,
    kind: 'memory',
    id: `memory-hierarchy-${label.replace(' ', '')}${countKeys ? '' : '-no-keys'}`,
    name: `hierarchy, ${label} idle tenants, ${countKeys ? 'node + Map entry + key string' : 'node + Map entry (keys not counted)'}`,
    group,
    count,
    reference: 'memory-plain',
    // BRIEF.md's bound is for 1 M idle tenants. It is checked on what the tree adds per tenant
    // (node and Map entry), not on the key string: the Map holds the caller's own id string,
    // it copies nothing (see the README's Memory section).
    ...(count === 1_000_000 &&
      !countKeys && {
        target: { label: `≤ ${perTenant} B per idle tenant`, atMost: perTenant },
      }),
    measure: () => bytesPerIdleTenant(count, countKeys),
  };
}

/** Rows of this module, in table order. The 1 M rows run once in `--quick` mode. */
export const composeMemoryRows: MemoryRow[] = [
  // At 1 k, heap noise of ±100 kB is ±100 B per tenant: more rounds for a stable median.
  tenantRow(1_000, '1 k', true, { rounds: 15, quickRounds: 9 }),
  tenantRow(100_000, '100 k', true, { rounds: 5, quickRounds: 3 }),
  tenantRow(1_000_000, '1 M', true, { rounds: 3, quickRounds: 1 }),
  tenantRow(1_000_000, '1 M', false, { rounds: 3, quickRounds: 1 }),
];
