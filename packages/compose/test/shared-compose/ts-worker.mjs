// Entry of every test worker: registers tsx's loader in this thread, then imports the
// TypeScript module the test named (Node 20 does not pass loaders on to worker threads).
import { workerData } from 'node:worker_threads';
import { tsImport } from 'tsx/esm/api';

await tsImport(workerData.module, import.meta.url);
