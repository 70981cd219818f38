import type { ThroughputRow } from '../row.js';

/**
 * The same field arithmetic as `AtomicBudget`'s count API with nothing else: no input
 * validation, no observer check, no over-release accounting. It is what a JavaScript engine
 * can do for one reserve + release, so budgetry's overhead reads as a ratio to it.
 */
export class PlainBudget {
  private avail: number;
  private heldUnits = 0;

  constructor(capacity: number) {
    this.avail = capacity;
  }

  available(): number {
    return this.avail;
  }

  tryReserve(cost: number): boolean {
    if (cost > this.avail) return false;
    this.avail -= cost;
    this.heldUnits += cost;
    return true;
  }

  release(cost: number): void {
    this.heldUnits -= cost;
    this.avail += cost;
  }
}

/** {@link PlainBudget} with its methods declared `async`: the floor for any Promise API. */
export class PlainAsyncBudget {
  private avail: number;
  private heldUnits = 0;

  constructor(capacity: number) {
    this.avail = capacity;
  }

  available(): number {
    return this.avail;
  }

  async tryReserve(cost: number): Promise<boolean> {
    if (cost > this.avail) return false;
    this.avail -= cost;
    this.heldUnits += cost;
    return true;
  }

  async release(cost: number): Promise<void> {
    this.heldUnits -= cost;
    this.avail += cost;
  }
}

// Set in setup rather than a literal, so the JIT cannot fold the amount into the loop.
let cost = 0;
let plain = new PlainBudget(0);
let plainAsync = new PlainAsyncBudget(0);

/** The reference for synchronous rows. */
export const plainSyncRow: ThroughputRow = {
  kind: 'throughput',
  id: 'plain-sync',
  name: 'plain JS class: reserve + release',
  group: 'references',
  setup() {
    cost = 1;
    plain = new PlainBudget(1_000_000);
  },
  run(iterations) {
    const budget = plain;
    let granted = 0;
    for (let i = 0; i < iterations; i++) {
      if (budget.tryReserve(cost)) granted++;
      budget.release(cost);
    }
    return granted + budget.available();
  },
};

/** The reference for Promise rows: each call awaited in turn. */
export const plainAsyncRow: ThroughputRow = {
  kind: 'throughput',
  id: 'plain-async',
  name: 'plain JS class, async methods: await reserve + await release',
  group: 'references',
  setup() {
    cost = 1;
    plainAsync = new PlainAsyncBudget(1_000_000);
  },
  async run(iterations) {
    const budget = plainAsync;
    let granted = 0;
    for (let i = 0; i < iterations; i++) {
      if (await budget.tryReserve(cost)) granted++;
      await budget.release(cost);
    }
    return granted + budget.available();
  },
};

/** Rows of this module, in table order. */
export const plainReferenceRows = [plainSyncRow, plainAsyncRow];
