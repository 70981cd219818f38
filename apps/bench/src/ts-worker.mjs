// Entry of every bench worker thread: registers tsx's loader in this thread, then imports the
// TypeScript module the bench named (Node 20 does not pass loaders on to worker threads).
// Started by startTsWorker in worker-thread.ts.
import { workerData } from 'node:worker_threads';
import { tsImport } from 'tsx/esm/api';

await tsImport(workerData.module, import.meta.url);
