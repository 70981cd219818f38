// Hostile review: compose's waiting() over shared budgets, woken through watchFreed by
// releases in any thread. Races between a release in one thread and a waiter joining in
// another (a lost wake-up is a waiter that hangs while units are free), many lines on many
// handles, abort and timeout while a wake-up is pending, a line whose handle closes, the
// watcher count after churn and terminate(), and threads that must be able to exit.
//
// Regression (a defect the review found; fixed) — a waiting line over a handle whose lease was reclaimed (its thread's event loop was
// blocked for longer than `leaseMs`, and another handle called reclaimExpired()) hangs for
// good: its waiter is never served nor rejected, though the reclaim gave the units back and
// later releases free more. Expected: rejected with LEASE_EXPIRED, as core's
// SharedBudget.acquire() rejects its waiters at the reclaim. Cause: reclaimLane takes the lane's
// watcher count out of W_WATCHERS before reclaimWhere's wake() reads it, so nothing bumps
// H_FREED when that handle was the only watcher, and the handle is never counted again (see
// packages/core/test/shared-watch.hostile.test.ts).
import { SharedBudget, type SyncBudgetPermit } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { waiting } from '../src/index.js';
import { closesAfterEach, sleep } from './helpers/closing.js';
import { TestClock } from './helpers/test-clock.js';
import { exited, firstMessage, startWorker } from './shared-compose/spawn.js';

const W_WATCHERS = 17; // core's layout.ts: handles watching for freed units, across threads

const track = closesAfterEach();
const watchers = (b: SharedBudget) => Atomics.load(new Int32Array(b.share().buffer), W_WATCHERS);

type Outcome = { state: 'pending' | 'served' | 'failed'; code?: string };
function follow(p: Promise<SyncBudgetPermit>, release = true): Outcome {
  const o: Outcome = { state: 'pending' };
  p.then(
    (permit) => {
      o.state = 'served';
      if (release) permit.releaseSync();
    },
    (e: { code?: string }) => {
      o.state = 'failed';
      if (e.code !== undefined) o.code = e.code;
    },
  );
  return o;
}

describe('fixed: a waiting line over a handle whose lease was reclaimed', () => {
  it('rejects its waiter (LEASE_EXPIRED) instead of hanging while units are free', async () => {
    const clock = new TestClock(0);
    const budget = track(new SharedBudget(2, { clock, leaseMs: 1_000 }));
    const stalled = track(SharedBudget.open(budget.share(), { clock }));
    const line = track(waiting(stalled));
    expect(stalled.tryReserveSync(2)).toBe(true);
    const o = follow(line.acquire(1));
    await sleep(5);
    (stalled as unknown as { region: { stopHeartbeat(): void } }).region.stopHeartbeat();
    clock.advance(3_000);
    expect(budget.reclaimExpired()).toEqual({ handles: 1, units: 2 });
    await sleep(20);
    expect(budget.tryReserveSync(1)).toBe(true);
    budget.releaseSync(1);
    await sleep(50);
    expect(budget.available()).toBe(2);
    // Observed: { state: 'pending' } for good (line.pending 1).
    expect(o).toEqual({ state: 'failed', code: 'LEASE_EXPIRED' });
  });
});

describe('waiting() over shared budgets across threads: regressions worth keeping', () => {
  it('no lost wake-up: waiters joining in 3 workers while this thread releases, 120 rounds', async () => {
    const workers = 3;
    const rounds = 120;
    const budget = track(new SharedBudget(workers, { leaseMs: 60_000 }));
    const round = new SharedArrayBuffer(4);
    const counter = new Int32Array(round);
    const threads = Array.from({ length: workers }, () => {
      const w = startWorker('./hostile-worker.ts', {
        mode: 'line-rounds',
        descriptor: budget.share(),
        round,
        rounds,
        timeoutMs: 2_000,
      });
      budget.releaseOnExit(w);
      return w;
    });
    await Promise.all(threads.map((w) => firstMessage(w)));
    const failures: string[] = [];
    for (let r = 1; r <= rounds; r++) {
      expect(budget.tryReserveSync(workers)).toBe(true); // all units held here
      const replies = threads.map((w) => firstMessage<{ served: boolean; code?: string }>(w));
      Atomics.store(counter, 0, r);
      Atomics.notify(counter, 0);
      // Release at a varying moment relative to the waiters joining their lines.
      const spinUntil = performance.now() + (r % 12) * 0.03;
      while (performance.now() < spinUntil) {}
      budget.releaseSync(workers);
      for (const reply of await Promise.all(replies)) {
        if (!reply.served) failures.push(`round ${r}: ${reply.code}`);
      }
    }
    const done = threads.map((w) => firstMessage<{ done: { served: number } }>(w));
    const reports = await Promise.all(done);
    await Promise.all(threads.map((w) => exited(w)));
    expect(failures).toEqual([]);
    expect(reports.map((r) => r.done.served)).toEqual(threads.map(() => rounds));
    expect(budget.available()).toBe(workers);
    expect(watchers(budget)).toBe(0);
  }, 14_000);

  it('many lines on many handles in this thread are all served by a worker releasing unit by unit', async () => {
    const handles = 12;
    const units = 36;
    const budget = track(new SharedBudget(units, { leaseMs: 60_000 }));
    const worker = startWorker('./hostile-worker.ts', {
      mode: 'drip',
      descriptor: budget.share(),
      cost: units,
      seed: 5,
    });
    budget.releaseOnExit(worker);
    expect(await firstMessage(worker)).toEqual({ reserved: true });
    const lines = Array.from({ length: handles }, () => {
      const h = track(SharedBudget.open(budget.share()));
      return track(waiting(h));
    });
    // Three waiters per line, held once served: every unit goes to exactly one waiter.
    const outcomes = lines.flatMap((line, i) =>
      [1, 2, 3].map((n) => follow(line.acquire(1, { priority: (i + n) % 2 }), false)),
    );
    expect(watchers(budget)).toBe(handles);
    const released = firstMessage(worker);
    worker.postMessage('release');
    await released;
    for (let i = 0; i < 100 && outcomes.some((o) => o.state === 'pending'); i++) await sleep(10);
    expect(outcomes.filter((o) => o.state !== 'served')).toEqual([]);
    expect(budget.available()).toBe(0);
    await sleep(5);
    expect(watchers(budget)).toBe(0); // every line emptied: nobody listens
    worker.postMessage('stop');
    await exited(worker);
  }, 10_000);

  it('abort and timeout while a wake-up is pending: rejected, no unit kept, nobody left listening', async () => {
    const budget = track(new SharedBudget(4, { leaseMs: 60_000 }));
    const other = track(SharedBudget.open(budget.share()));
    const line = track(waiting(budget));
    for (let i = 0; i < 300; i++) {
      expect(other.tryReserveSync(4)).toBe(true);
      const controller = new AbortController();
      const aborted = follow(line.acquire(2, { signal: controller.signal }));
      const timed = follow(line.acquire(2, { timeoutMs: 1 }));
      const plain = follow(line.acquire(1, { timeoutMs: 2_000 }));
      other.releaseSync(4); // the wake-up is on its way (Atomics.waitAsync) ...
      if (i % 3 !== 2) controller.abort(); // ... and the head gives up before it arrives
      if (i % 2 === 0) await sleep(2); // the timeout may fire first, or not
      for (let j = 0; j < 50 && [aborted, timed, plain].some((o) => o.state === 'pending'); j++) {
        await sleep(1);
      }
      expect(plain.state).toBe('served');
      if (aborted.state === 'failed') expect(aborted.code).toBe('ABORTED');
      else expect(aborted.state).toBe('served');
      if (timed.state === 'failed') expect(timed.code).toBe('TIMEOUT');
      else expect(timed.state).toBe('served');
      // Whatever was served was released: the budget is whole again.
      expect(budget.available()).toBe(4);
      expect(line.pending).toBe(0);
    }
    await sleep(5);
    expect(watchers(budget)).toBe(0);
  }, 12_000);

  it('a line whose handle closes rejects every waiter with CLOSED; the count goes back', async () => {
    const budget = track(new SharedBudget(2));
    const other = SharedBudget.open(budget.share());
    const line = waiting(other);
    expect(budget.tryReserveSync(2)).toBe(true);
    const outcomes = [follow(line.acquire(1)), follow(line.acquire(2, { timeoutMs: 5_000 }))];
    expect(watchers(budget)).toBe(1);
    other.close();
    await sleep(20);
    expect(outcomes).toEqual([
      { state: 'failed', code: 'CLOSED' },
      { state: 'failed', code: 'CLOSED' },
    ]);
    expect(line.pending).toBe(0);
    expect(watchers(budget)).toBe(0);
    budget.releaseSync(2);
    expect(budget.available()).toBe(2);
  });

  it("the creator's close() rejects waiters of lines over other handles, in worker threads too", async () => {
    const budget = new SharedBudget(1);
    const held = budget.tryAcquireSync(1)!;
    const worker = startWorker('./hostile-worker.ts', {
      mode: 'served-then-idle',
      descriptor: budget.share(),
    });
    const here = follow(waiting(SharedBudget.open(budget.share())).acquire(1));
    expect(await firstMessage(worker)).toEqual({ waiting: true });
    const failed = new Promise<unknown>((resolve) => worker.once('error', resolve));
    budget.close();
    // The worker's await rejects (unhandled in the worker): it ends with the budget's error.
    expect(await failed).toEqual(expect.objectContaining({ code: 'CLOSED' }));
    await exited(worker);
    await sleep(10);
    expect(here).toEqual({ state: 'failed', code: 'CLOSED' });
    held.releaseSync();
  }, 10_000);

  it('a worker whose line was served exits by itself (nothing keeps its event loop open)', async () => {
    const budget = track(new SharedBudget(1, { leaseMs: 60_000 }));
    expect(budget.tryReserveSync(1)).toBe(true);
    const worker = startWorker('./hostile-worker.ts', {
      mode: 'served-then-idle',
      descriptor: budget.share(),
    });
    budget.releaseOnExit(worker);
    expect(await firstMessage(worker)).toEqual({ waiting: true });
    expect(watchers(budget)).toBe(1);
    const served = firstMessage(worker);
    budget.releaseSync(1);
    expect(await served).toEqual({ served: true });
    const code = await Promise.race([exited(worker), sleep(3_000).then(() => 'still running')]);
    if (code === 'still running') await worker.terminate();
    expect(code).toBe(0);
    expect(watchers(budget)).toBe(0);
  }, 10_000);

  it('thousands of watch cycles in 3 workers, with releases under way: the count is 0, and 0 after terminate()', async () => {
    const budget = track(new SharedBudget(50, { leaseMs: 60_000 }));
    const stop = new SharedArrayBuffer(4);
    const threads = [1, 2, 3].map((seed) => {
      const w = startWorker('./hostile-worker.ts', {
        mode: 'watch-churn',
        descriptor: budget.share(),
        cycles: 2_500,
        seed,
        stop,
      });
      budget.releaseOnExit(w);
      return w;
    });
    const churned = threads.map((w) => firstMessage<{ churned: boolean; heard: number }>(w));
    // Releases here meanwhile, so wake-ups are pending while listeners come and go.
    let done = false;
    void Promise.all(churned).then(() => {
      done = true;
    });
    while (!done) {
      if (budget.tryReserveSync(3)) budget.releaseSync(3);
      await sleep(0);
    }
    const heard = (await Promise.all(churned)).reduce((s, r) => s + r.heard, 0);
    expect(heard).toBeGreaterThan(0);
    expect(watchers(budget)).toBe(0); // threads alive, handles open, nobody listening
    // Watch again in one of them (it keeps listening), then terminate them all.
    const again = startWorker('./hostile-worker.ts', {
      mode: 'served-then-idle',
      descriptor: budget.share(),
      cost: 50,
    });
    budget.releaseOnExit(again);
    expect(budget.tryReserveSync(1)).toBe(true);
    expect(await firstMessage(again)).toEqual({ waiting: true });
    expect(watchers(budget)).toBe(1);
    await Promise.all([...threads, again].map((w) => w.terminate()));
    await sleep(20);
    expect(watchers(budget)).toBe(0);
    expect(budget.snapshot().reclaimedHandles).toBe(4);
    budget.releaseSync(1);
    expect(budget.available()).toBe(50);
  }, 14_000);
});
