import { allOf, anyOf, hierarchy, type SyncAllOf, slidingWindow } from '@budgetry/compose';
import {
  AtomicBudget,
  AtomicTokenBudget,
  type SyncBudgetGuard,
  type SyncTokenBudget,
  TokenBucket,
} from '@budgetry/core';
import type { ThroughputRow } from '../row.js';

const group = 'budgetry: compose allOf, more members and many member kinds';
const capacity = 1_000_000;

// Set in setup rather than a literal, so the JIT cannot fold it into the loops.
let cost = 0;

/** Members alternate between the two kinds a coordinator stacks: rows, then tokens. */
function rowsAndTokens(count: number): (AtomicBudget | AtomicTokenBudget)[] {
  return Array.from({ length: count }, (_, i) =>
    i % 2 === 0 ? new AtomicBudget(capacity) : new AtomicTokenBudget(capacity),
  );
}

/** The loop every row here measures: the count API, reserve + release, on one all-of. */
function countLoop(gate: SyncAllOf<string | number>, iterations: number): number {
  let granted = 0;
  for (let i = 0; i < iterations; i++) {
    if (gate.tryReserveSync(cost)) granted++;
    gate.releaseSync(cost);
  }
  return granted + gate.available();
}

function wideRow(members: number, atLeast: number): ThroughputRow {
  let gate: SyncAllOf<number> | undefined;
  return {
    kind: 'throughput',
    id: `compose-all-of-${members}`,
    name: `allOf over ${members} members (rows, tokens, rows, …) tryReserveSync + releaseSync`,
    group,
    // Each width in a process of its own: allOf's unrolled positions 4 to 7 would otherwise
    // share the 4-member row's optimised code (the README gives the figure together).
    process: `compose allOf: ${members} members`,
    reference: 'plain-sync',
    target: { label: `≥ ${atLeast}× plain-sync`, against: 'plain-sync', atLeast },
    setup() {
      cost = 1;
      gate = allOf(rowsAndTokens(members));
    },
    run: (iterations) => countLoop(gate!, iterations),
  };
}

let handMembers: [AtomicBudget, AtomicTokenBudget, AtomicBudget, AtomicTokenBudget] | undefined;

/**
 * The four members of `compose-all-of-4` driven by hand, straight-line, through their public
 * count API: reserve each in turn, stop at a denial and release what was reserved, else
 * release all four. What a caller pays without allOf.
 */
export const fourByHandRow: ThroughputRow = {
  kind: 'throughput',
  id: 'compose-members-by-hand-4',
  name: '4 members (rows, tokens, rows, tokens) by hand, no allOf: count API, reserve + release',
  group,
  process: 'compose allOf: 4 members',
  reference: 'plain-sync',
  setup() {
    cost = 1;
    handMembers = [
      new AtomicBudget(capacity),
      new AtomicTokenBudget(capacity),
      new AtomicBudget(capacity),
      new AtomicTokenBudget(capacity),
    ];
  },
  run(iterations) {
    const [a, b, c, d] = handMembers!;
    let granted = 0;
    for (let i = 0; i < iterations; i++) {
      if (!a.tryReserveSync(cost)) continue;
      if (b.tryReserveSync(cost)) {
        if (c.tryReserveSync(cost)) {
          if (d.tryReserveSync(cost)) {
            granted++;
            d.releaseSync(cost);
          }
          c.releaseSync(cost);
        }
        b.releaseSync(cost);
      }
      a.releaseSync(cost);
    }
    return granted + a.available() + d.available();
  },
};

/**
 * Every kind of member budgetry offers, as a program that uses them all would put them behind
 * allOf: core's three budgets, a sliding window, a hierarchy's tenant, an any-of and an all-of.
 */
const memberKinds: readonly (() => SyncBudgetGuard | SyncTokenBudget)[] = [
  () => new AtomicBudget(capacity),
  () => new AtomicTokenBudget(capacity),
  () => new TokenBucket({ burst: capacity, rate: capacity }),
  () => slidingWindow({ limit: capacity, windowMs: 60_000 }),
  () => hierarchy({ capacity, children: { capacity } }).child('tenant'),
  () => anyOf([new AtomicBudget(capacity), new AtomicBudget(capacity)]),
  () => allOf([new AtomicBudget(capacity), new AtomicBudget(capacity), new AtomicBudget(capacity)]),
];

let megamorphic: SyncAllOf<string> | undefined;

/**
 * The headline shape, allOf({ rows, tokens }), measured on purpose in a process where allOf
 * has already run over seven kinds of member in every pairing, and over all of them at once:
 * its member call sites have seen too many classes to specialise for any one of them.
 */
export const allOfMegamorphicRow: ThroughputRow = {
  kind: 'throughput',
  id: 'compose-all-of-megamorphic',
  name: 'allOf({ rows, tokens }) count API, after allOf ran over 7 member kinds in this process',
  group,
  process: 'compose allOf: megamorphic',
  reference: 'plain-sync',
  target: {
    label: '≥ 0.2× plain-sync (no eval / new Function)',
    against: 'plain-sync',
    atLeast: 0.2,
  },
  setup() {
    cost = 1;
    const gates: SyncAllOf<string | number>[] = [allOf(memberKinds.map((make) => make()))];
    for (const a of memberKinds) {
      for (const b of memberKinds) gates.push(allOf({ a: a(), b: b() }));
    }
    // Enough calls for the JIT to optimise allOf's code with all of them in its feedback.
    for (let round = 0; round < 20; round++) {
      for (const gate of gates) countLoop(gate, 2_000);
    }
    megamorphic = allOf({
      rows: new AtomicBudget(capacity),
      tokens: new AtomicTokenBudget(capacity),
    });
  },
  run: (iterations) => countLoop(megamorphic!, iterations),
};

/** Rows of this module, in table order. */
export const composeAllOfShapeRows: ThroughputRow[] = [
  wideRow(4, 0.15),
  fourByHandRow,
  wideRow(8, 0.08),
  allOfMegamorphicRow,
];
