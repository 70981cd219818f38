import { type WaitingGuard, waiting } from '@budgetry/compose';
import { AtomicBudget, type SyncBudgetPermit } from '@budgetry/core';
import pLimit, { type LimitFunction } from 'p-limit';
import type { Target, ThroughputRow } from '../row.js';
import { PlainSemaphore } from './contention.js';

const group = 'waiting line: waiters served per second, at a queue depth';
/** Waiters queued behind the caller holding the one slot. */
const depths = [1, 1_000, 10_000, 100_000] as const;

/**
 * A standing population of callers behind a capacity of one, each looping "wait for the
 * slot, take it, give it back". With `depth + 1` callers, one holds the slot and `depth` wait
 * behind it: when the holder gives the slot back, the head of the line is served and the
 * holder joins the back, so the line stays `depth` long and every op goes through it — one
 * op is one waiter served: join, wait, be served, leave. `run(n)` lets exactly `n` callers
 * through; between runs the last one served keeps the slot, so the line stands still while
 * the harness is not measuring.
 */
export interface Population {
  /** Starts `callers` callers; they queue behind the slot, which starts taken. */
  start(callers: number): void;
  /** Lets `n` callers through and resolves when they have been served. */
  serve(n: number): Promise<number>;
  stop(): void;
}

/** Coordinates "serve n, then hold the slot until the next run" for every queue. */
class Turns {
  served = 0;
  private goal = 0;
  private done: (() => void) | undefined;
  private reopen: (() => void) | undefined;

  /** Called by the caller that was just served: `true` when it must hold the slot. */
  arrived(): boolean {
    this.served++;
    if (this.served < this.goal || this.done === undefined) return false;
    const done = this.done;
    this.done = undefined;
    done();
    return true;
  }

  /** A Promise the holding caller awaits before giving the slot back. */
  held(): Promise<void> {
    return new Promise((resolve) => {
      this.reopen = resolve;
    });
  }

  next(n: number): Promise<number> {
    this.goal = this.served + n;
    const finished = new Promise<number>((resolve) => {
      this.done = () => resolve(n);
    });
    const reopen = this.reopen;
    this.reopen = undefined;
    reopen?.();
    return finished;
  }
}

/** `waiting(AtomicBudget(1))`: `await acquire(1)`, then `permit.releaseSync()`. */
function budgetryPopulation(): Population {
  let line: WaitingGuard | undefined;
  let stopped = false;
  let gate: SyncBudgetPermit | null = null;
  const turns = new Turns();
  const caller = async (): Promise<void> => {
    while (!stopped) {
      let permit: SyncBudgetPermit;
      try {
        permit = await line!.acquire(1);
      } catch {
        return; // closed at teardown
      }
      if (turns.arrived()) await turns.held();
      permit.releaseSync();
    }
  };
  return {
    start(callers) {
      line = waiting(new AtomicBudget(1, { leakBackstop: false }));
      gate = line.tryAcquireSync(1); // the slot starts taken: everyone queues
      for (let i = 0; i < callers; i++) void caller();
    },
    serve(n) {
      const finished = turns.next(n);
      if (gate !== null) {
        const g = gate;
        gate = null;
        g.releaseSync();
      }
      return finished;
    },
    stop() {
      stopped = true;
      line?.close();
    },
  };
}

/** `pLimit(1)`: `await limit(task)`, the task holding the slot while it runs. */
function pLimitPopulation(): Population {
  let limit: LimitFunction = pLimit(1);
  let stopped = false;
  let opened: (() => void) | undefined;
  const turns = new Turns();
  const task = async (): Promise<void> => {
    if (turns.arrived()) await turns.held();
  };
  const caller = async (): Promise<void> => {
    while (!stopped) await limit(task);
  };
  return {
    start(callers) {
      limit = pLimit(1);
      // The slot starts taken, like the budgetry population's.
      void limit(() => new Promise<void>((resolve) => (opened = resolve)));
      for (let i = 0; i < callers; i++) void caller();
    },
    serve(n) {
      const finished = turns.next(n);
      const o = opened;
      opened = undefined;
      o?.();
      return finished;
    },
    stop() {
      stopped = true;
      limit.clearQueue();
      turns.next(0);
    },
  };
}

/** The minimal FIFO of Promise resolvers ({@link PlainSemaphore} of one): the sanity bound. */
function fifoPopulation(): Population {
  let fifo = new PlainSemaphore(1);
  let stopped = false;
  let gated = false;
  const turns = new Turns();
  const caller = async (): Promise<void> => {
    while (!stopped) {
      await fifo.acquire();
      if (turns.arrived()) await turns.held();
      fifo.release();
    }
  };
  return {
    start(callers) {
      fifo = new PlainSemaphore(1);
      void fifo.acquire(); // the slot starts taken
      gated = true;
      for (let i = 0; i < callers; i++) void caller();
    },
    serve(n) {
      const finished = turns.next(n);
      if (gated) {
        gated = false;
        fifo.release();
      }
      return finished;
    },
    stop() {
      stopped = true;
      fifo.clear(); // the waiters are dropped, never resumed
    },
  };
}

/** The queues the rows compare. */
export type Kind = 'waiting' | 'p-limit' | 'fifo';

/** A fresh, not yet started population of each kind. */
export const makers: Record<Kind, () => Population> = {
  waiting: budgetryPopulation,
  'p-limit': pLimitPopulation,
  fifo: fifoPopulation,
};

/**
 * What each row's ratio column divides by, and its targets (BRIEF.md section 5: the line is
 * linear — 100 000 queued within 1.5× of 1 queued, i.e. at least 1 ÷ 1.5 of its waiters per
 * second — and at least p-limit's rate at every depth). The depths between show their ratio
 * to 1 queued without a target of their own.
 */
function comparisons(kind: Kind, depth: number): Pick<ThroughputRow, 'reference' | 'target'> {
  if (kind === 'fifo') return depth === 1 ? {} : { reference: 'fifo-depth-1' };
  if (kind === 'p-limit') return { reference: `waiting-depth-${depth}` };
  const pLimitTarget: Target = {
    label: `≥ 1× p-limit-depth-${depth}`,
    against: `p-limit-depth-${depth}`,
    atLeast: 1,
  };
  if (depth === 1) return { reference: 'fifo-depth-1', target: pLimitTarget };
  if (depth !== 100_000) return { reference: 'waiting-depth-1', target: pLimitTarget };
  return {
    reference: 'waiting-depth-1',
    target: [
      { label: '≥ 0.67× waiting-depth-1', against: 'waiting-depth-1', atLeast: 0.67 },
      pLimitTarget,
    ],
  };
}

const names: Record<Kind, string> = {
  waiting: 'waiting(AtomicBudget(1)): serve a waiter',
  'p-limit': 'p-limit(1): serve a caller',
  fifo: 'hand-written FIFO of Promise resolvers: serve a waiter',
};

/**
 * The child process a row is measured in: one per depth, the minimal FIFO apart from the
 * line and p-limit above depth 1. A standing population of 100 000 callers fills the heap
 * with objects that outlive the young generation, and the collector's work for it lands on
 * whatever row runs when it is due; kept apart, the 1-queued rows print as measured without
 * any large population beside them, and each deeper row is divided by a 1-queued row
 * re-measured beside it, under the same collector load.
 */
function processOf(kind: Kind, depth: number, heap = ''): string {
  const queued = `${depth.toLocaleString('en')} queued${heap}`;
  if (depth === 1) return `waiting line: ${queued}`;
  return kind === 'fifo' ? `waiting line: minimal FIFO, ${queued}` : `waiting line: ${queued}`;
}

/**
 * The young generation (each of its two semi-spaces, in MB) of the processes that measure
 * the line with its standing population held there: 100 000 waiters' Promises and suspended
 * callers take some 40 MB, which Node's default (16 MB) cannot hold.
 */
const youngMb = 128;

/**
 * A row of `kind` at `depth`; `young`: measured in a process whose young generation holds the
 * standing population ({@link youngMb}), against the 1-queued row measured the same way —
 * informational, no target: what the line costs once the collector no longer copies and
 * promotes every waiter, which Node's default young generation does at 100 000 queued.
 */
function row(kind: Kind, depth: number, young = false): ThroughputRow {
  let population = makers[kind]();
  const queued = `${depth.toLocaleString('en')} queued`;
  const heap = `, young generation ${youngMb} MB`;
  return {
    kind: 'throughput',
    id: `${kind}-depth-${depth}${young ? '-young' : ''}`,
    name: young ? `${names[kind]}, ${queued}${heap}` : `${names[kind]}, ${queued}`,
    group,
    process: processOf(kind, depth, young ? heap : ''),
    ...(young
      ? {
          nodeFlags: [`--max-semi-space-size=${youngMb}`],
          ...(depth !== 1
            ? { reference: `${kind}-depth-1-young` }
            : kind === 'waiting'
              ? { reference: 'fifo-depth-1-young' }
              : {}),
        }
      : comparisons(kind, depth)),
    setup() {
      population = makers[kind]();
      population.start(depth + 1); // one holds the slot, `depth` wait behind it
    },
    run: (iterations) => population.serve(iterations),
    teardown() {
      population.stop();
    },
  };
}

/**
 * One caller alone behind the slot: it never queues, every acquire takes the line's fast path
 * (the guard grants at once and the Promise is already resolved). Informational: what a
 * line costs when nobody waits, beside the 1-queued row.
 */
function unqueuedRow(): ThroughputRow {
  let population = budgetryPopulation();
  return {
    kind: 'throughput',
    id: 'waiting-unqueued',
    name: 'waiting(AtomicBudget(1)): one caller alone, never queued (fast path)',
    group,
    process: processOf('waiting', 1),
    reference: 'waiting-depth-1',
    setup() {
      population = budgetryPopulation();
      population.start(1);
    },
    run: (iterations) => population.serve(iterations),
    teardown() {
      population.stop();
    },
  };
}

/**
 * Per depth (1, 1 000, 10 000 and 100 000 queued): the minimal FIFO, the waiting line and
 * p-limit, each with the same population; then the line's unqueued fast path; then the FIFO
 * and the line at 1 and 100 000 queued with a young generation that holds the population.
 */
export const waitingDepthRows: readonly ThroughputRow[] = [
  ...depths.flatMap((depth) => [row('fifo', depth), row('waiting', depth), row('p-limit', depth)]),
  unqueuedRow(),
  ...[1, 100_000].flatMap((depth) => [row('fifo', depth, true), row('waiting', depth, true)]),
];
