// Worker for the hostile reviews of shared budgets under compose (see *.hostile.test.ts).
// Modes:
// - `hammer`: takes permits (guard, token reservations or a hierarchy node) as fast as it can
//   until told to stop, committing each in full, and reports per epoch what it was admitted,
//   how many admissions began after the epoch's end or finished before its start;
// - `line-rounds`: one waiting line over its own handle; in each round (a counter in `round`)
//   acquires `cost` with a timeout and reports whether it was served;
// - `watch-churn`: subscribes and unsubscribes `cycles` times (some across a macrotask), then
//   says so and stays until told to stop;
// - `schedule-too`: attaches a lazyRefill of its own to its handle and reports whether it was
//   accepted; then reserves what it can each time it is told;
// - `served-then-idle`: waits in a line until served, releases, and leaves its event loop empty
//   (the thread should then exit by itself);
// - `reserve-at`: told `{ touchAt, reserveAt }` (clock readings), reads `available()` at the
//   first (which applies a boundary due) and reserves all it can at the second, then reports;
// - `drip`: reserves `cost` units (count API), says so, and when told releases them one at a
//   time, a few microseconds apart.
import { parentPort, workerData } from 'node:worker_threads';
import {
  SharedBudget,
  type SharedBudgetDescriptor,
  SharedHierarchy,
  SharedTokenBudget,
  type SyncBudgetPermit,
} from '@budgetry/core';
import { lazyRefill, waiting } from '../../src/index.js';
import { seededRandom, waitAtGate } from './spawn.js';

export interface HostileInput {
  mode:
    | 'hammer'
    | 'line-rounds'
    | 'watch-churn'
    | 'schedule-too'
    | 'served-then-idle'
    | 'reserve-at'
    | 'drip';
  kind?: 'guard' | 'tokens' | 'tree';
  descriptor: SharedBudgetDescriptor;
  id?: number;
  seed?: number;
  cost?: number;
  intervalMs?: number;
  startAt?: number;
  gate?: SharedArrayBuffer;
  workers?: number;
  /** Int32 flag: 1 means stop. */
  stop?: SharedArrayBuffer;
  /** Int32 round counter (line-rounds). */
  round?: SharedArrayBuffer;
  rounds?: number;
  cycles?: number;
  timeoutMs?: number;
}

export interface EpochLog {
  /** Units (or token estimates) admitted, per epoch the permit or reservation belongs to. */
  admitted: Record<number, number>;
  /** Admissions whose call began at or after the end of their epoch (clock ≥ next boundary). */
  stale: number;
  /** Admissions that finished before their epoch's boundary (an early refill). */
  early: number;
  /** Tokens recorded (tokens kind). */
  consumed: number;
  ops: number;
}

const input = workerData.data as HostileInput;
const port = parentPort!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

if (input.mode === 'hammer') {
  const stop = new Int32Array(input.stop!);
  const next = seededRandom(input.seed ?? 1);
  const boundary = (epoch: number) => input.startAt! + epoch * input.intervalMs!;
  const log: EpochLog = { admitted: {}, stale: 0, early: 0, consumed: 0, ops: 0 };
  const note = (epoch: number, units: number, before: number, after: number) => {
    log.admitted[epoch] = (log.admitted[epoch] ?? 0) + units;
    if (before >= boundary(epoch + 1)) log.stale++;
    if (after < boundary(epoch)) log.early++;
  };
  let close: () => void;
  let attempt: () => void;
  if (input.kind === 'tokens') {
    const tokens = SharedTokenBudget.open(input.descriptor, { leakBackstop: false });
    close = () => tokens.close();
    attempt = () => {
      const estimate = 1 + next(4);
      const before = Date.now();
      const r = tokens.tryReserveTokensSync(estimate);
      const after = Date.now();
      if (r === null) return;
      note(r.epoch, estimate, before, after);
      // Mostly exact, sometimes over the estimate (debt carried across boundaries).
      const actual = next(8) === 0 ? estimate + 1 + next(6) : estimate;
      tokens.recordUsageSync(r, actual, 0);
      log.consumed += actual;
    };
  } else if (input.kind === 'tree') {
    const tree = SharedHierarchy.open(input.descriptor, { leakBackstop: false });
    const node = tree.child(`w${input.id ?? 0}`);
    close = () => tree.close();
    attempt = () => {
      const cost = 1 + next(2);
      const before = Date.now();
      const p = node.tryAcquireSync(cost);
      const after = Date.now();
      if (p === null) return;
      note(p.epoch, cost, before, after);
      p.commitSync();
    };
  } else {
    const rows = SharedBudget.open(input.descriptor, { leakBackstop: false });
    close = () => rows.close();
    attempt = () => {
      const cost = 1 + next(2);
      if (next(16) === 0) rows.available(); // a read also applies a due boundary
      const before = Date.now();
      const p = rows.tryAcquireSync(cost);
      const after = Date.now();
      if (p === null) return;
      note(p.epoch, cost, before, after);
      p.commitSync();
    };
  }
  waitAtGate(input.gate!, input.workers!);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  while (Atomics.load(stop, 0) === 0) {
    for (let i = 0; i < 64; i++) {
      attempt();
      log.ops++;
    }
    // Two cores: leave the scheduling thread room to run its timer.
    Atomics.wait(pause, 0, 0, 0.2);
  }
  close();
  port.postMessage(log);
} else if (input.mode === 'line-rounds') {
  const rows = SharedBudget.open(input.descriptor, { leakBackstop: false });
  const line = waiting(rows);
  const round = new Int32Array(input.round!);
  const results: { served: number; failed: string[] } = { served: 0, failed: [] };
  port.postMessage({ ready: true });
  for (let r = 1; r <= input.rounds!; r++) {
    // Blocks this thread until the round starts: nothing of the line is pending between rounds.
    while (Atomics.load(round, 0) < r) Atomics.wait(round, 0, r - 1, 1_000);
    try {
      const permit = await line.acquire(input.cost ?? 1, { timeoutMs: input.timeoutMs ?? 2_000 });
      permit.releaseSync();
      results.served++;
      port.postMessage({ round: r, served: true });
    } catch (error) {
      const code = (error as { code?: string }).code ?? String(error);
      results.failed.push(`round ${r}: ${code}`);
      port.postMessage({ round: r, served: false, code });
    }
  }
  await sleep(5);
  rows.close();
  port.postMessage({ done: results });
} else if (input.mode === 'watch-churn') {
  const rows = SharedBudget.open(input.descriptor, { leakBackstop: false });
  const stop = new Int32Array(input.stop!);
  const next = seededRandom(input.seed ?? 7);
  let heard = 0;
  for (let i = 0; i < input.cycles!; i++) {
    const stops = [rows.watchFreed(() => heard++)];
    if (next(3) === 0) stops.push(rows.watchFreed(() => heard++));
    // Some cycles release a unit of their own while listening (a wake-up is then pending).
    if (next(4) === 0 && rows.tryReserveSync(1)) rows.releaseSync(1);
    if (next(5) === 0) await sleep(0);
    else if (next(2) === 0) await Promise.resolve();
    for (const s of stops) s();
  }
  port.postMessage({ churned: true, heard });
  while (Atomics.load(stop, 0) === 0) await sleep(5);
  rows.close();
  port.postMessage({ closed: true });
} else if (input.mode === 'schedule-too') {
  const rows = SharedBudget.open(input.descriptor, { leakBackstop: false });
  let scheduled: { tryReserveSync(c: number): boolean } = rows;
  let accepted = true;
  let code: string | undefined;
  try {
    scheduled = lazyRefill(rows, {
      intervalMs: input.intervalMs!,
      ...(input.startAt !== undefined ? { startAt: input.startAt } : {}),
    });
  } catch (error) {
    accepted = false;
    code = (error as { code?: string }).code;
  }
  port.postMessage({ accepted, code });
  port.on('message', (message) => {
    if (message === 'stop') {
      rows.close();
      port.close();
      return;
    }
    let admitted = 0;
    while (scheduled.tryReserveSync(1)) admitted++;
    port.postMessage({ admitted, epoch: rows.epoch });
  });
} else if (input.mode === 'served-then-idle') {
  const rows = SharedBudget.open(input.descriptor, { leakBackstop: false });
  const line = waiting(rows);
  const pending: Promise<SyncBudgetPermit> = line.acquire(input.cost ?? 1);
  port.postMessage({ waiting: true });
  const permit = await pending;
  permit.releaseSync();
  port.postMessage({ served: true });
  // Nothing else: the handle stays open, its heartbeat timer is unref'd, the line is empty.
} else if (input.mode === 'reserve-at') {
  const rows = SharedBudget.open(input.descriptor, { leakBackstop: false });
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const until = (t: number) => {
    while (Date.now() < t) Atomics.wait(pause, 0, 0, 1);
  };
  port.on('message', (message: { touchAt: number; reserveAt: number } | 'stop') => {
    if (message === 'stop') {
      rows.close();
      port.close();
      return;
    }
    until(message.touchAt);
    const touched = { at: Date.now(), available: rows.available(), epoch: rows.epoch };
    until(message.reserveAt);
    const at = Date.now();
    let admitted = 0;
    while (rows.tryReserveSync(1)) admitted++;
    port.postMessage({ touched, at, admitted, epoch: rows.epoch });
  });
  port.postMessage({ ready: true });
} else if (input.mode === 'drip') {
  const rows = SharedBudget.open(input.descriptor, { leakBackstop: false });
  const reserved = rows.tryReserveSync(input.cost!);
  port.postMessage({ reserved });
  port.on('message', (message) => {
    if (message === 'stop') {
      rows.close();
      port.close();
      return;
    }
    const next = seededRandom(input.seed ?? 3);
    for (let i = 0; i < input.cost!; i++) {
      rows.releaseSync(1);
      const spinUntil = performance.now() + next(40) / 1_000;
      while (performance.now() < spinUntil) {}
    }
    port.postMessage({ released: input.cost });
  });
}
