import type { MemoryRow } from '../row.js';
import { collect } from './memory.js';
import { type Kind, makers } from './waiting-depth.js';

const group = 'memory: heap per queued waiter';
const queued = 100_000;

/**
 * Retained heap bytes per waiter with `count` callers queued behind a taken slot: the same
 * standing population the waiting-depth rows serve (each caller an async function suspended
 * in its `await`), so what a row prints is what the collector has to trace and copy per
 * waiter at that depth — the caller's suspended frame and Promise, and the queue's own entry.
 */
export function bytesPerQueuedWaiter(kind: Kind, count: number): number {
  const population = makers[kind]();
  collect();
  const before = process.memoryUsage().heapUsed;
  // Every caller runs to its first `await` and is suspended there before start() returns.
  population.start(count + 1);
  collect();
  const after = process.memoryUsage().heapUsed;
  population.stop();
  return (after - before) / (count + 1);
}

function waiterRow(kind: Kind, name: string): MemoryRow {
  return {
    kind: 'memory',
    id: `memory-waiter-${kind}`,
    name: `${name}, ${queued.toLocaleString('en')} queued: suspended caller + queue entry`,
    group,
    count: queued + 1,
    rounds: 5,
    quickRounds: 3,
    ...(kind === 'fifo' ? {} : { reference: 'memory-waiter-fifo' }),
    measure: () => bytesPerQueuedWaiter(kind, queued),
  };
}

/**
 * The heap a queued waiter holds, in the line, in p-limit and in the minimal FIFO of Promise
 * resolvers (the reference): informational, no target. It is the measure of what the line
 * can still save at 100 000 queued — the rest belongs to the callers themselves.
 */
export const waitingMemoryRows: readonly MemoryRow[] = [
  waiterRow('fifo', 'hand-written FIFO of Promise resolvers'),
  waiterRow('waiting', 'waiting(AtomicBudget(1))'),
  waiterRow('p-limit', 'p-limit(1)'),
];
