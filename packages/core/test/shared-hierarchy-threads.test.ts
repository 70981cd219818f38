// Worker threads hammering one SharedHierarchy on random tenants at depth 2 and 3: the final
// held of every node must equal what adding up every thread's own log says, on every run;
// and workers terminated mid-flight give back exactly what they held, once.
import { SharedHierarchy, type SharedHierarchyNode } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import type { HierarchyHammerInput, HierarchyHammerReport } from './shared/hierarchy-worker.js';
import { exited, firstMessage, startWorker } from './shared/spawn.js';

const TEMPLATE = {
  capacity: 200,
  children: { capacity: 60, children: { capacity: 25, children: { capacity: 10 } } },
};
const KEYS = ['a', 'b:{ }', '😀\n'] as const;

/** Every node of the tree below `node` (and itself), with its path. */
function walk(node: SharedHierarchyNode, path: string[] = []): [string[], SharedHierarchyNode][] {
  const out: [string[], SharedHierarchyNode][] = [[path, node]];
  if (node.depth < 3) {
    for (const key of node.keys()) out.push(...walk(node.child(key), [...path, key]));
  }
  return out;
}

/** What the logs say each node holds on its own (count API, permits, commits) in `epoch`. */
function ownByLogs(reports: HierarchyHammerReport[], epoch: number): Map<string, number> {
  const own = new Map<string, number>();
  const add = (id: string, units: number) => own.set(id, (own.get(id) ?? 0) + units);
  for (const r of reports) {
    for (const [id, units] of Object.entries(r.count)) add(id, units);
    for (const [id, log] of Object.entries(r.epochs[epoch] ?? {})) add(id, log.held + log.used);
  }
  return own;
}

function checkAgainstLogs(root: SharedHierarchy, own: Map<string, number>): number {
  let checked = 0;
  for (const [path, node] of walk(root)) {
    const id = JSON.stringify(path);
    let subtree = 0;
    for (const [other, units] of own) {
      const p = JSON.parse(other) as string[];
      if (p.length >= path.length && path.every((k, i) => p[i] === k)) subtree += units;
    }
    expect([id, node.ownHeld(), node.held()]).toEqual([
      id,
      path.length === 0 ? 0 : (own.get(id) ?? 0),
      subtree,
    ]);
    expect(node.held()).toBeLessThanOrEqual(node.capacity);
    checked++;
  }
  return checked;
}

async function hammer(workers: number, ops: number, mode: HierarchyHammerInput['mode']) {
  const root = new SharedHierarchy(TEMPLATE);
  const gate = new SharedArrayBuffer(4);
  const threads = Array.from({ length: workers }, (_, i) =>
    startWorker('./hierarchy-worker.ts', {
      descriptor: root.share() as never,
      seed: 0x9e3779b9 * (i + 1) + Date.now(),
      ops,
      mode,
      refiller: mode === 'epochs' && i === 0,
      gate,
      workers,
      keys: KEYS,
    } satisfies HierarchyHammerInput),
  );
  const reports = await Promise.all(threads.map((w) => firstMessage<HierarchyHammerReport>(w)));
  return { root, threads, reports };
}

describe('SharedHierarchy under worker threads', () => {
  for (const [workers, ops] of [
    [2, 1_000_000],
    [4, 500_000],
  ] as const) {
    it(`${workers} workers on random tenants: every node's held adds up to the logs`, async () => {
      const { root, threads, reports } = await hammer(workers, ops, 'mixed');
      expect(reports.reduce((n, r) => n + r.ops, 0)).toBe(workers * ops);
      expect(reports.every((r) => r.denied > 0)).toBe(true); // the tree was contended
      const checked = checkAgainstLogs(root, ownByLogs(reports, 0));
      expect(checked).toBe(1 + 3 + 9 + 27);
      expect(root.snapshot()).toMatchObject({ overReleased: 0, epoch: 0, nodes: 40 });
      for (const w of threads) w.postMessage('close');
      await Promise.all(threads.map(exited));
      // Closing each worker's handle gave back what it held; what commits kept stays spent.
      const used = reports.reduce(
        (n, r) => n + Object.values(r.epochs[0] ?? {}).reduce((a, l) => a + l.used, 0),
        0,
      );
      expect(root.snapshot()).toMatchObject({ held: used, handles: 1 });
      root.close();
    }, 180_000);
  }

  it('2 workers, permits with refills of the root from one of them: the final epoch adds up', async () => {
    const { root, threads, reports } = await hammer(2, 200_000, 'epochs');
    const epoch = root.epoch;
    expect(epoch).toBeGreaterThan(50);
    checkAgainstLogs(root, ownByLogs(reports, epoch));
    for (const w of threads) w.postMessage('close');
    await Promise.all(threads.map(exited));
    root.close();
  }, 180_000);
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('SharedHierarchy when workers are terminated holding units', () => {
  const churner = (root: SharedHierarchy, seed: number, gate: SharedArrayBuffer, n: number) =>
    startWorker('./hierarchy-worker.ts', {
      descriptor: root.share() as never,
      seed,
      ops: 0,
      mode: 'churn',
      refiller: false,
      gate,
      workers: n,
      keys: KEYS,
    } satisfies HierarchyHammerInput);

  it('gives their holds back on exit, node by node, exactly once', async () => {
    const root = new SharedHierarchy(TEMPLATE, { leaseMs: 2_000 });
    let reclaimedHandles = 0;
    for (let round = 0; round < 4; round++) {
      const gate = new SharedArrayBuffer(4);
      const workers = [1, 2].map((i) => churner(root, round * 7 + i, gate, 2));
      for (const w of workers) root.releaseOnExit(w);
      await Promise.all(workers.map((w) => firstMessage(w)));
      // The main thread takes part too, and holds something of its own through the kill.
      const mine = root.at('a', 'a');
      for (let i = 0; i < 2_000; i++) if (mine.tryReserveSync(1)) mine.releaseSync(1);
      const kept = mine.tryReserveSync(1) ? 1 : 0;
      await pause(10 + round * 7);
      expect(root.held()).toBeGreaterThan(kept);
      await Promise.all(workers.map((w) => w.terminate()));
      reclaimedHandles += 2;
      expect(root.snapshot()).toMatchObject({ held: kept, handles: 1, reclaimedHandles });
      for (const [path, node] of walk(root)) {
        const expected = path.length <= 2 && path.every((k) => k === 'a') ? kept : 0;
        expect([path, node.held()]).toEqual([path, expected]);
      }
      if (kept) mine.releaseSync(1);
    }
    const { reclaimed, lockTakeovers } = root.snapshot();
    expect(reclaimed).toBeGreaterThan(0);
    console.info(
      `hierarchy: terminated 8 workers mid-flight, ${reclaimed} units reclaimed, ${lockTakeovers} locks taken over`,
    );
    expect(root.reclaimExpired()).toEqual({ handles: 0, units: 0 });
    root.close();
  }, 60_000);

  it('without an exit watch, gives them back once the lease runs out', async () => {
    const root = new SharedHierarchy(TEMPLATE, { leaseMs: 1_000 });
    const worker = churner(root, 99, new SharedArrayBuffer(4), 1);
    await firstMessage(worker);
    await pause(30);
    await worker.terminate();
    const held = root.held();
    expect(held).toBeGreaterThan(0);
    // (The lease holding before it runs out is checked on a manual clock in
    // shared-hierarchy.test.ts; terminating a busy worker can itself take a lease's time.)
    await pause(1_300);
    expect(root.reclaimExpired()).toEqual({ handles: 1, units: held });
    expect(root.reclaimExpired()).toEqual({ handles: 0, units: 0 });
    expect(root.snapshot()).toMatchObject({ held: 0, reclaimed: held, reclaimedHandles: 1 });
    for (const [path, node] of walk(root)) expect([path, node.held()]).toEqual([path, 0]);
    root.close();
  }, 30_000);
});
