import { MessageChannel } from 'node:worker_threads';
import { SharedBudget } from '@budgetry/core';
import type { SelfTimed, ThroughputRow } from '../row.js';
import { WorkerClient, type WorkerRequest } from '../worker-thread.js';
import { CONTROL_BYTES } from './shared-memory-control.js';

const pairsGroup = 'shared memory: two worker threads on one budget';
const wakeGroup = 'shared memory: cross-thread wake-up';
/**
 * Every row here runs in one child process with one pair of worker threads: starting a worker
 * costs a few hundred milliseconds (tsx compiles the workspace's source in it), and the rows
 * share nothing else — each worker loop is a function of its own.
 */
const processName = 'shared memory: two worker threads';

/**
 * The budget and the raw 64-bit word start with more units than 32 bits can count, so every
 * row's amounts are of the size the budget promises (exact to 2^53); each worker holds at most
 * 1 at a time, so no reserve is ever refused and every op does the same work.
 */
const capacity = 2 ** 40;
/** The Int32 word starts at its largest value: the most a 32-bit counter can hold. */
const capacity32 = 2 ** 31 - 1;

/** How each worker opens its striped handle: `StripedSharedBudget.open(descriptor, options)`. */
export const stripedOpenOptions = { slice: 1024 } as const;

type Pair = readonly [WorkerClient, WorkerClient];
let pair: Pair | undefined;
let users = 0;

/** The process's two workers, started by the first row that needs them. */
function joinPair(): Pair {
  users++;
  const worker = new URL('./shared-memory-worker.ts', import.meta.url);
  pair ??= [WorkerClient.start(worker), WorkerClient.start(worker)];
  return pair;
}

/** Whether this process has the rows' workers running (for tests). */
export function sharedWorkersRunning(): boolean {
  return pair !== undefined;
}

/** Terminates the workers once the last row using them is done. */
async function leavePair(): Promise<void> {
  users--;
  if (users > 0 || pair === undefined) return;
  const workers = pair;
  pair = undefined;
  await Promise.all(workers.map((worker) => worker.terminate()));
}

/** The untimed runs each pairs row makes in `setup`, in ops. */
const warmUpPairs = [1_000, 10_000, 100_000, 100_000] as const;
/** The untimed handshakes the port and wake rows make in `setup`. */
const warmUpTrips = [10, 100, 500] as const;

/** Splits `iterations` between the two workers. */
function halves(iterations: number): [number, number] {
  const first = Math.ceil(iterations / 2);
  return [first, iterations - first];
}

/** How one row of two workers hammering one counter works; see {@link pairsRow}. */
interface Counter {
  /** Shared state for the workers' `setup` (a budget descriptor, a word's buffer). */
  setup(): Record<string, unknown>;
  /** The workers' op for `n` pairs, and its arguments. */
  readonly op: string;
  readonly args: Record<string, unknown>;
  /**
   * After a run: why the counter is not back where it started, or `undefined`. A striped
   * budget keeps units in its handles' slices between runs, so its check is made once, after
   * the workers closed their handles (in `teardown`).
   */
  inexact(): string | undefined;
  /** Says what was checked over `runs` runs, for the line printed at the end. */
  describe(runs: number): string;
  teardown(): void;
}

/**
 * Two workers, each doing half of `iterations` reserve(1) + release(1) pairs on one shared
 * counter, started together. After every run the counter must be back where it started and
 * every reserve granted, or the row fails; at the end a line says it was exact.
 */
function pairsRow(
  fields: Pick<ThroughputRow, 'id' | 'name' | 'reference' | 'target'>,
  makeCounter: () => Counter,
): ThroughputRow {
  let workers: Pair | undefined;
  let counter: Counter | undefined;
  let gate = 0;
  let runs = 0;
  const key = fields.id;
  return {
    kind: 'throughput',
    ...fields,
    group: pairsGroup,
    process: processName,
    async setup() {
      workers = joinPair();
      counter = makeCounter();
      const ctl = new SharedArrayBuffer(CONTROL_BYTES);
      const shared = counter.setup();
      await Promise.all(workers.map((w) => w.call({ op: 'setup', key, ctl, ...shared })));
      // Untimed runs first, so that calibration starts on the workers' optimized loops: a
      // first run in the interpreter can take as long as a slice and stop calibration early.
      for (const n of warmUpPairs) await this.run(n);
    },
    async run(iterations) {
      const [a, b] = halves(iterations);
      gate += 2;
      const request = (n: number): WorkerRequest => ({
        op: counter!.op,
        key,
        n,
        gate,
        ...counter!.args,
      });
      const granted = await Promise.all([
        workers![0].call<number>(request(a)),
        workers![1].call<number>(request(b)),
      ]);
      const total = granted[0] + granted[1];
      if (total !== iterations) {
        throw new Error(`not exact: ${iterations - total} of ${iterations} reserves refused`);
      }
      const inexact = counter!.inexact();
      if (inexact !== undefined) throw new Error(`not exact after run ${runs + 1}: ${inexact}`);
      runs++;
      return total;
    },
    async teardown() {
      if (workers !== undefined) {
        await Promise.all(workers.map((w) => w.call({ op: 'close', key })));
        await leavePair();
        workers = undefined;
      }
      counter?.teardown();
      if (counter !== undefined) console.error(`bench: ${key}: ${counter.describe(runs)}`);
    },
  };
}

function budgetCounter(openOptions?: typeof stripedOpenOptions): () => Counter {
  return () => {
    const budget = new SharedBudget(capacity, { maxHandles: 4 });
    const exact = (): string | undefined => {
      const { available, held } = budget.snapshot();
      return available === capacity && held === 0
        ? undefined
        : `available ${available} of ${capacity}, held ${held}`;
    };
    return {
      setup: () => ({
        budget: budget.share(),
        ...(openOptions === undefined ? {} : { openOptions }),
      }),
      op: openOptions === undefined ? 'budgetPairs' : 'stripedPairs',
      args: {},
      inexact: openOptions === undefined ? exact : () => undefined,
      describe: (runs) =>
        openOptions === undefined
          ? `exact after each of ${runs} runs (available = capacity = ${capacity}, held 0)`
          : `exact once the workers closed their striped handles, after ${runs} runs (available = capacity = ${capacity}, held 0)`,
      teardown() {
        const inexact = exact();
        budget.close();
        if (inexact !== undefined) throw new Error(`not exact once closed: ${inexact}`);
      },
    };
  };
}

function int32Counter(): Counter {
  const word = new Int32Array(new SharedArrayBuffer(4));
  word[0] = capacity32;
  return {
    setup: () => ({ i32: word.buffer }),
    op: 'cas32Pairs',
    args: { capacity: capacity32 },
    inexact: () => {
      const value = Atomics.load(word, 0);
      return value === capacity32 ? undefined : `the word holds ${value}, not ${capacity32}`;
    },
    describe: (runs) => `exact after each of ${runs} runs (the word is back at ${capacity32})`,
    teardown() {},
  };
}

function bigInt64Counter(): Counter {
  const start = BigInt(capacity);
  const word = new BigInt64Array(new SharedArrayBuffer(8));
  word[0] = start;
  return {
    setup: () => ({ i64: word.buffer }),
    op: 'cas64Pairs',
    args: { capacity: start },
    inexact: () => {
      const value = Atomics.load(word, 0);
      return value === start ? undefined : `the word holds ${value}, not ${start}`;
    },
    describe: (runs) => `exact after each of ${runs} runs (the word is back at ${start})`,
    teardown() {},
  };
}

const cas32Id = 'shared-cas-int32-2w';
const cas64Id = 'shared-cas-bigint64-2w';
const budgetId = 'shared-budget-2w';

/** The pairs rows: the two raw CAS references, then the budget (then, once built, stripes). */
function pairsRows(striped: boolean): ThroughputRow[] {
  const rows = [
    pairsRow(
      {
        id: cas32Id,
        name: 'raw Atomics.compareExchange on one Int32 word, 2 workers: reserve(1) + release(1), bounded',
      },
      int32Counter,
    ),
    pairsRow(
      {
        id: cas64Id,
        name: 'raw Atomics.compareExchange on one BigInt64 word, 2 workers: reserve(1) + release(1), bounded',
        reference: cas32Id,
      },
      bigInt64Counter,
    ),
    pairsRow(
      {
        id: budgetId,
        name: 'SharedBudget, 2 workers: tryReserveSync(1) + releaseSync(1), exact after every run',
        reference: cas32Id,
        target: { label: `≥ 0.8× ${cas64Id}`, against: cas64Id, atLeast: 0.8 },
      },
      budgetCounter(),
    ),
  ];
  if (striped) {
    rows.push(
      pairsRow(
        {
          id: 'shared-striped-2w',
          name: `StripedSharedBudget (slice ${stripedOpenOptions.slice}), 2 workers: tryReserveSync(1) + releaseSync(1)`,
          reference: budgetId,
          target: { label: '≥ 40 M/s', atLeast: 40e6 },
        },
        budgetCounter(stripedOpenOptions),
      ),
    );
  }
  return rows;
}

/** The time a self-timed run of `n` ops reports: `n` times its median, in ms. */
function timedByMedian(n: number, medianNs: number): SelfTimed {
  return { value: n, ms: (n * medianNs) / 1e6 };
}

/**
 * A `MessagePort` round trip between the two workers: the first posts a number and awaits the
 * second's echo of it, `n` times, timing each trip. The row's figure is round trips per second
 * of the median trip (1 ÷ median).
 */
function portRow(): ThroughputRow {
  let workers: Pair | undefined;
  const key = 'message-port-rtt';
  return {
    kind: 'throughput',
    id: key,
    name: 'MessagePort round trip between the 2 workers (post, echo, receive): 1 ÷ median trip',
    group: wakeGroup,
    process: processName,
    async setup() {
      workers = joinPair();
      const { port1, port2 } = new MessageChannel();
      const ctl = new SharedArrayBuffer(CONTROL_BYTES);
      await Promise.all([
        workers[0].call({ op: 'setup', key, ctl, port: port1 }, [port1]),
        workers[1].call({ op: 'setup', key, ctl, port: port2, echo: true }, [port2]),
      ]);
      for (const n of warmUpTrips) await this.run(n);
    },
    async run(iterations) {
      const medianNs = await workers![0].call<number>({ op: 'portPing', key, n: iterations });
      return timedByMedian(iterations, medianNs);
    },
    async teardown() {
      if (workers === undefined) return;
      await Promise.all(workers.map((w) => w.call({ op: 'close', key })));
      await leavePair();
      workers = undefined;
    },
  };
}

/** Spin of the releaser before each release, so the waiter's thread is asleep by then. */
const settleNs = 20_000;

/**
 * The cross-thread wake-up: worker 1 holds the only unit of a budget of capacity 1; worker 0
 * calls `acquire(1)` and waits; worker 1 reads the clock and releases; worker 0 reads the clock
 * when its permit is in hand. The figure is wake-ups per second of the median latency (1 ÷
 * median); the ratio is to the `MessagePort` round trip between the same two workers.
 */
function wakeRow(): ThroughputRow {
  let workers: Pair | undefined;
  let budget: SharedBudget | undefined;
  const key = 'shared-wake';
  const check = (available: number, held: number): void => {
    const s = budget!.snapshot();
    if (s.available !== available || s.held !== held || s.waiting !== 0) {
      throw new Error(
        `not exact: available ${s.available}, held ${s.held}, ${s.waiting} waiting; expected available ${available}, held ${held}, none waiting`,
      );
    }
  };
  return {
    kind: 'throughput',
    id: key,
    name: 'SharedBudget wake-up: releaseSync(1) in one worker → permit of acquire(1) in hand in the other: 1 ÷ median latency',
    group: wakeGroup,
    process: processName,
    reference: 'message-port-rtt',
    async setup() {
      workers = joinPair();
      budget = new SharedBudget(1, { maxHandles: 4 });
      const ctl = new SharedArrayBuffer(CONTROL_BYTES);
      const shared = { op: 'setup', key, ctl, budget: budget.share() };
      await Promise.all(workers.map((w) => w.call(shared)));
      if (!(await workers[1].call<boolean>({ op: 'reserve', key, cost: 1 }))) {
        throw new Error('the releaser could not take the unit');
      }
      for (const n of warmUpTrips) await this.run(n);
    },
    async run(iterations) {
      const [medianNs] = await Promise.all([
        workers![0].call<number>({ op: 'wakeWaiter', key, n: iterations }),
        workers![1].call<number>({ op: 'wakeReleaser', key, n: iterations, settleNs }),
      ]);
      check(0, 1);
      return timedByMedian(iterations, medianNs);
    },
    async teardown() {
      if (workers === undefined) return;
      await workers[1].call({ op: 'release', key, cost: 1 });
      check(1, 0);
      await Promise.all(workers.map((w) => w.call({ op: 'close', key })));
      await leavePair();
      workers = undefined;
      budget!.close();
    },
  };
}

/**
 * Rows of this module, in table order: the raw CAS references and SharedBudget with two
 * workers and striped handles, then the `MessagePort`
 * round trip and the cross-thread wake-up.
 */
export const sharedMemoryRows: readonly ThroughputRow[] = [
  ...pairsRows(true),
  portRow(),
  wakeRow(),
];
