// A worker for worker-thread.test.ts: adds, fails, echoes its input and exits on request.
import { serve, workerInput } from './worker-thread.js';

serve({
  add: ({ a, b }) => (a as number) + (b as number),
  later: async ({ value }) => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    return value;
  },
  fail: () => {
    throw new Error('boom in the worker');
  },
  input: () => workerInput<unknown>(),
  exit: ({ code }) => process.exit(code as number),
});
