// Workers terminated mid-flight while hammering a SharedBudget: what they held comes back
// exactly once — at once when the creator watches them exit, after the lease otherwise —
// the lock is never left taken, and the budget stays usable.
import { EventEmitter } from 'node:events';
import { SharedBudget } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import {
  H_LANES,
  H_WAIT_SLOTS,
  L_THREAD,
  laneI32,
  W_HEAD,
  W_LOCK,
  W_WAITING,
} from '../src/shared/layout.js';
import type { HammerInput } from './shared/hammer-worker.js';
import type { ReleasingInput } from './shared/releasing-worker.js';
import { exited, firstMessage, startWorker } from './shared/spawn.js';

const CAPACITY = 500;
const ROUNDS = Number(process.env.SHARED_TERMINATE_ROUNDS ?? 6);

function churner(budget: SharedBudget, seed: number, gate: SharedArrayBuffer, workers: number) {
  return startWorker('./hammer-worker.ts', {
    descriptor: budget.share() as never,
    seed,
    ops: 0,
    mode: 'churn',
    refiller: false,
    gate,
    workers,
  } satisfies HammerInput);
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('SharedBudget when workers are terminated holding units', () => {
  it('gives their holds back on exit, every round, exactly once', async () => {
    const budget = new SharedBudget(CAPACITY, { leaseMs: 2_000 });
    let reclaimedHandles = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const gate = new SharedArrayBuffer(4);
      const workers = [1, 2].map((i) => churner(budget, round * 7 + i, gate, 2));
      for (const w of workers) budget.releaseOnExit(w);
      await Promise.all(workers.map((w) => firstMessage(w)));
      // The main thread takes part too while they run.
      for (let i = 0; i < 2_000; i++) {
        if (budget.tryReserveSync(3)) budget.releaseSync(3);
      }
      await pause(10 + round * 7);
      const during = budget.snapshot();
      expect(during.held).toBeGreaterThan(0);
      await Promise.all(workers.map((w) => w.terminate()));
      reclaimedHandles += 2;
      expect(budget.snapshot()).toMatchObject({
        available: CAPACITY,
        held: 0,
        handles: 1,
        reclaimedHandles,
        overReleased: 0,
      });
    }
    const { reclaimed, lockTakeovers } = budget.snapshot();
    expect(reclaimed).toBeGreaterThan(0);
    console.info(
      `terminated ${ROUNDS * 2} workers mid-flight: ${reclaimed} units reclaimed, ${lockTakeovers} locks taken over`,
    );
    expect(budget.reclaimExpired()).toEqual({ handles: 0, units: 0 });
    budget.close();
  }, 60_000);

  it('a worker terminated while releasing units other handles reserved never frees units still held', async () => {
    // The worker releases what handle a reserved; c holds 1 000 of its own throughout. A worker
    // stopped between the release's stores and its count of units released for others left
    // the lanes recording one release more than the pool held: closing a then gave back 100
    // of c's units, and c's own release was refused as an over-release.
    for (const striped of [false, true]) {
      for (let round = 0; round < 20; round++) {
        const budget = new SharedBudget(1e12, {
          leaseMs: 60_000,
          leakBackstop: false,
          strict: true,
        });
        const a = SharedBudget.open(budget.share(), { leakBackstop: false });
        const c = SharedBudget.open(budget.share(), { leakBackstop: false });
        expect(a.tryReserveSync(1e10) && c.tryReserveSync(1_000)).toBe(true);
        const worker = startWorker('./releasing-worker.ts', {
          descriptor: budget.share() as never,
          striped,
          cost: 100,
        } satisfies ReleasingInput);
        budget.releaseOnExit(worker);
        await firstMessage(worker);
        await pause((round * 7) % 20);
        await worker.terminate();
        await exited(worker);
        await pause(5);
        a.close();
        expect(budget.held()).toBe(1_000);
        c.releaseSync(1_000);
        expect(budget.snapshot()).toMatchObject({ held: 0, available: 1e12 });
        c.close();
        budget.close();
      }
    }
  }, 120_000);

  it('a worker terminated while refilling leaves the refill count with the epoch', async () => {
    // Striped handles tell a refill by a count the refill bumps last; bumped by an Atomics
    // call, a thread terminated on entering it left a new epoch the count did not show, and a
    // striped handle kept serving its old epoch's slice beside a full new epoch.
    for (let round = 0; round < 30; round++) {
      const budget = new SharedBudget(1_000, { leakBackstop: false });
      const descriptor = budget.share();
      const worker = startWorker('./releasing-worker.ts', {
        descriptor: descriptor as never,
        striped: false,
        cost: 0,
        refill: true,
      } satisfies ReleasingInput);
      budget.releaseOnExit(worker);
      await firstMessage(worker);
      await pause(round % 10);
      await worker.terminate();
      await exited(worker);
      // One refill a call, from epoch 0: the epoch and the count (Int32 word 9) agree.
      const refills = new Int32Array(descriptor.buffer)[9];
      expect(budget.snapshot().epoch).toBe(refills);
      budget.close();
    }
  }, 120_000);

  it('without an exit watch, gives them back once the lease runs out', async () => {
    const budget = new SharedBudget(CAPACITY, { leaseMs: 1_500 });
    const gate = new SharedArrayBuffer(4);
    const worker = churner(budget, 99, gate, 1);
    await firstMessage(worker);
    await pause(30);
    await worker.terminate();
    const held = budget.held();
    expect(held).toBeGreaterThan(0);
    // (That the lease is respected before it runs out is checked on a manual clock in
    // shared-budget.test.ts; here terminating a busy worker can itself take a lease's time.)
    await pause(1_800);
    expect(budget.reclaimExpired()).toEqual({ handles: 1, units: held });
    expect(budget.reclaimExpired()).toEqual({ handles: 0, units: 0 });
    expect(budget.snapshot()).toMatchObject({ available: CAPACITY, held: 0, reclaimed: held });
    budget.close();
  }, 30_000);

  it('a worker busy in a synchronous loop keeps its lease through its own calls', async () => {
    const budget = new SharedBudget(CAPACITY, { leaseMs: 1_000 });
    const worker = churner(budget, 7, new SharedArrayBuffer(4), 1);
    await firstMessage(worker);
    // Its heartbeat timer never runs (the loop never yields), yet it is not taken for dead.
    for (let i = 0; i < 25; i++) {
      await pause(100);
      expect(budget.reclaimExpired()).toEqual({ handles: 0, units: 0 });
    }
    await worker.terminate();
    budget.close();
  }, 30_000);

  it('an exit watch does not freeze its thread on a lock another exited worker died holding', async () => {
    const leaseMs = 2_000;
    const budget = new SharedBudget(10, { leaseMs });
    const i32 = new Int32Array(budget.share().buffer);
    // A and B each exit holding 3 units; A is made to look as if it died holding the lock.
    const workers = [0, 1].map(() => startWorker('./echo-worker.ts', budget.share()));
    const threads = workers.map((w) => w.threadId); // -1 once exited
    await Promise.all(workers.map((w) => firstMessage(w)));
    await Promise.all(workers.map((w) => exited(w)));
    // Their exits, reported in the order chosen here: B's first.
    const [a, b] = threads.map((threadId) => Object.assign(new EventEmitter(), { threadId }));
    budget.releaseOnExit(a!);
    budget.releaseOnExit(b!);
    const laneA = [...Array(i32[H_LANES]).keys()].find(
      (lane) => i32[laneI32(lane) + L_THREAD] === threads[0],
    );
    expect(Atomics.compareExchange(i32, W_LOCK, 0, laneA! + 1)).toBe(0);
    // B's reclaim waits for the lock, but not by blocking this thread: that would hold back
    // A's exit report, which lets the lock be taken over, until A's lease ran out twice.
    const started = performance.now();
    b!.emit('exit');
    expect(performance.now() - started).toBeLessThan(leaseMs / 2);
    await pause(0);
    a!.emit('exit');
    await pause(100);
    expect(budget.snapshot()).toMatchObject({
      available: 10,
      held: 0,
      reclaimedHandles: 2,
      lockTakeovers: 1,
    });
    budget.close();
  });

  it('a lock taken over from a thread stopped in the middle of the line recounts the line', async () => {
    const budget = new SharedBudget(1, { leaseMs: 60_000 });
    const i32 = new Int32Array(budget.share().buffer);
    const gone = startWorker('./echo-worker.ts', budget.share());
    const thread = gone.threadId; // -1 once exited
    await firstMessage(gone);
    await exited(gone);
    const lane = [...Array(i32[H_LANES]).keys()].find((l) => i32[laneI32(l) + L_THREAD] === thread);
    const permit = budget.tryAcquireSync(1)!;
    const other = SharedBudget.open(budget.share());
    const waiter = other.acquire(1);
    await pause(10);
    // As a thread stopped halfway through leaving the line leaves it, holding the lock: the
    // count short, and the first in line a slot nobody waits in.
    const slot = i32[W_HEAD]!;
    expect(slot).toBeGreaterThanOrEqual(0);
    i32[W_HEAD] = (slot + 1) % i32[H_WAIT_SLOTS]!;
    i32[W_WAITING] = 0;
    expect(Atomics.compareExchange(i32, W_LOCK, 0, lane! + 1)).toBe(0);
    // Its thread reported gone: the lock is taken over, and its lane reclaimed.
    const watch = Object.assign(new EventEmitter(), { threadId: thread });
    budget.releaseOnExit(watch);
    watch.emit('exit');
    permit.releaseSync();
    const served = await Promise.race([waiter, pause(1_000).then(() => 'not served')]);
    expect(served).not.toBe('not served');
    (served as { releaseSync(): void }).releaseSync();
    expect(budget.snapshot()).toMatchObject({
      available: 1,
      held: 0,
      waiting: 0,
      lockTakeovers: 1,
    });
    other.close();
    budget.close();
  });

  it('a worker that exits on its own with holds is cleaned up by the exit watch', async () => {
    const budget = new SharedBudget(10);
    const worker = startWorker('./echo-worker.ts', budget.share()); // reserves 3 and ends
    budget.releaseOnExit(worker);
    await firstMessage(worker);
    await exited(worker);
    expect(budget.snapshot()).toMatchObject({ available: 10, held: 0, reclaimed: 3 });
    budget.close();
  });
});
