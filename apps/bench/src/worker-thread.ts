/*
 * Worker threads for rows that measure across threads (src/rows/shared-memory.ts). A bench
 * process runs TypeScript source through tsx, whose loader Node 20 does not pass on to worker
 * threads, so every worker starts in ts-worker.mjs, which registers tsx and imports the row's
 * TypeScript module. The two sides then speak request / reply: the row `call`s an op by name,
 * the worker `serve`s it and answers once.
 */
import { parentPort, type Transferable, Worker, workerData } from 'node:worker_threads';

/** What a worker answers to one request. */
type Reply =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: string };

/** One request: the op's name and its arguments, with the id its reply carries. */
export interface WorkerRequest {
  readonly op: string;
  readonly [argument: string]: unknown;
}

/** An op a worker serves: its result (or a Promise of it) is the reply. */
export type WorkerOp = (request: WorkerRequest) => unknown;

/**
 * A worker thread running a TypeScript module under the workspace's source condition, as the
 * bench process itself runs, spoken to by request and reply. Calls may overlap; each reply
 * settles its own call. The worker keeps the process alive only while a call is pending, so a
 * row that never tears down cannot hang the run.
 *
 * @example
 * ```ts
 * const worker = WorkerClient.start(new URL('./rows/shared-memory-worker.ts', import.meta.url));
 * const sum = await worker.call<number>({ op: 'add', a: 1, b: 2 });
 * await worker.terminate();
 * ```
 */
export class WorkerClient {
  private nextId = 0;
  private readonly pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void }
  >();
  private failure: Error | undefined;

  private constructor(readonly worker: Worker) {
    worker.unref();
    worker.on('message', (reply: Reply) => this.settle(reply));
    worker.on('error', (error) => this.fail(error));
    worker.on('exit', (code) => this.fail(new Error(`worker exited with code ${code}`)));
  }

  /**
   * Starts a worker thread that imports `module` (a TypeScript or JavaScript file URL), with
   * `data` as its `workerData.data`.
   *
   * @param module - the module the worker runs; it calls {@link serve}.
   * @param data - anything structured clone can copy.
   * @returns the client; the module may still be loading (the first call waits for it).
   */
  static start(module: URL, data?: unknown): WorkerClient {
    const worker = new Worker(new URL('./ts-worker.mjs', import.meta.url), {
      workerData: { module: module.href, data },
      execArgv: ['--conditions=@budgetry/source'],
    });
    return new WorkerClient(worker);
  }

  /**
   * Asks the worker to run an op and waits for its answer.
   *
   * @param request - the op's name and arguments.
   * @param transfer - objects to move to the worker (a `MessagePort`).
   * @returns what the op returned.
   * @throws Error with the op's error message, or when the worker died or exited first.
   */
  call<T>(request: WorkerRequest, transfer: readonly Transferable[] = []): Promise<T> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      if (this.pending.size === 1) this.worker.ref();
      this.worker.postMessage({ ...request, id }, [...transfer]);
    });
  }

  /** Stops the worker; pending calls fail. Calling it twice is harmless. */
  async terminate(): Promise<void> {
    this.fail(new Error('worker terminated'));
    await this.worker.terminate();
  }

  private settle(reply: Reply): void {
    const call = this.pending.get(reply.id);
    if (call === undefined) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    if (reply.ok) call.resolve(reply.value);
    else call.reject(new Error(reply.error));
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const call of this.pending.values()) call.reject(this.failure);
    this.pending.clear();
    this.worker.unref();
  }
}

/**
 * The worker side: answers every request with the result of the op it names (awaited), or
 * with the error it threw. Call it once, at the top of a worker module.
 *
 * @param ops - the ops by name.
 */
export function serve(ops: Readonly<Record<string, WorkerOp>>): void {
  const port = parentPort;
  if (port === null) throw new Error('serve() runs in a worker thread started by WorkerClient');
  port.on('message', async (message: WorkerRequest & { readonly id: number }) => {
    const { id } = message;
    try {
      const op = ops[message.op];
      if (op === undefined) throw new Error(`no op ${JSON.stringify(message.op)} in this worker`);
      const value = await op(message);
      port.postMessage({ id, ok: true, value } satisfies Reply);
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      port.postMessage({ id, ok: false, error: text } satisfies Reply);
    }
  });
}

/** What {@link WorkerClient.start} passed as `data`, in the worker. */
export function workerInput<T>(): T {
  return (workerData as { data: T }).data;
}
