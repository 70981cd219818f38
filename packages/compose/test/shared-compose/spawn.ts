// Starting a worker thread that runs TypeScript source (a copy of core's test helper, so that
// compose's tests do not reach into core's test folder).
import { Worker } from 'node:worker_threads';

const exits = new WeakMap<Worker, Promise<number>>();

/** Starts `file` (a TypeScript module next to this one) as a worker thread with `data`. */
export function startWorker(file: string, data: unknown): Worker {
  const worker = new Worker(new URL('./ts-worker.mjs', import.meta.url), {
    workerData: { module: new URL(file, import.meta.url).href, data },
    execArgv: ['--conditions=@budgetry/source'],
  });
  exits.set(worker, new Promise((resolve) => worker.once('exit', resolve)));
  return worker;
}

/** The first message `worker` posts, or its error. */
export function firstMessage<T>(worker: Worker): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`worker exited with ${code} before replying`)));
  });
}

/** Resolves when `worker` exits, with its exit code. */
export function exited(worker: Worker): Promise<number> {
  return exits.get(worker) ?? new Promise((resolve) => worker.once('exit', resolve));
}

/** Waits until `workers` threads have reached the gate (an Int32 counter in `gate`). */
export function waitAtGate(gate: SharedArrayBuffer, workers: number): void {
  const count = new Int32Array(gate);
  Atomics.add(count, 0, 1);
  Atomics.notify(count, 0);
  for (let seen = Atomics.load(count, 0); seen < workers; seen = Atomics.load(count, 0)) {
    Atomics.wait(count, 0, seen, 1_000);
  }
}

/** A xorshift source from `seed`: `next(n)` is an integer in `[0, n)`. */
export function seededRandom(seed: number): (n: number) => number {
  let state = seed >>> 0 || 1;
  return (n) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % n;
  };
}
