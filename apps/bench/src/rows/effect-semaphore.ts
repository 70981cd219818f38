import { Effect } from 'effect';
import type { ThroughputRow } from '../row.js';

let fiberOp: Effect.Effect<number> = Effect.succeed(0);
let promiseOp: Effect.Effect<number> = Effect.succeed(0);

function takeRelease(): Effect.Effect<number> {
  const semaphore = Effect.unsafeMakeSemaphore(1_000_000);
  return Effect.zipRight(semaphore.take(1), semaphore.release(1));
}

/**
 * Effect's `Semaphore` counts permits; `take(n)` and `release(n)` are the reserve/release
 * pair. Effect code runs many operations inside one fiber, so this row runs the whole loop
 * as one program with `Effect.runSync` — the runtime's cost per op, without a Promise.
 */
export const effectFiberRow: ThroughputRow = {
  kind: 'throughput',
  id: 'effect-semaphore',
  name: 'effect Semaphore take + release (loop inside one fiber, runSync)',
  group: 'peers',
  reference: 'plain-sync',
  setup() {
    fiberOp = takeRelease();
  },
  run(iterations) {
    return Effect.runSync(Effect.repeatN(fiberOp, iterations - 1));
  },
};

/**
 * The same pair called from ordinary async code, as a caller outside Effect would: one
 * `Effect.runPromise` per op.
 */
export const effectPromiseRow: ThroughputRow = {
  kind: 'throughput',
  id: 'effect-semaphore-promise',
  name: 'effect Semaphore take + release (await Effect.runPromise per op)',
  group: 'peers',
  reference: 'plain-async',
  setup() {
    promiseOp = takeRelease();
  },
  async run(iterations) {
    const program = promiseOp;
    let sum = 0;
    for (let i = 0; i < iterations; i++) sum += await Effect.runPromise(program);
    return sum;
  },
};

/** Rows of this module, in table order. */
export const effectSemaphoreRows = [effectFiberRow, effectPromiseRow];
