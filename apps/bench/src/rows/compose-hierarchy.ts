import { type HierarchyNode, hierarchy } from '@budgetry/compose';
import type { ThroughputRow } from '../row.js';

const group = 'budgetry: compose hierarchy';
const rootCapacity = 1_000_000_000;
const tenantCapacity = 1_000_000;

// Set in setup rather than a literal, so the JIT cannot fold it into the loops.
let cost = 0;
let tenant: HierarchyNode | undefined;

/**
 * BRIEF.md's "hierarchy child → parent, sync": one tenant under a root, the tenant's handle
 * kept by the caller, count API. Every op charges and releases the tenant and the root.
 */
export const hierarchySyncRow: ThroughputRow = {
  kind: 'throughput',
  id: 'compose-hierarchy-sync',
  name: 'hierarchy root → tenant: tenant.tryReserveSync + releaseSync (charges the path)',
  group,
  reference: 'plain-sync',
  target: { label: '≥ 0.3× plain-sync', against: 'plain-sync', atLeast: 0.3 },
  setup() {
    cost = 1;
    tenant = hierarchy({ capacity: rootCapacity, children: { capacity: tenantCapacity } }).child(
      'acme',
    );
  },
  run(iterations) {
    const node = tenant!;
    let granted = 0;
    for (let i = 0; i < iterations; i++) {
      if (node.tryReserveSync(cost)) granted++;
      node.releaseSync(cost);
    }
    return granted + node.available();
  },
};

let permitTenant: HierarchyNode | undefined;

/** The same pair through a permit, with the leak backstop on (the default). */
export const hierarchyPermitRow: ThroughputRow = {
  kind: 'throughput',
  id: 'compose-hierarchy-permit',
  name: 'hierarchy root → tenant: tryAcquireSync + permit.releaseSync() (leak backstop on, default)',
  group,
  reference: 'plain-sync',
  setup() {
    cost = 1;
    permitTenant = hierarchy({
      capacity: rootCapacity,
      children: { capacity: tenantCapacity },
    }).child('acme');
  },
  run(iterations) {
    const node = permitTenant!;
    let settled = 0;
    for (let i = 0; i < iterations; i++) {
      const permit = node.tryAcquireSync(cost);
      if (permit?.releaseSync()) settled++;
    }
    return settled + node.available();
  },
};

/** Rows of this module, in table order. */
export const composeHierarchyRows: ThroughputRow[] = [hierarchySyncRow, hierarchyPermitRow];
