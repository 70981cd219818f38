import { type WaitingGuard, waiting } from '@budgetry/compose';
import { AtomicBudget } from '@budgetry/core';
import { Sema } from 'async-sema';
import Bottleneck from 'bottleneck';
import pLimit, { type LimitFunction } from 'p-limit';
import PQueue from 'p-queue';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { ThroughputRow } from '../row.js';
import { PlainAsyncBudget } from './plain-reference.js';

const group = 'contention: N async callers on one budget';
const callerCounts = [1, 16, 256] as const;
/** Peers are compared at the highest count only, where their queues would show. */
const peerCallers = 256;

const contendedGroup = 'contention: N callers waiting for a capacity ≪ N';
/** Capacity and callers of the contended rows: most callers wait at any moment. */
const contended = [
  { capacity: 4, callers: 256 },
  { capacity: 1, callers: 16 },
] as const;

/**
 * A counting semaphore in plain JavaScript: a count of free units and a FIFO of the
 * resolvers of callers waiting for one (an array with a moving head, compacted once mostly
 * passed). No costs, priorities, signals, timeouts or errors: the least a Promise-based wait
 * can do, and the reference for the rows where callers wait.
 *
 * @example
 * ```ts
 * const slots = new PlainSemaphore(4);
 * await slots.acquire();
 * slots.release();
 * ```
 */
export class PlainSemaphore {
  private free: number;
  private waiters: (((value: undefined) => void) | undefined)[] = [];
  private head = 0;

  constructor(capacity: number) {
    this.free = capacity;
  }

  /** Resolves once a unit is the caller's: at once when one is free (nobody waits then). */
  acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      this.waiters.push(resolve as (value: undefined) => void);
    });
  }

  /** Hands the unit to the first waiter, or frees it. */
  release(): void {
    if (this.head === this.waiters.length) {
      this.free++;
      return;
    }
    const next = this.waiters[this.head]!;
    this.waiters[this.head++] = undefined;
    if (this.head >= 1_024 && this.head * 2 > this.waiters.length) {
      this.waiters = this.waiters.slice(this.head);
      this.head = 0;
    }
    next(undefined);
  }

  /** Forgets every waiter: they are never resumed. */
  clear(): void {
    this.waiters = [];
    this.head = 0;
  }
}

/**
 * Splits `iterations` ops over `callers` concurrent loops and awaits them all. In one
 * JavaScript thread nothing races on the counter itself; what N callers add is the
 * interleaving of their awaits, i.e. the microtask queue. In the first group the capacity
 * equals N, so no caller is ever denied and every op does the same work; the contended group
 * gives a capacity ≪ N, so most callers are waiting in a queue at any moment.
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

/** A settled Promise: awaiting it is the one microtask of work each contended op does. */
const settled = Promise.resolve(1);

/** The work every contended op does while it holds its unit: one awaited microtask. */
const work = async (): Promise<number> => await settled;

/**
 * How one contended row waits for a unit: `loop(ops)` is one caller doing `ops` times "wait
 * for a unit, `await work()`, give it back" and returning the sum of what `work` returned.
 */
interface Contender {
  readonly kind: string;
  readonly name: string;
  setup(capacity: number): void;
  loop(ops: number): Promise<number>;
}

function plainContender(): Contender {
  let slots = new PlainSemaphore(0);
  return {
    kind: 'semaphore',
    name: 'hand-written semaphore of resolvers: await acquire(), release()',
    setup(capacity) {
      slots = new PlainSemaphore(capacity);
    },
    async loop(ops) {
      const s = slots;
      let sum = 0;
      for (let i = 0; i < ops; i++) {
        await s.acquire();
        sum += await work();
        s.release();
      }
      return sum;
    },
  };
}

function waitingContender(): Contender {
  let line: WaitingGuard = waiting(new AtomicBudget(0));
  return {
    kind: 'waiting',
    name: 'waiting(AtomicBudget(C)): await acquire(1), permit.releaseSync()',
    setup(capacity) {
      line = waiting(new AtomicBudget(capacity, { leakBackstop: false }));
    },
    async loop(ops) {
      const l = line;
      let sum = 0;
      for (let i = 0; i < ops; i++) {
        const permit = await l.acquire(1);
        sum += await work();
        permit.releaseSync();
      }
      return sum;
    },
  };
}

function pLimitContender(): Contender {
  let limit: LimitFunction = pLimit(1);
  return {
    kind: 'p-limit',
    name: 'p-limit(C): await limit(work)',
    setup(capacity) {
      limit = pLimit(capacity);
    },
    async loop(ops) {
      const l = limit;
      let sum = 0;
      for (let i = 0; i < ops; i++) sum += await l(work);
      return sum;
    },
  };
}

function pQueueContender(): Contender {
  let queue = new PQueue({ concurrency: 1 });
  return {
    kind: 'p-queue',
    name: 'p-queue({ concurrency: C }): await add(work)',
    setup(capacity) {
      queue = new PQueue({ concurrency: capacity });
    },
    async loop(ops) {
      const q = queue;
      let sum = 0;
      for (let i = 0; i < ops; i++) sum += await q.add(work);
      return sum;
    },
  };
}

/**
 * The loop is the hand-written semaphore's, written out again on purpose: one shared loop
 * would teach its `acquire` and `release` call sites both classes, and slow the reference.
 */
function asyncSemaContender(): Contender {
  let sema = new Sema(1);
  return {
    kind: 'async-sema',
    name: 'async-sema Sema(C): await acquire(), release()',
    setup(capacity) {
      sema = new Sema(capacity);
    },
    async loop(ops) {
      const s = sema;
      let sum = 0;
      for (let i = 0; i < ops; i++) {
        await s.acquire();
        sum += await work();
        s.release();
      }
      return sum;
    },
  };
}

/**
 * `callers` loops on one unit source of `capacity`; the ratio is against the hand-written
 * semaphore with the same capacity and callers, and budgetry's target against p-limit's row.
 */
function contendedRow(make: () => Contender, capacity: number, callers: number): ThroughputRow {
  const contender = make();
  const suffix = `c${capacity}-n${callers}`;
  const reference = `semaphore-${suffix}`;
  const pLimitId = `p-limit-${suffix}`;
  return {
    kind: 'throughput',
    id: `${contender.kind}-${suffix}`,
    name: `${contender.name}, C = ${capacity}, N = ${callers}`,
    group: contendedGroup,
    ...(contender.kind === 'semaphore' ? {} : { reference }),
    ...(contender.kind === 'waiting'
      ? { target: { label: `≥ 1× ${pLimitId}`, against: pLimitId, atLeast: 1 } }
      : {}),
    setup() {
      contender.setup(capacity);
    },
    run: (iterations) => concurrently(iterations, callers, (ops) => contender.loop(ops)),
  };
}

const contenders = [
  plainContender,
  waitingContender,
  pLimitContender,
  pQueueContender,
  asyncSemaContender,
];

/**
 * Rows of this module, in table order: per N the plain reference, then budgetry; then peers;
 * then, per capacity and caller count where callers wait, the hand-written semaphore, the
 * waiting line and the peers.
 */
export const contentionRows: ThroughputRow[] = [
  ...callerCounts.flatMap((callers) => [plainRow(callers), budgetryRow(callers)]),
  rateLimiterFlexibleRow(peerCallers),
  pLimitRow(peerCallers),
  bottleneckRow(peerCallers),
  ...contended.flatMap(({ capacity, callers }) =>
    contenders.map((make) => contendedRow(make, capacity, callers)),
  ),
];
