import { type HierarchyNode, hierarchy } from '@budgetry/compose';
import type { ThroughputRow } from '../row.js';

const group = 'budgetry: compose hierarchy';
const rootCapacity = 1_000_000_000;
const tenantCapacity = 1_000_000;

// Set in setup rather than a literal, so the JIT cannot fold it into the loops.
let cost = 0;
let tenant: HierarchyNode | undefined;
let deepTenant: HierarchyNode | undefined;

/*
 * The depth rows are two functions with one body on purpose: each loop keeps its own JIT
 * feedback, as a handler bound to one tree would, while both drive the same hierarchy code
 * (whose feedback they share, as two trees of different depths in one process do).
 */

/**
 * BRIEF.md's "hierarchy child → parent, sync" at depth 1: one tenant under the root, the
 * tenant's handle kept by the caller, count API. Every op charges and releases the tenant
 * and the root.
 */
export const hierarchySyncRow: ThroughputRow = {
  kind: 'throughput',
  id: 'compose-hierarchy-sync',
  name: 'hierarchy depth 1, root → tenant: tenant.tryReserveSync + releaseSync (charges the path)',
  group,
  reference: 'plain-sync',
  target: { label: '≥ 0.35× plain-sync', against: 'plain-sync', atLeast: 0.35 },
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

/**
 * The same pair at depth 3: a tenant three levels below the root (root → org → team →
 * tenant), so every op charges and releases four nodes.
 */
export const hierarchyDepth3Row: ThroughputRow = {
  kind: 'throughput',
  id: 'compose-hierarchy-depth3-sync',
  name: 'hierarchy depth 3, root → org → team → tenant: tenant.tryReserveSync + releaseSync',
  group,
  reference: 'plain-sync',
  target: { label: '≥ 0.2× plain-sync', against: 'plain-sync', atLeast: 0.2 },
  setup() {
    cost = 1;
    deepTenant = hierarchy({
      capacity: rootCapacity,
      children: {
        capacity: rootCapacity / 10,
        children: { capacity: rootCapacity / 100, children: { capacity: tenantCapacity } },
      },
    }).at('acme', 'search', 'alice');
  },
  run(iterations) {
    const node = deepTenant!;
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
  name: 'hierarchy depth 1, root → tenant: tryAcquireSync + permit.releaseSync() (leak backstop on, default)',
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
export const composeHierarchyRows: ThroughputRow[] = [
  hierarchySyncRow,
  hierarchyDepth3Row,
  hierarchyPermitRow,
];
