import { type WaitingGuard, waiting } from '@budgetry/compose';
import { AtomicBudget, type SyncBudgetPermit } from '@budgetry/core';
import pLimit, { type LimitFunction } from 'p-limit';
import type { ThroughputRow } from '../row.js';

const group = 'waiting line: waiters served per second, at a queue depth';
/** Waiters queued behind a capacity of one. */
const depths = [1, 1_000, 100_000] as const;

/**
 * A standing population of `depth` callers, each looping "wait for the one slot, take it,
 * give it back": the line in front of the slot stays `depth − 1` long. `run(n)` lets exactly
 * `n` callers through; between runs the last one keeps the slot, so the line stands still.
 * What one op costs is what a queue of that depth costs to serve one waiter: join, wait,
 * be served, leave.
 */
interface Population {
  /** Starts the callers; they queue behind a closed gate. */
  start(depth: number): void;
  /** Lets `n` callers through and resolves when they have been served. */
  serve(n: number): Promise<number>;
  stop(): void;
}

/** Coordinates "serve n, then hold the slot until the next run" for either queue. */
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
    start(depth) {
      line = waiting(new AtomicBudget(1, { leakBackstop: false }));
      gate = line.tryAcquireSync(1); // the slot starts taken: everyone queues
      for (let i = 0; i < depth; i++) void caller();
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
    start(depth) {
      limit = pLimit(1);
      // The slot starts taken, like the budgetry population's.
      void limit(() => new Promise<void>((resolve) => (opened = resolve)));
      for (let i = 0; i < depth; i++) void caller();
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

function row(kind: 'budgetry' | 'p-limit', depth: number, make: () => Population): ThroughputRow {
  let population = make();
  const id = `${kind === 'budgetry' ? 'waiting' : 'p-limit'}-depth-${depth}`;
  const targets =
    kind === 'budgetry' && depth === 100_000
      ? [
          { label: '≥ 0.67× waiting-depth-1', against: 'waiting-depth-1', atLeast: 0.67 },
          { label: `≥ 1× p-limit-depth-${depth}`, against: `p-limit-depth-${depth}`, atLeast: 1 },
        ]
      : kind === 'budgetry'
        ? { label: `≥ 1× p-limit-depth-${depth}`, against: `p-limit-depth-${depth}`, atLeast: 1 }
        : undefined;
  return {
    kind: 'throughput',
    id,
    name:
      kind === 'budgetry'
        ? `waiting(AtomicBudget(1)): serve a waiter, ${depth.toLocaleString('en')} queued`
        : `p-limit(1): serve a caller, ${depth.toLocaleString('en')} queued`,
    group,
    // The line is measured against itself with one caller; p-limit against the line at the
    // same depth.
    ...(kind === 'p-limit'
      ? { reference: `waiting-depth-${depth}` }
      : depth === 1
        ? {}
        : { reference: 'waiting-depth-1' }),
    ...(targets === undefined ? {} : { target: targets }),
    setup() {
      population = make();
      population.start(depth);
    },
    run: (iterations) => population.serve(iterations),
    teardown() {
      population.stop();
    },
  };
}

/** The waiting line and p-limit, each with 1, 1 000 and 100 000 callers queued. */
export const waitingDepthRows: readonly ThroughputRow[] = depths.flatMap((depth) => [
  row('budgetry', depth, budgetryPopulation),
  row('p-limit', depth, pLimitPopulation),
]);
