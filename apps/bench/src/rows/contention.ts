import { AtomicBudget } from '@budgetry/core';
import Bottleneck from 'bottleneck';
import pLimit, { type LimitFunction } from 'p-limit';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { ThroughputRow } from '../row.js';
import { PlainAsyncBudget } from './plain-reference.js';

const group = 'contention: N async callers on one budget';
const callerCounts = [1, 16, 256] as const;
/** Peers are compared at the highest count only, where their queues would show. */
const peerCallers = 256;

/**
 * Splits `iterations` ops over `callers` concurrent loops and awaits them all. In one
 * JavaScript thread nothing races on the counter itself; what N callers add is the
 * interleaving of their awaits, i.e. the microtask queue, which is what these rows measure.
 * The capacity equals N, so no caller is ever denied and every op does the same work.
 */
async function concurrently(
  iterations: number,
  callers: number,
  loop: (ops: number) => Promise<number>,
): Promise<number> {
  const base = Math.floor(iterations / callers);
  const extra = iterations % callers;
  const runs: Promise<number>[] = [];
  for (let k = 0; k < callers; k++) runs.push(loop(base + (k < extra ? 1 : 0)));
  let sum = 0;
  for (const done of await Promise.all(runs)) sum += done;
  return sum;
}

function plainRow(callers: number): ThroughputRow {
  let budget = new PlainAsyncBudget(0);
  const loop = async (ops: number): Promise<number> => {
    const b = budget;
    let granted = 0;
    for (let i = 0; i < ops; i++) {
      if (await b.tryReserve(1)) {
        granted++;
        await b.release(1);
      }
    }
    return granted;
  };
  return {
    kind: 'throughput',
    id: `plain-async-n${callers}`,
    name: `plain async class, N = ${callers}`,
    group,
    reference: 'plain-async',
    setup() {
      budget = new PlainAsyncBudget(callers);
    },
    run: (iterations) => concurrently(iterations, callers, loop),
  };
}

function budgetryRow(callers: number): ThroughputRow {
  let budget = new AtomicBudget(0);
  const loop = async (ops: number): Promise<number> => {
    const b = budget;
    let granted = 0;
    for (let i = 0; i < ops; i++) {
      if (await b.tryReserve(1)) {
        granted++;
        await b.release(1);
      }
    }
    return granted;
  };
  const against = `plain-async-n${callers}`;
  return {
    kind: 'throughput',
    id: `budgetry-async-n${callers}`,
    name: `AtomicBudget Promise API, N = ${callers}`,
    group,
    reference: against,
    target: { label: `≥ 0.8× ${against}`, against, atLeast: 0.8 },
    setup() {
      budget = new AtomicBudget(callers);
    },
    run: (iterations) => concurrently(iterations, callers, loop),
  };
}

function rateLimiterFlexibleRow(callers: number): ThroughputRow {
  let limiter = new RateLimiterMemory({ points: 1, duration: 0 });
  const loop = async (ops: number): Promise<number> => {
    const rl = limiter;
    let remaining = 0;
    for (let i = 0; i < ops; i++) {
      remaining += (await rl.consume('bench', 1)).remainingPoints;
      await rl.reward('bench', 1);
    }
    return remaining;
  };
  return {
    kind: 'throughput',
    id: `rlf-memory-n${callers}`,
    name: `rate-limiter-flexible consume + reward, N = ${callers}`,
    group,
    reference: `plain-async-n${callers}`,
    setup() {
      limiter = new RateLimiterMemory({ points: callers, duration: 0 });
    },
    run: (iterations) => concurrently(iterations, callers, loop),
  };
}

function pLimitRow(callers: number): ThroughputRow {
  let limit: LimitFunction = pLimit(1);
  const task = (): number => 1;
  const loop = async (ops: number): Promise<number> => {
    const l = limit;
    let sum = 0;
    for (let i = 0; i < ops; i++) sum += await l(task);
    return sum;
  };
  return {
    kind: 'throughput',
    id: `p-limit-n${callers}`,
    name: `p-limit limit(task), N = ${callers}`,
    group,
    reference: `plain-async-n${callers}`,
    setup() {
      limit = pLimit(callers);
    },
    run: (iterations) => concurrently(iterations, callers, loop),
  };
}

function bottleneckRow(callers: number): ThroughputRow {
  let limiter = new Bottleneck();
  const task = async (): Promise<number> => 1;
  const loop = async (ops: number): Promise<number> => {
    const b = limiter;
    let sum = 0;
    for (let i = 0; i < ops; i++) sum += await b.schedule(task);
    return sum;
  };
  return {
    kind: 'throughput',
    id: `bottleneck-n${callers}`,
    name: `bottleneck schedule(task), N = ${callers}`,
    group,
    reference: `plain-async-n${callers}`,
    setup() {
      limiter = new Bottleneck({ reservoir: 1e15, maxConcurrent: callers });
    },
    run: (iterations) => concurrently(iterations, callers, loop),
    async teardown() {
      await limiter.stop({ dropWaitingJobs: true });
    },
  };
}

/** Rows of this module, in table order: per N the plain reference, then budgetry; then peers. */
export const contentionRows: ThroughputRow[] = [
  ...callerCounts.flatMap((callers) => [plainRow(callers), budgetryRow(callers)]),
  rateLimiterFlexibleRow(peerCallers),
  pLimitRow(peerCallers),
  bottleneckRow(peerCallers),
];
