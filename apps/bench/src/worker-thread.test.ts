import { describe, expect, it } from 'vitest';
import { WorkerClient } from './worker-thread.js';

const fixture = new URL('./worker-thread.fixture.ts', import.meta.url);

describe('WorkerClient', () => {
  it('runs a TypeScript module in a worker thread and answers each call', async () => {
    const worker = WorkerClient.start(fixture, { hello: 'worker' });
    try {
      const [slow, sum] = await Promise.all([
        worker.call<string>({ op: 'later', value: 'late' }),
        worker.call<number>({ op: 'add', a: 2, b: 3 }),
      ]);
      expect([slow, sum]).toEqual(['late', 5]);
      expect(await worker.call({ op: 'input' })).toEqual({ hello: 'worker' });
    } finally {
      await worker.terminate();
    }
  });

  it('rejects a call with the op’s error, or for an op the worker lacks', async () => {
    const worker = WorkerClient.start(fixture);
    try {
      await expect(worker.call({ op: 'fail' })).rejects.toThrow('boom in the worker');
      await expect(worker.call({ op: 'nope' })).rejects.toThrow('no op "nope" in this worker');
      expect(await worker.call({ op: 'add', a: 1, b: 1 })).toBe(2);
    } finally {
      await worker.terminate();
    }
  });

  it('fails pending and later calls once the worker exits', async () => {
    const worker = WorkerClient.start(fixture);
    await expect(worker.call({ op: 'exit', code: 3 })).rejects.toThrow('worker exited with code 3');
    await expect(worker.call({ op: 'add', a: 1, b: 1 })).rejects.toThrow(
      'worker exited with code 3',
    );
    await worker.terminate();
  });

  it('fails calls made after terminate', async () => {
    const worker = WorkerClient.start(fixture);
    await worker.terminate();
    await expect(worker.call({ op: 'add', a: 1, b: 1 })).rejects.toThrow('worker terminated');
  });
});
