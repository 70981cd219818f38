/*
 * The worker side of the shared-memory rows (shared-memory.ts): each of the two bench workers
 * runs this module. Every row sends `setup` once with its shared buffers, then one op per
 * measured run; each loop is its own function, so the JIT's feedback for one row's calls never
 * mixes with another's. Nothing here allocates in the timed loops except the per-run arrays of
 * latencies.
 */
import type { MessagePort } from 'node:worker_threads';
import { SharedBudget, type SharedBudgetDescriptor, StripedSharedBudget } from '@budgetry/core';
import { serve, type WorkerRequest } from '../worker-thread.js';
import {
  C_DONE,
  C_GATE,
  C_READY,
  C_TAKEN,
  F_T0,
  median,
  nowNs,
  spinNs,
} from './shared-memory-control.js';

/** What one row keeps in this worker between runs. */
interface RowState {
  /** Control words: the start gate, the wake handshake. */
  readonly ctl: Int32Array;
  /** The same control buffer as Float64: the release time of the wake row. */
  readonly ctlF: Float64Array;
  budget?: SharedBudget;
  i32?: Int32Array;
  i64?: BigInt64Array;
  port?: MessagePort;
  /** The port row's resolver of the next pong. */
  pong?: () => void;
  /** Handshakes done so far (the wake row); both workers count alike. */
  seq: number;
}

const rows = new Map<string, RowState>();

function state(request: WorkerRequest): RowState {
  const row = rows.get(request['key'] as string);
  if (row === undefined) throw new Error(`no setup for ${String(request['key'])}`);
  return row;
}

/**
 * How long a worker waits for the other at a gate or handshake before it gives up: far longer
 * than any run, so only a failed or stuck partner hits it, and the row fails instead of the
 * run hanging.
 */
const patienceNs = 10e9;

/** Spins at the start gate before sleeping on it: about as long as a message takes to arrive. */
const gateSpins = 20_000;

/**
 * Both workers of a run start together: each adds itself to the gate word, and waits until the
 * gate has seen the count the main thread expects for this run (2 per run); the last to arrive
 * wakes the other. The first spins a little, then sleeps in `Atomics.wait`: spinning for long
 * would keep a core from the other worker, or from V8's compiler threads, on a 2-core machine,
 * and the scheduler would hand it back only after a time slice of milliseconds.
 */
function passGate(ctl: Int32Array, gate: number): void {
  if (Atomics.add(ctl, C_GATE, 1) + 1 >= gate) {
    Atomics.notify(ctl, C_GATE);
    return;
  }
  for (let spins = 0; spins < gateSpins; spins++) {
    if (Atomics.load(ctl, C_GATE) >= gate) return;
  }
  const deadline = nowNs() + patienceNs;
  for (;;) {
    const seen = Atomics.load(ctl, C_GATE);
    if (seen >= gate) return;
    if (nowNs() > deadline) throw new Error('the other worker never reached the start gate');
    Atomics.wait(ctl, C_GATE, seen, 100);
  }
}

/** Blocks this worker (`Atomics.wait`) until the control word reaches `value`. */
function waitFor(ctl: Int32Array, index: number, value: number): void {
  const deadline = nowNs() + patienceNs;
  for (;;) {
    const seen = Atomics.load(ctl, index);
    if (seen >= value) return;
    if (nowNs() > deadline) throw new Error(`the other worker never signalled ${index} = ${value}`);
    Atomics.wait(ctl, index, seen, 100);
  }
}

function signal(ctl: Int32Array, index: number, value: number): void {
  Atomics.store(ctl, index, value);
  Atomics.notify(ctl, index);
}

/** `n` pairs of `tryReserveSync(1)` + `releaseSync(1)` on one shared budget. */
function budgetPairs(budget: SharedBudget, n: number): number {
  let granted = 0;
  for (let i = 0; i < n; i++) {
    if (budget.tryReserveSync(1)) {
      granted++;
      budget.releaseSync(1);
    }
  }
  return granted;
}

/** The same loop on a striped handle: a function of its own, so its feedback stays apart. */
function stripedPairs(budget: SharedBudget, n: number): number {
  let granted = 0;
  for (let i = 0; i < n; i++) {
    if (budget.tryReserveSync(1)) {
      granted++;
      budget.releaseSync(1);
    }
  }
  return granted;
}

/** Takes `cost` from an Int32 word unless that would take it below 0. */
function reserve32(word: Int32Array, cost: number): boolean {
  let seen = Atomics.load(word, 0);
  for (;;) {
    if (seen < cost) return false;
    const before = Atomics.compareExchange(word, 0, seen, seen - cost);
    if (before === seen) return true;
    seen = before;
  }
}

/** Gives `cost` back to an Int32 word unless that would take it above `capacity`. */
function release32(word: Int32Array, cost: number, capacity: number): boolean {
  let seen = Atomics.load(word, 0);
  for (;;) {
    if (seen > capacity - cost) return false;
    const before = Atomics.compareExchange(word, 0, seen, seen + cost);
    if (before === seen) return true;
    seen = before;
  }
}

function cas32Pairs(word: Int32Array, n: number, capacity: number): number {
  let granted = 0;
  for (let i = 0; i < n; i++) {
    if (reserve32(word, 1)) {
      granted++;
      release32(word, 1, capacity);
    }
  }
  return granted;
}

/** {@link reserve32} on a BigInt64 word: the same loop, 64-bit amounts. */
function reserve64(word: BigInt64Array, cost: bigint): boolean {
  let seen = Atomics.load(word, 0);
  for (;;) {
    if (seen < cost) return false;
    const before = Atomics.compareExchange(word, 0, seen, seen - cost);
    if (before === seen) return true;
    seen = before;
  }
}

function release64(word: BigInt64Array, cost: bigint, capacity: bigint): boolean {
  let seen = Atomics.load(word, 0);
  for (;;) {
    if (seen > capacity - cost) return false;
    const before = Atomics.compareExchange(word, 0, seen, seen + cost);
    if (before === seen) return true;
    seen = before;
  }
}

function cas64Pairs(word: BigInt64Array, n: number, cost: bigint, capacity: bigint): number {
  let granted = 0;
  for (let i = 0; i < n; i++) {
    if (reserve64(word, cost)) {
      granted++;
      release64(word, cost, capacity);
    }
  }
  return granted;
}

/**
 * The waiter of the wake row, `n` times: `acquire(1)` on the empty budget (it queues at
 * once), tell the releaser it waits, and when the permit is ours read the clock: the latency
 * is from the releaser's clock reading just before its `releaseSync(1)` to here. Then give the
 * unit back and wait until the releaser holds it again, so the next `acquire` queues too.
 *
 * @returns the median latency in nanoseconds.
 */
async function wakeWaiter(row: RowState, n: number): Promise<number> {
  const { ctl, ctlF } = row;
  const budget = row.budget!;
  const latencies = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const seq = row.seq + i + 1;
    const pending = budget.acquire(1);
    signal(ctl, C_READY, seq);
    const permit = await pending;
    const latency = nowNs() - ctlF[F_T0]!;
    if (!(latency > 0)) throw new Error('the permit came before the release');
    latencies[i] = latency;
    permit.releaseSync();
    signal(ctl, C_DONE, seq);
    waitFor(ctl, C_TAKEN, seq);
  }
  row.seq += n;
  return median(latencies);
}

/**
 * The releaser of the wake row: it holds the budget's one unit (count API). Per handshake it
 * waits until the waiter is in line, lets the waiter's thread settle into its event loop
 * (`settleNs` of spinning, so the waiter is asleep, not still finishing its turn), reads the
 * clock, releases, and takes the unit back once the waiter has released it.
 */
function wakeReleaser(row: RowState, n: number, settleNs: number): number {
  const { ctl, ctlF } = row;
  const budget = row.budget!;
  for (let i = 0; i < n; i++) {
    const seq = row.seq + i + 1;
    waitFor(ctl, C_READY, seq);
    // The waiter must be in line, or the event would time a grant, not a wake-up.
    if (budget.snapshot().waiting !== 1) throw new Error('the waiter is not in line');
    spinNs(settleNs);
    ctlF[F_T0] = nowNs();
    budget.releaseSync(1);
    waitFor(ctl, C_DONE, seq);
    if (!budget.tryReserveSync(1)) throw new Error('the releaser could not take its unit back');
    signal(ctl, C_TAKEN, seq);
  }
  row.seq += n;
  return n;
}

/**
 * The ping side of the port row, `n` times: read the clock, post, await the echo, read the
 * clock again.
 *
 * @returns the median round trip in nanoseconds.
 */
async function portPing(row: RowState, n: number): Promise<number> {
  const port = row.port!;
  const trips = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const pong = new Promise<void>((resolve) => {
      row.pong = resolve;
    });
    const t0 = nowNs();
    port.postMessage(i);
    await pong;
    trips[i] = nowNs() - t0;
  }
  return median(trips);
}

serve({
  setup(request) {
    const ctlBuffer = request['ctl'] as SharedArrayBuffer;
    const row: RowState = {
      ctl: new Int32Array(ctlBuffer),
      ctlF: new Float64Array(ctlBuffer),
      seq: 0,
    };
    const descriptor = request['budget'] as SharedBudgetDescriptor | undefined;
    if (descriptor !== undefined) {
      const openOptions = request['openOptions'] as { slice: number } | undefined;
      row.budget =
        openOptions === undefined
          ? SharedBudget.open(descriptor)
          : StripedSharedBudget.open(descriptor, openOptions);
    }
    const i32 = request['i32'] as SharedArrayBuffer | undefined;
    if (i32 !== undefined) row.i32 = new Int32Array(i32);
    const i64 = request['i64'] as SharedArrayBuffer | undefined;
    if (i64 !== undefined) row.i64 = new BigInt64Array(i64);
    const port = request['port'] as MessagePort | undefined;
    if (port !== undefined) {
      row.port = port;
      if (request['echo'] === true) port.on('message', (m) => port.postMessage(m));
      else port.on('message', () => row.pong?.());
    }
    rows.set(request['key'] as string, row);
  },
  budgetPairs(request) {
    const row = state(request);
    passGate(row.ctl, request['gate'] as number);
    return budgetPairs(row.budget!, request['n'] as number);
  },
  stripedPairs(request) {
    const row = state(request);
    passGate(row.ctl, request['gate'] as number);
    return stripedPairs(row.budget!, request['n'] as number);
  },
  cas32Pairs(request) {
    const row = state(request);
    passGate(row.ctl, request['gate'] as number);
    return cas32Pairs(row.i32!, request['n'] as number, request['capacity'] as number);
  },
  cas64Pairs(request) {
    const row = state(request);
    passGate(row.ctl, request['gate'] as number);
    return cas64Pairs(row.i64!, request['n'] as number, 1n, request['capacity'] as bigint);
  },
  reserve(request) {
    return state(request).budget!.tryReserveSync(request['cost'] as number);
  },
  release(request) {
    state(request).budget!.releaseSync(request['cost'] as number);
  },
  wakeWaiter: (request) => wakeWaiter(state(request), request['n'] as number),
  wakeReleaser: (request) =>
    wakeReleaser(state(request), request['n'] as number, request['settleNs'] as number),
  portPing: (request) => portPing(state(request), request['n'] as number),
  close(request) {
    const row = rows.get(request['key'] as string);
    rows.delete(request['key'] as string);
    row?.budget?.close();
    row?.port?.close();
  },
});
