import { allOf, type SyncAllOf } from '@budgetry/compose';
import { AtomicBudget, AtomicTokenBudget } from '@budgetry/core';
import type { ThroughputRow } from '../row.js';

const group = 'budgetry: compose allOf (rows + tokens)';
/**
 * Processes (see the README's "Process isolation"). A combinator's member call sites learn the
 * member classes they see; rows that feed them other classes run elsewhere, so the headline
 * is measured as a program that uses allOf over rows and tokens sees it.
 */
const headline = 'compose allOf: rows + tokens';
const capacity = 1_000_000;

/*
 * What "reserve + release" means for the token member. allOf puts an AtomicTokenBudget
 * behind compose's tokenGuard: a reserve is `tryReserveTokensSync(cost)` (a TokenReservation,
 * watched by the leak backstop unless it is off) and a release refunds that reservation
 * (`reservation[Symbol.dispose]()`), which returns the whole estimate. Refunding is the
 * token budget's release; recording usage would be a commit, which the plain pair has no
 * counterpart for. Every row below does exactly that to the token member.
 */

// Set in setup rather than literals, so the JIT cannot fold them into the loops.
let cost = 0;

function setAmounts(): void {
  cost = 1;
}

let rows = new AtomicBudget(0);
let tokens = new AtomicTokenBudget(0);

/**
 * The same two members driven by hand through their public count API, with no combinator:
 * reserve rows, reserve tokens, and on success release both, each call checking its argument
 * and its observer. What a caller pays without allOf (which checks the cost once and, over
 * core budgets, changes the members' counts in place when nobody is told).
 */
export const membersByHandRow: ThroughputRow = {
  kind: 'throughput',
  id: 'compose-members-by-hand',
  name: 'AtomicBudget + AtomicTokenBudget by hand, no allOf: count API on both, reserve + release',
  group,
  process: headline,
  reference: 'plain-sync',
  setup() {
    setAmounts();
    rows = new AtomicBudget(capacity);
    tokens = new AtomicTokenBudget(capacity);
  },
  run(iterations) {
    const r = rows;
    const t = tokens;
    let granted = 0;
    for (let i = 0; i < iterations; i++) {
      if (!r.tryReserveSync(cost)) continue;
      if (t.tryReserveSync(cost)) {
        granted++;
        t.releaseSync(cost);
      }
      r.releaseSync(cost);
    }
    return granted + r.available() + t.available();
  },
};

/**
 * The count-API rows share one loop (closures from one site share the JIT's feedback); the
 * combinators differ in their members, which is the point of the comparison.
 */
function countRow(
  id: string,
  name: string,
  build: () => SyncAllOf<string>,
  extra: Partial<ThroughputRow> = {},
): ThroughputRow {
  let combined: SyncAllOf<string> | undefined;
  return {
    kind: 'throughput',
    id,
    name,
    group,
    process: headline,
    reference: 'plain-sync',
    ...extra,
    setup() {
      setAmounts();
      combined = build();
    },
    run(iterations) {
      const both = combined!;
      let granted = 0;
      for (let i = 0; i < iterations; i++) {
        if (both.tryReserveSync(cost)) granted++;
        both.releaseSync(cost);
      }
      return granted + both.available();
    },
  };
}

/** The headline: BRIEF.md's "all-of (rows + tokens), sync", count API, defaults everywhere. */
export const allOfSyncRow = countRow(
  'compose-all-of-sync',
  'allOf({ rows, tokens }) tryReserveSync + releaseSync (leak backstop on, default)',
  () => allOf({ rows: new AtomicBudget(capacity), tokens: new AtomicTokenBudget(capacity) }),
  { target: { label: '≥ 0.3× plain-sync', against: 'plain-sync', atLeast: 0.3 } },
);

/** The same with the token budget's backstop off: what the backstop costs per op. */
export const allOfSyncNoBackstopRow = countRow(
  'compose-all-of-sync-no-backstop',
  'allOf({ rows, tokens }) tryReserveSync + releaseSync (tokens leakBackstop: false)',
  () =>
    allOf({
      rows: new AtomicBudget(capacity),
      tokens: new AtomicTokenBudget(capacity, { leakBackstop: false }),
    }),
);

/** Two count budgets, no token member: the combinator's own cost. */
export const allOfTwoBudgetsRow = countRow(
  'compose-all-of-two-budgets',
  'allOf({ a, b }) over two AtomicBudgets, tryReserveSync + releaseSync',
  () => allOf({ a: new AtomicBudget(capacity), b: new AtomicBudget(capacity) }),
  { process: 'compose allOf: two AtomicBudgets' },
);

let permitCombined: SyncAllOf<'rows' | 'tokens'> | undefined;

/** Handles: one permit across both members, released; both backstops on, as a user gets them. */
export const allOfPermitRow: ThroughputRow = {
  kind: 'throughput',
  id: 'compose-all-of-permit',
  name: 'allOf({ rows, tokens }) tryAcquireSync + permit.releaseSync() (leak backstop on, default)',
  group,
  process: headline,
  reference: 'plain-sync',
  setup() {
    setAmounts();
    permitCombined = allOf({
      rows: new AtomicBudget(capacity),
      tokens: new AtomicTokenBudget(capacity),
    });
  },
  run(iterations) {
    const both = permitCombined!;
    let settled = 0;
    for (let i = 0; i < iterations; i++) {
      const permit = both.tryAcquireSync(cost);
      if (permit?.releaseSync()) settled++;
    }
    return settled + both.available();
  },
};

/** Rows of this module, in table order. */
export const composeAllOfRows: ThroughputRow[] = [
  allOfSyncRow,
  allOfPermitRow,
  allOfSyncNoBackstopRow,
  membersByHandRow,
  allOfTwoBudgetsRow,
];
