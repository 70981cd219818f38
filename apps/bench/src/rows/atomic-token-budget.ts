import { AtomicTokenBudget } from '@budgetry/core';
import type { ThroughputRow } from '../row.js';

const group = 'budgetry: AtomicTokenBudget';
// recordUsage spends what was used for good: room for a whole sample, still a small integer.
const capacity = 2 ** 30;

let estimate = 0;
let prompt = 0;
let completion = 0;

function setAmounts(): void {
  estimate = 100;
  prompt = 60;
  completion = 30;
}

/**
 * One op is the LLM-call lifecycle: reserve an estimate, then reconcile it with the
 * provider's usage (here a little under the estimate, so part of it is refunded).
 */
function syncRow(id: string, name: string, leakBackstop: boolean): ThroughputRow {
  let budget = new AtomicTokenBudget(0);
  return {
    kind: 'throughput',
    id,
    name,
    group,
    reference: 'plain-sync',
    setup() {
      setAmounts();
      budget = new AtomicTokenBudget(capacity, { leakBackstop });
    },
    run(iterations) {
      const b = budget;
      // Start a new epoch when the loop could run dry, once per run and outside the loop.
      if (b.available() < iterations * estimate) b.refill();
      let recorded = 0;
      for (let i = 0; i < iterations; i++) {
        const reservation = b.tryReserveTokensSync(estimate);
        if (reservation !== null) {
          b.recordUsageSync(reservation, prompt, completion);
          recorded++;
        }
      }
      return recorded;
    },
  };
}

let promiseBudget = new AtomicTokenBudget(0);

/** The Promise twins, each call awaited in turn. */
export const tokenPromiseRow: ThroughputRow = {
  kind: 'throughput',
  id: 'budgetry-tokens-async',
  name: 'AtomicTokenBudget await tryReserveTokens + await recordUsage',
  group,
  reference: 'plain-async',
  setup() {
    setAmounts();
    promiseBudget = new AtomicTokenBudget(capacity);
  },
  async run(iterations) {
    const b = promiseBudget;
    if (b.available() < iterations * estimate) b.refill();
    let recorded = 0;
    for (let i = 0; i < iterations; i++) {
      const reservation = await b.tryReserveTokens(estimate);
      if (reservation !== null) {
        await b.recordUsage(reservation, prompt, completion);
        recorded++;
      }
    }
    return recorded;
  },
};

/** Rows of this module, in table order. */
export const atomicTokenBudgetRows = [
  syncRow(
    'budgetry-tokens-sync',
    'AtomicTokenBudget tryReserveTokensSync + recordUsageSync (leak backstop on, default)',
    true,
  ),
  syncRow(
    'budgetry-tokens-sync-no-backstop',
    'AtomicTokenBudget tryReserveTokensSync + recordUsageSync (leakBackstop: false)',
    false,
  ),
  tokenPromiseRow,
];
