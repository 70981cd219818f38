import { AtomicBudget } from '@budgetry/core';
import type { MemoryRow } from '../row.js';
import { sink } from '../sink.js';
import { PlainBudget } from './plain-reference.js';

const group = 'memory: heap per idle budget';

/** Whether `global.gc` exists; memory rows cannot run without it. */
export function hasGc(): boolean {
  return typeof (globalThis as { gc?: unknown }).gc === 'function';
}

/** Two full collections; throws without `global.gc`. */
export function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) {
    throw new Error('memory rows need global.gc: run node with --expose-gc (pnpm bench does)');
  }
  // Twice: the first pass may only finalize objects that the second one frees.
  gc();
  gc();
}

/**
 * Retained heap bytes per object made by `make`. The holder array is filled with small
 * integers before the first reading, so its slots are not billed to the objects: what is
 * left is the cost of the objects themselves, as a user holding budgets in a map or array
 * would pay on top of the container they already have.
 */
export function bytesPerObject(count: number, make: () => object): number {
  const holder: unknown[] = Array.from({ length: count }, () => 0);
  collect();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < count; i++) holder[i] = make();
  collect();
  const after = process.memoryUsage().heapUsed;
  // Reading the holder after the second reading keeps every object alive until then.
  sink(holder.length);
  return (after - before) / count;
}

const perTenant = 200;

function budgetRow(
  count: number,
  label: string,
  rounds: { rounds: number; quickRounds: number },
): MemoryRow {
  return {
    ...rounds,
    kind: 'memory',
    id: `memory-budget-${label}`,
    name: `AtomicBudget, ${label} idle budgets`,
    group,
    count,
    reference: 'memory-plain',
    // BRIEF.md's bound is for 1 M idle tenants; smaller counts carry fixed costs it ignores.
    ...(count === 1_000_000 && {
      target: { label: `≤ ${perTenant} B per idle tenant`, atMost: perTenant },
    }),
    measure: () => bytesPerObject(count, () => new AtomicBudget(1_000)),
  };
}

/** What the same two fields cost in a plain class: the floor for an in-process budget. */
export const plainMemoryRow: MemoryRow = {
  kind: 'memory',
  id: 'memory-plain',
  name: 'plain JS class, 100 k objects',
  group,
  count: 100_000,
  measure: () => bytesPerObject(100_000, () => new PlainBudget(1_000)),
};

/** Rows of this module, in table order. The 1 M row runs once in `--quick` mode (plus a discarded warm-up). */
export const memoryRows: MemoryRow[] = [
  plainMemoryRow,
  // At 1 k, heap noise of ±100 kB is ±100 B per budget: more rounds for a stable median.
  budgetRow(1_000, '1 k', { rounds: 15, quickRounds: 9 }),
  budgetRow(100_000, '100 k', { rounds: 5, quickRounds: 3 }),
  budgetRow(1_000_000, '1 M', { rounds: 3, quickRounds: 1 }),
];
