// Hostile review: allOf / anyOf over a shared member that throws, when the member is one of
// compose's own views of a core shared budget — a refill schedule over it (the usual way to
// say "N per minute across all workers") or a waiting line over it.
//
// FIXED (was a defect) — the combinators still "roll back" such a member when it throws: they read its
// availability before and after (`chargedBy` / `returnedBy` in internal/count-ledger.ts), which
// other threads move, and release `cost` when the difference happens to equal it. Only core's
// own classes are taken at their word (`failsClean` in internal/member-kind.ts checks the
// prototype), not compose's wrappers over them, though those throw only before anything changed
// whenever what they wrap does. Setting (as in shared-compose-rollback.test.ts): a
// SharedHierarchy handle that may hold on one node only (maxHoldsPerHandle 1) refuses with
// BACKEND, having charged nothing, while a worker reserves and releases 7 on node 't'.
// Expected: overReleased() 0 (nothing released that this thread did not reserve). Observed:
// - allOf / anyOf over lazyRefill(tree): units "released" on the root's count pool that it
//   never held, all counted as over-released (from 7 to ~16 000 per run, multiples of 7,
//   depending on how often the worker's reservation lands between the two reads);
// - allOf over waiting(tree.child('t')): the rollback releases the worker's own units on 't'
//   (so another thread could take units the worker still holds), and the worker's later
//   releases are counted as over-released (tens to thousands).
import { AtomicBudget, SharedHierarchy } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { allOf, anyOf, lazyRefill, waiting } from '../src/index.js';
import { exited, firstMessage, startWorker, waitAtGate } from './shared-compose/spawn.js';

async function run(make: (tree: SharedHierarchy) => () => void): Promise<{
  overReleased: number;
  thrown: number;
  worker: { reserved: number; released: number };
}> {
  const tree = new SharedHierarchy(
    { capacity: 1_000, children: { capacity: 1_000 } },
    { maxHoldsPerHandle: 1, leaseMs: 60_000 },
  );
  const attempt = make(tree);
  // This handle's one hold record goes to node 'u': reserving anywhere else is refused.
  const parked = tree.child('u').tryAcquireSync(1);
  expect(parked).not.toBeNull();
  const gate = new SharedArrayBuffer(4);
  const stop = new SharedArrayBuffer(4);
  const worker = startWorker('./composite-worker.ts', {
    mode: 'churn-node',
    tree: tree.share(),
    cost: 7,
    gate,
    workers: 2,
    stop,
  });
  tree.releaseOnExit(worker);
  const report = firstMessage<{ reserved: number; released: number }>(worker);
  waitAtGate(gate, 2);
  let thrown = 0;
  const until = Date.now() + 600;
  while (Date.now() < until) {
    for (let i = 0; i < 200; i++) {
      try {
        attempt();
      } catch (error) {
        expect((error as { code?: string }).code).toBe('BACKEND');
        thrown++;
      }
    }
  }
  Atomics.store(new Int32Array(stop), 0, 1);
  const fromWorker = await report;
  await exited(worker);
  const overReleased = tree.overReleased();
  parked!.releaseSync();
  expect(tree.held()).toBe(0);
  tree.close();
  return { overReleased, thrown, worker: fromWorker };
}

describe('fixed: allOf / anyOf roll back compose views of a shared budget that threw', () => {
  it('allOf over lazyRefill(SharedHierarchy)', async () => {
    const r = await run((tree) => {
      const both = allOf({
        rpm: lazyRefill(tree, { intervalMs: 60_000 }),
        local: new AtomicBudget(1e9),
      });
      return () => {
        if (both.tryReserveSync(7)) both.releaseSync(7);
      };
    });
    expect(r.thrown).toBeGreaterThan(0);
    expect(r.worker.reserved).toBe(r.worker.released);
    expect(r.overReleased).toBe(0); // observed: 7 … thousands
  }, 15_000);

  it('anyOf over lazyRefill(SharedHierarchy)', async () => {
    const r = await run((tree) => {
      const one = anyOf({ rpm: lazyRefill(tree, { intervalMs: 60_000 }) });
      return () => {
        if (one.tryReserveSync(7)) one.releaseSync(7);
      };
    });
    expect(r.thrown).toBeGreaterThan(0);
    expect(r.overReleased).toBe(0); // observed: 7 … thousands
  }, 15_000);

  it("allOf over waiting(node): the rollback releases the worker's units", async () => {
    const r = await run((tree) => {
      const both = allOf({ t: waiting(tree.child('t')), local: new AtomicBudget(1e9) });
      return () => {
        if (both.tryReserveSync(7)) both.releaseSync(7);
      };
    });
    expect(r.thrown).toBeGreaterThan(0);
    expect(r.overReleased).toBe(0); // observed: 7 … thousands
  }, 15_000);
});
