// Starting a worker thread that runs TypeScript source: tsx's loader and the workspace's
// source condition, as the tests themselves run.
import { Worker } from 'node:worker_threads';

/** Starts `file` (a TypeScript module next to this one) as a worker thread with `data`. */
export function startWorker(file: string, data: unknown): Worker {
  const worker = new Worker(new URL('./ts-worker.mjs', import.meta.url), {
    workerData: { module: new URL(file, import.meta.url).href, data },
    execArgv: ['--conditions=@budgetry/source'],
  });
  exits.set(worker, new Promise((resolve) => worker.once('exit', resolve)));
  return worker;
}

/**
 * Each worker's exit, listened for from its start: a worker that exits while the test still
 * awaits another one's message must not be missed (an `exit` listener added after the event
 * never fires; that once looked like a worker that never exits).
 */
const exits = new WeakMap<Worker, Promise<number>>();

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
