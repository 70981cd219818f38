import { type HierarchyNode, hierarchy } from '@budgetry/compose';
import type { ThroughputRow } from '../row.js';
import { PlainBudget } from './plain-reference.js';

const group = 'budgetry: compose hierarchy, 1 k vs 1 M tenants';
const rootCapacity = 1_000_000_000;
const tenantCapacity = 1_000_000;
/** Tenants that receive traffic in the working-set rows. */
const activeTenants = 1_000;
const small = 1_000;
const large = 1_000_000;

/** Tenant ids as a caller would have them: short flat strings (`t-0` … `t-999999`). */
export function tenantKey(i: number): string {
  return `t-${i}`;
}

/**
 * One population of tenants, as a hierarchy and as its plain counterpart: a `Map` of the same
 * keys to plain budgets, under one plain budget for the whole population (the root's part).
 */
interface Tenants {
  readonly keys: readonly string[];
  readonly root: HierarchyNode;
  readonly map: Map<string, PlainBudget>;
  readonly global: PlainBudget;
}

function buildTenants(count: number): Tenants {
  const keys: string[] = [];
  for (let i = 0; i < count; i++) keys.push(tenantKey(i));
  const root = hierarchy({ capacity: rootCapacity, children: { capacity: tenantCapacity } });
  for (const key of keys) root.child(key);
  const map = new Map<string, PlainBudget>();
  for (const key of keys) map.set(key, new PlainBudget(tenantCapacity));
  return { keys, root, map, global: new PlainBudget(rootCapacity) };
}

// Built once per process, on first use, and shared by every row below; dropped in teardown
// so the memory rows that run after the throughput rows start from a smaller heap.
let smallTenants: Tenants | undefined;
let largeTenants: Tenants | undefined;
const tenantsOf = (count: number): Tenants =>
  count === large ? (largeTenants ??= buildTenants(large)) : (smallTenants ??= buildTenants(small));

/** The keys a row draws from: all of them, or `activeTenants` spread evenly over them. */
type Draw = 'all' | 'working-set';

function keysFor(tenants: Tenants, draw: Draw): readonly string[] {
  if (draw === 'all') return tenants.keys;
  const stride = tenants.keys.length / activeTenants;
  return Array.from({ length: activeTenants }, (_, i) => tenants.keys[i * stride]!);
}

// Set in setup rather than a literal, so the JIT cannot fold it into the loops.
let cost = 0;

/*
 * Every row draws a uniformly random key from its list with an inline xorshift32 and does
 * one reserve + release on that tenant, looking it up by key as a request handler would. The
 * hierarchy rows share one loop and the Map rows another (closures from one site share the
 * JIT's feedback), so the only difference between 1 k and 1 M is the data.
 *
 * The Map rows do the hierarchy's work by hand, with plain budgets: look the tenant up, check
 * the tenant's room and the global room, charge both (taking the tenant's charge back if the
 * global budget denies), then release both. No input validation, as in every plain reference.
 */

/** Reserves `units` on a tenant and on the global budget above it, or on neither. */
function reservePlain(tenant: PlainBudget, global: PlainBudget, units: number): boolean {
  if (!tenant.tryReserve(units)) return false;
  if (global.tryReserve(units)) return true;
  tenant.release(units);
  return false;
}

function hierarchyRow(
  count: number,
  draw: Draw,
  fields: Pick<ThroughputRow, 'id' | 'name' | 'reference' | 'target'>,
): ThroughputRow {
  let root: HierarchyNode | undefined;
  let keys: readonly string[] = [];
  let seed = 0x2545f491;
  return {
    kind: 'throughput',
    group,
    ...fields,
    setup() {
      cost = 1;
      const tenants = tenantsOf(count);
      root = tenants.root;
      keys = keysFor(tenants, draw);
    },
    run(iterations) {
      const r = root!;
      const ks = keys;
      const scale = ks.length / 4_294_967_296;
      let x = seed;
      let granted = 0;
      for (let i = 0; i < iterations; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        const node = r.child(ks[((x >>> 0) * scale) | 0]!);
        if (node.tryReserveSync(cost)) granted++;
        node.releaseSync(cost);
      }
      seed = x;
      return granted + r.available();
    },
    teardown() {
      root = undefined;
      keys = [];
      smallTenants = undefined;
      largeTenants = undefined;
    },
  };
}

/**
 * Like {@link hierarchyRow}, but on tenant nodes the caller already holds (resolved once per
 * request, as a handler does before several budget operations): the budget operation alone,
 * without the `Map` lookup of the key. It is a separate function on purpose: folding both
 * loops into one `run` made them share JIT feedback and slowed the held rows by a third.
 */
function handleRow(
  count: number,
  fields: Pick<ThroughputRow, 'id' | 'name' | 'reference' | 'target'>,
): ThroughputRow {
  let root: HierarchyNode | undefined;
  let nodes: HierarchyNode[] = [];
  let seed = 0x2545f491;
  return {
    kind: 'throughput',
    group,
    ...fields,
    setup() {
      cost = 1;
      const tenants = tenantsOf(count);
      root = tenants.root;
      nodes = keysFor(tenants, 'working-set').map((key) => tenants.root.child(key));
    },
    run(iterations) {
      const ns = nodes;
      const scale = ns.length / 4_294_967_296;
      let x = seed;
      let granted = 0;
      for (let i = 0; i < iterations; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        const node = ns[((x >>> 0) * scale) | 0]!;
        if (node.tryReserveSync(cost)) granted++;
        node.releaseSync(cost);
      }
      seed = x;
      return granted + root!.available();
    },
    teardown() {
      root = undefined;
      nodes = [];
      smallTenants = undefined;
      largeTenants = undefined;
    },
  };
}

function mapRow(
  count: number,
  draw: Draw,
  fields: Pick<ThroughputRow, 'id' | 'name' | 'reference'>,
): ThroughputRow {
  let map: Map<string, PlainBudget> | undefined;
  let global: PlainBudget | undefined;
  let keys: readonly string[] = [];
  let seed = 0x2545f491;
  return {
    kind: 'throughput',
    group,
    ...fields,
    setup() {
      cost = 1;
      const tenants = tenantsOf(count);
      map = tenants.map;
      global = tenants.global;
      keys = keysFor(tenants, draw);
    },
    run(iterations) {
      const m = map!;
      const g = global!;
      const ks = keys;
      const scale = ks.length / 4_294_967_296;
      let x = seed;
      let granted = 0;
      for (let i = 0; i < iterations; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        const budget = m.get(ks[((x >>> 0) * scale) | 0]!)!;
        if (reservePlain(budget, g, cost)) {
          granted++;
          budget.release(cost);
          g.release(cost);
        }
      }
      seed = x;
      return granted + g.available();
    },
    teardown() {
      map = undefined;
      global = undefined;
      keys = [];
      smallTenants = undefined;
      largeTenants = undefined;
    },
  };
}

/** Rows of this module, in table order. */
export const composeTenantRows: ThroughputRow[] = [
  mapRow(small, 'all', {
    id: 'map-1k',
    name: 'plain Map of 1 k plain budgets under a global one: get(random key) + reserve + release',
    reference: 'plain-sync',
  }),
  hierarchyRow(small, 'all', {
    id: 'compose-hierarchy-1k',
    name: 'hierarchy, 1 k tenants: child(random key).tryReserveSync + releaseSync',
    reference: 'map-1k',
  }),
  mapRow(large, 'working-set', {
    id: 'map-1m',
    name: 'plain Map of 1 M plain budgets under a global one, 1 k active: get(random active key) + reserve + release',
    reference: 'map-1k',
  }),
  hierarchyRow(large, 'working-set', {
    id: 'compose-hierarchy-1m',
    name: 'hierarchy, 1 M tenants, 1 k of them active: child(random active key) + reserve + release',
    reference: 'compose-hierarchy-1k',
  }),
  handleRow(small, {
    id: 'compose-hierarchy-1k-held',
    name: 'hierarchy, 1 k tenants, nodes held by the caller: reserve + release on a random one',
    reference: 'plain-sync',
  }),
  handleRow(large, {
    id: 'compose-hierarchy-1m-held',
    name: 'hierarchy, 1 M tenants, 1 k active nodes held by the caller: reserve + release',
    reference: 'compose-hierarchy-1k-held',
    target: {
      label: 'per-op ≤ 1.5× the 1 k row (≥ 0.67× compose-hierarchy-1k-held)',
      against: 'compose-hierarchy-1k-held',
      atLeast: 1 / 1.5,
    },
  }),
  mapRow(large, 'all', {
    id: 'map-1m-random',
    name: 'plain Map of 1 M plain budgets under a global one: get(random key of all 1 M) + reserve + release',
    reference: 'map-1k',
  }),
  hierarchyRow(large, 'all', {
    id: 'compose-hierarchy-1m-random',
    name: 'hierarchy, 1 M tenants: child(random key of all 1 M) + reserve + release',
    reference: 'map-1m-random',
    target: { label: '≥ 0.5× map-1m-random', against: 'map-1m-random', atLeast: 0.5 },
  }),
];
