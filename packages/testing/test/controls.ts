// Correct implementations, as data: every one must pass every check. The conformance test
// registers them; the measurement test reruns them on random seeds to count false alarms.
import {
  AtomicBudget,
  AtomicTokenBudget,
  SharedBudget,
  SharedHierarchy,
  SharedTokenBudget,
} from '@budgetry/core';
import {
  type CheckOptions,
  checkAllOf,
  checkAnyOf,
  checkGuard,
  checkHierarchy,
  checkTokenBudget,
  type GuardSuite,
  type TokenBudgetSuite,
} from '../src/index.js';
import { type Boundary, boundaries } from './outside/boundary.js';
import { PlainGuard } from './outside/plain-guard.js';
import { PlainTokenBudget } from './outside/plain-token-budget.js';
import { referenceAllOf, referenceAnyOf, referenceHierarchy } from './reference-combinators.js';
import { ReferenceRefill } from './reference-refill.js';
import { RemoteGuard } from './remote-guard.js';
import { BugGuard } from './review/bug-guard.js';
import { BugTokenBudget } from './review/bug-token-budget.js';
import {
  QueuedGuard,
  SlowReplies,
  syncGuard,
  ThrowOnSecondSettle,
  TryLockGuard,
  undefinedDisarm,
} from './review/correct-budgets.js';
import { ToyGuard } from './toy-guard.js';
import { ToyTokenBudget } from './toy-token-budget.js';

type Policy = 'reset' | 'carry';
const policies: readonly Policy[] = ['reset', 'carry'];

/** Every boundary under `reset`; under `carry`, the microtask one (the others are slower and add little). */
function boundariesFor(policy: Policy): readonly Boundary[] {
  return policy === 'reset' ? boundaries : ['microtask'];
}

/** Suites for backends: core's budgets and the outside controls, under both policies. */
export const controlSuites: readonly (Omit<GuardSuite, 'test'> | Omit<TokenBudgetSuite, 'test'>)[] =
  policies.flatMap((policy) => [
    {
      kind: 'guard' as const,
      name: `AtomicBudget (${policy})`,
      factory: ({ capacity }: { capacity: number }) =>
        new AtomicBudget(capacity, { refillPolicy: policy, leakBackstop: false }),
      capabilities: {
        available: true,
        permits: { dispose: 'both' as const, partialCommit: true },
        refill: { policy, batch: true },
      },
    },
    {
      kind: 'token-budget' as const,
      name: `AtomicTokenBudget (${policy})`,
      factory: ({ capacity }: { capacity: number }) =>
        new AtomicTokenBudget(capacity, { refillPolicy: policy, leakBackstop: false }),
      capabilities: {
        available: true,
        debt: true,
        countApi: true,
        asyncDispose: true,
        refill: { policy, batch: true },
      },
    },
    {
      kind: 'guard' as const,
      name: `SharedBudget, a reopened handle (${policy})`,
      factory: ({ capacity }: { capacity: number }) =>
        SharedBudget.open(
          new SharedBudget(capacity, { refillPolicy: policy, leakBackstop: false }).share(),
          { leakBackstop: false },
        ),
      capabilities: {
        available: true,
        permits: { dispose: 'both' as const, partialCommit: true },
        refill: { policy, batch: true },
      },
    },
    {
      kind: 'token-budget' as const,
      name: `SharedTokenBudget, a reopened handle (${policy})`,
      factory: ({ capacity }: { capacity: number }) =>
        SharedTokenBudget.open(
          new SharedTokenBudget(capacity, { refillPolicy: policy, leakBackstop: false }).share(),
          { leakBackstop: false },
        ),
      capabilities: {
        available: true,
        debt: true,
        countApi: true,
        asyncDispose: true,
        refill: { policy, batch: true },
      },
    },
    ...boundariesFor(policy).map((boundary: Boundary) => ({
      kind: 'guard' as const,
      name: `outside guard (${boundary}, ${policy})`,
      factory: ({ capacity }: { capacity: number }) =>
        new PlainGuard(capacity, { policy, boundary }),
      capabilities: { available: true, permits: true, refill: { policy } },
      // A timer turn per call: fewer runs keep the suite quick.
      ...(boundary === 'socket' ? { options: { numRuns: 15 } } : {}),
    })),
    ...boundariesFor(policy).map((boundary: Boundary) => ({
      kind: 'token-budget' as const,
      name: `outside token budget (${boundary}, ${policy})`,
      factory: ({ capacity }: { capacity: number }) =>
        new PlainTokenBudget(capacity, { policy, boundary }),
      capabilities: { available: true, debt: true, refill: { policy } },
      ...(boundary === 'socket' ? { options: { numRuns: 15 } } : {}),
    })),
  ]);

/** Other correct subjects, each checked once. */
export const controlChecks: readonly {
  name: string;
  run: (o: CheckOptions) => Promise<unknown>;
}[] = [
  {
    name: 'AtomicBudget seen as a black box (count API only)',
    run: (o) =>
      checkGuard(({ capacity }) => {
        const b = new AtomicBudget(capacity, { leakBackstop: false });
        return { tryReserve: (c: number) => b.tryReserve(c), release: (c: number) => b.release(c) };
      }, o),
  },
  {
    name: 'AtomicTokenBudget with a debt cap',
    run: (o) =>
      checkTokenBudget(
        ({ capacity }) => new AtomicTokenBudget(capacity, { maxDebt: 3, leakBackstop: false }),
        {
          ...o,
          capabilities: { available: true, debt: true, maxDebt: 3, refill: { policy: 'reset' } },
        },
      ),
  },
  {
    name: 'toy guard without a bug (hop)',
    run: (o) =>
      checkGuard((ctx) => new ToyGuard(ctx.capacity, 'none', ctx.hop), {
        ...o,
        capabilities: { available: true, permits: true, refill: { policy: 'reset' } },
      }),
  },
  {
    name: 'toy token budget without a bug',
    run: (o) =>
      checkTokenBudget(({ capacity }) => new ToyTokenBudget(capacity, 'none'), {
        ...o,
        capabilities: { available: true, debt: true, refill: { policy: 'reset' } },
      }),
  },
  {
    name: 'a remote guard whose replies get lost',
    run: (o) =>
      checkGuard((ctx) => new RemoteGuard(ctx.capacity, ctx.hop), {
        ...o,
        capabilities: { available: true, timeouts: true },
      }),
  },
  ...policies.map((policy) => ({
    name: `reference clock refill (${policy})`,
    run: (o: CheckOptions) =>
      checkGuard(({ capacity, clock }) => new ReferenceRefill(capacity, policy, clock, 1_000), {
        ...o,
        capabilities: { available: true, permits: true, refill: { policy, by: 'clock' as const } },
      }),
  })),
  ...policies.map((policy) => ({
    name: `review guard without a bug, partial commit (${policy})`,
    run: (o: CheckOptions) =>
      checkGuard(({ capacity }) => new BugGuard(capacity, { policy }), {
        ...o,
        capabilities: { available: true, permits: { partialCommit: true }, refill: { policy } },
      }),
  })),
  ...policies.map((policy) => ({
    name: `review token budget without a bug, count API and a debt cap (${policy})`,
    run: (o: CheckOptions) =>
      checkTokenBudget(({ capacity }) => new BugTokenBudget(capacity, policy, 'none', 3), {
        ...o,
        capabilities: {
          available: true,
          debt: true,
          countApi: true,
          maxDebt: 3,
          refill: { policy },
        },
      }),
  })),
  {
    name: 'permits whose second settle throws ALREADY_SETTLED',
    run: (o) =>
      checkGuard(({ capacity, policy }) => new ThrowOnSecondSettle(capacity, policy), {
        ...o,
        capabilities: { available: true, permits: true, refill: { policy: 'reset' } },
      }),
  },
  {
    name: 'a try-lock guard that denies when contended (linearizable: false)',
    run: (o) =>
      checkGuard(({ capacity }) => new TryLockGuard(capacity), {
        ...o,
        capabilities: { available: true, linearizable: false },
      }),
  },
  {
    name: 'a fully synchronous guard (plain values, sync dispose)',
    run: (o) =>
      checkGuard(({ capacity, policy }) => syncGuard(capacity, policy), {
        ...o,
        capabilities: {
          available: true,
          permits: { dispose: 'sync' },
          refill: { policy: 'carry' },
        },
      }),
  },
  {
    name: 'a guard serialised through one queue',
    run: (o) =>
      checkGuard(({ capacity, policy }) => new QueuedGuard(capacity, policy), {
        ...o,
        capabilities: { available: true, permits: true, refill: { policy: 'reset' } },
      }),
  },
  {
    name: 'replies that arrive 1 ms after the change',
    run: (o) =>
      checkGuard(({ capacity, policy }) => new SlowReplies(capacity, policy, 1), {
        ...o,
        numRuns: 10,
        capabilities: { available: true, permits: true, refill: { policy: 'reset' } },
      }),
  },
  {
    name: 'a token budget whose disarm() answers undefined, and denies with undefined',
    run: (o) =>
      checkTokenBudget(({ capacity, policy }) => undefinedDisarm(capacity, policy), {
        ...o,
        capabilities: { available: true, debt: true, refill: { policy: 'reset' } },
      }),
  },
  {
    name: 'SharedHierarchy, a reopened handle: parent and children in one buffer',
    run: (o) =>
      checkHierarchy(({ capacities }) => {
        const [parent, ...children] = capacities;
        const created = new SharedHierarchy(
          { capacity: parent!, children: { capacity: 0 } },
          { leakBackstop: false },
        );
        const root = SharedHierarchy.open(created.share(), { leakBackstop: false });
        // Children are made through the creator and found again by key through the reopened
        // handle, so the check also covers a node another handle created.
        for (const [i, c] of children.entries()) created.child(`child ${i}`, { capacity: c });
        const nodes = children.map((_, i) => root.child(`child ${i}`));
        return {
          tryAcquire: (child, cost) => (child === null ? root : nodes[child]!).tryAcquireSync(cost),
          available: () => [root, ...nodes].map((n) => n.capacity - n.held()),
        };
      }, o),
  },
  {
    name: 'reference all-of over members that throw',
    run: (o) =>
      checkAllOf(({ capacities, members }) => referenceAllOf(capacities, undefined, members), {
        ...o,
        faultyMembers: true,
      }),
  },
  {
    name: 'reference all-of over three members',
    run: (o) =>
      checkAllOf(({ capacities }) => referenceAllOf(capacities), { ...o, capacities: [10, 6, 8] }),
  },
  {
    name: 'reference any-of over members that throw',
    run: (o) =>
      checkAnyOf(({ capacities, members }) => referenceAnyOf(capacities, undefined, members), {
        ...o,
        faultyMembers: true,
      }),
  },
  {
    name: 'reference hierarchy over members that throw',
    run: (o) =>
      checkHierarchy(
        ({ capacities, members }) => referenceHierarchy(capacities, undefined, members),
        { ...o, faultyMembers: true },
      ),
  },
];
