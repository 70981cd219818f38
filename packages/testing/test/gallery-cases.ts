// The gallery of deliberately broken implementations, as data: the gallery test pins seeds
// and asserts each is caught and shrunk; the measurement test reruns them on random seeds.
// Two families: small in-repo toys whose async boundaries go through the kit's `hop`, and
// budgets written as a user outside the repository would (test/outside), with plain awaits,
// setImmediate or timer turns, which know nothing of the kit.
import { AtomicTokenBudget, type TokenReservation } from '@budgetry/core';
import type { CheckOptions } from '../src/index.js';
import {
  checkAllOf,
  checkAnyOf,
  checkGuard,
  checkHierarchy,
  checkTokenBudget,
} from '../src/index.js';
import type { Boundary } from './outside/boundary.js';
import { PlainGuard, type GuardBug as PlainGuardBug } from './outside/plain-guard.js';
import { PlainTokenBudget, type TokenBug as PlainTokenBug } from './outside/plain-token-budget.js';
import { referenceAllOf, referenceAnyOf, referenceHierarchy } from './reference-combinators.js';
import { ReferenceRefill, type RefillBug } from './reference-refill.js';
import { type RemoteBug, RemoteGuard } from './remote-guard.js';
import { BugGuard, type GuardBug as ReviewGuardBug } from './review/bug-guard.js';
import { BugTokenBudget, type TokenBug as ReviewTokenBug } from './review/bug-token-budget.js';
import { asyncDisposeAfterRecord, lanes, unvalidatedCommit } from './review/gap-subjects.js';
import { type GuardBug, ToyGuard } from './toy-guard.js';
import { type TokenBug, ToyTokenBudget } from './toy-token-budget.js';

/**
 * Core's token budget, exact in every count, whose reservations always say `armed`: what
 * combinators read to avoid recording usage twice is wrong.
 */
class StateLyingTokens extends AtomicTokenBudget {
  constructor(capacity: number) {
    super(capacity, { leakBackstop: false });
  }
  override tryReserveTokensSync(estimate: number): TokenReservation | null {
    const r = super.tryReserveTokensSync(estimate);
    if (r !== null) Object.defineProperty(r, 'state', { get: () => 'armed' });
    return r;
  }
}

/** One broken implementation and how the kit is run against it. */
export interface GalleryCase {
  /** What is broken, in a few words. */
  readonly name: string;
  /** Runs the kit against the broken implementation with `options` (all invariants). */
  readonly run: (options: CheckOptions) => Promise<unknown>;
  /** On the pinned seeds, the shrunk counterexample must have at most this many commands. */
  readonly maxCommands: number;
  /** Seeds the gallery test pins (default 1, 2, 3); slow cases (timer turns, long histories) pin one. */
  readonly seeds?: readonly number[];
}

const toyGuardCaps = { available: true, permits: true, refill: { policy: 'reset' } } as const;

const toy = (bug: GuardBug, maxCommands = 4): GalleryCase => ({
  name: `toy guard: ${bug}`,
  maxCommands,
  run: (options) =>
    checkGuard((ctx) => new ToyGuard(ctx.capacity, bug, ctx.hop), {
      ...options,
      capabilities: toyGuardCaps,
    }),
});

const toyTokens = (bug: TokenBug, maxCommands = 4): GalleryCase => ({
  name: `toy token budget: ${bug}`,
  maxCommands,
  run: (options) =>
    checkTokenBudget(({ capacity }) => new ToyTokenBudget(capacity, bug), {
      ...options,
      capabilities: { available: true, debt: true, refill: { policy: 'reset' } },
    }),
});

const refill = (bug: RefillBug, policy: 'reset' | 'carry', maxCommands = 4): GalleryCase => ({
  name: `clock refill (${policy}): ${bug}`,
  maxCommands,
  run: (options) =>
    checkGuard(
      ({ capacity, clock, policy: p }) => new ReferenceRefill(capacity, p, clock, 1_000, bug),
      {
        ...options,
        capabilities: { available: true, permits: true, refill: { policy, by: 'clock' } },
      },
    ),
});

const remote = (bug: RemoteBug, maxCommands = 4): GalleryCase => ({
  name: `remote guard with lost replies: ${bug}`,
  maxCommands,
  run: (options) =>
    checkGuard((ctx) => new RemoteGuard(ctx.capacity, ctx.hop, bug), {
      ...options,
      capabilities: { available: true, timeouts: true },
    }),
});

const plainGuard = (bug: PlainGuardBug, boundary: Boundary, maxCommands = 4): GalleryCase => ({
  name: `outside guard (${boundary}): ${bug}`,
  maxCommands,
  run: (options) =>
    checkGuard(({ capacity, policy }) => new PlainGuard(capacity, { policy, boundary, bug }), {
      ...options,
      capabilities: { available: true, permits: true, refill: { policy: 'reset' } },
    }),
});

const plainTokens = (
  bug: PlainTokenBug,
  policy: 'reset' | 'carry',
  boundary: Boundary = 'microtask',
  maxCommands = 4,
): GalleryCase => ({
  name: `outside token budget (${boundary}, ${policy}): ${bug}`,
  maxCommands,
  run: (options) =>
    checkTokenBudget(
      ({ capacity, policy: p }) => new PlainTokenBudget(capacity, { policy: p, boundary, bug }),
      { ...options, capabilities: { available: true, debt: true, refill: { policy } } },
    ),
});

const review = (
  bug: ReviewGuardBug,
  policy: 'reset' | 'carry' = 'reset',
  boundary: 'microtask' | 'timer' = 'microtask',
  maxCommands = 4,
): GalleryCase => ({
  name: `review guard (${boundary}, ${policy}): ${bug}`,
  maxCommands,
  run: (options) =>
    checkGuard(({ capacity, policy: p }) => new BugGuard(capacity, { policy: p, boundary, bug }), {
      ...options,
      capabilities: {
        available: true,
        permits: { partialCommit: true },
        refill: { policy },
      },
    }),
});

const reviewTokens = (
  bug: ReviewTokenBug,
  policy: 'reset' | 'carry' = 'reset',
  maxDebt?: number,
  maxCommands = 4,
): GalleryCase => ({
  name: `review token budget (${policy}${maxDebt === undefined ? '' : `, maxDebt ${maxDebt}`}): ${bug}`,
  maxCommands,
  run: (options) =>
    checkTokenBudget(
      ({ capacity, policy: p }) =>
        new BugTokenBudget(capacity, p, bug, maxDebt ?? Number.POSITIVE_INFINITY),
      {
        ...options,
        capabilities: {
          available: true,
          debt: true,
          countApi: true,
          refill: { policy },
          ...(maxDebt === undefined ? {} : { maxDebt }),
        },
      },
    ),
});

export const galleryCases: readonly GalleryCase[] = [
  // Races behind plain awaits, in budgets that never heard of the kit.
  plainGuard('check-then-act', 'microtask'),
  plainGuard('check-then-act', 'immediate'),
  plainGuard('check-then-act', 'socket'),
  plainGuard('lost-release', 'microtask'),
  plainGuard('lost-release', 'immediate'),
  plainGuard('large-vs-small', 'microtask'),
  plainGuard('large-vs-small', 'socket'),
  // Needs sixteen reservations before it shows.
  { ...plainGuard('slow-drift', 'microtask', 20), seeds: [1] },
  plainTokens('check-then-act', 'reset'),
  plainTokens('debt-paid-twice', 'reset'),
  plainTokens('carry-in-debt', 'carry'),
  // Found in review: what a backend written from the brief alone gets wrong.
  review('count-release-clamped-at-capacity'),
  review('count-pool-survives-reset'),
  review('partial-commit-rest-unfenced'),
  review('partial-commit-zero-keeps-all'),
  review('partial-commit-off-by-one'),
  review('release-after-partial-commit-refunds'),
  { ...review('epoch-stamped-late', 'reset', 'timer'), seeds: [2] },
  review('cas-one-retry-then-blind'),
  review('settle-check-then-act'),
  review('carry-keeps-committed', 'carry'),
  review('big-grant-drift', 'reset', 'microtask', 8),
  // Disarm, refill, then the refund: four calls, and the shrinker often keeps a fifth.
  reviewTokens('disarm-refund-unfenced', 'reset', undefined, 5),
  reviewTokens('disarm-refund-after-record'),
  reviewTokens('dispose-after-disarm-refunds', 'reset', undefined, 5),
  reviewTokens('count-release-skips-debt'),
  reviewTokens('count-release-unclamped'),
  reviewTokens('maxdebt-off-by-one', 'reset', 3),
  reviewTokens('carry-drops-disarmed', 'carry'),
  reviewTokens('stale-record-charges-all'),
  reviewTokens('record-refund-skips-debt'),
  reviewTokens('consumed-counts-estimate'),
  reviewTokens('record-epoch-read-early'),
  reviewTokens('record-check-then-act'),
  reviewTokens('reset-refill-caps-debt'),
  {
    name: 'a racy fallback once more than four calls are in flight',
    maxCommands: 4,
    run: (options) =>
      checkGuard(({ capacity }) => lanes(capacity, 4), {
        ...options,
        capabilities: { available: true },
      }),
  },
  {
    name: 'partial commit of an invalid amount hands units back',
    maxCommands: 4,
    run: (options) =>
      checkGuard(({ capacity }) => unvalidatedCommit(capacity), {
        ...options,
        capabilities: { available: true, permits: { partialCommit: true, dispose: 'none' } },
      }),
  },
  {
    name: 'asyncDispose after recordUsage refunds again',
    maxCommands: 4,
    run: (options) =>
      checkTokenBudget(({ capacity }) => asyncDisposeAfterRecord(capacity), {
        ...options,
        capabilities: { available: true, debt: true, asyncDispose: true },
      }),
  },
  // In-repo toys whose boundaries go through the kit's hop.
  toy('racy-reserve'),
  toy('double-refund-on-dispose'),
  toy('old-epoch-release-inflates'),
  toy('release-clamped-not-fenced'),
  toy('accepts-negative'),
  toy('accepts-nan'),
  toy('accepts-fractional'),
  toy('lost-refund'),
  toy('refill-above-capacity'),
  toy('false-denial'),
  toy('permit-cost-lies'),
  toy('permit-state-lies'),
  toyTokens('forgiven-overage'),
  toyTokens('foreign-handle-accepted'),
  toyTokens('double-record'),
  toyTokens('stale-refund'),
  toyTokens('debt-forgiven-at-refill'),
  {
    name: "core token budget whose reservations always say 'armed'",
    maxCommands: 4,
    run: (options) =>
      checkTokenBudget(({ capacity }) => new StateLyingTokens(capacity), {
        ...options,
        capabilities: { available: true, debt: true, refill: { policy: 'reset' } },
      }),
  },
  refill('refill-above-capacity', 'carry'),
  refill('two-refills-per-epoch', 'reset'),
  refill('stale-timer-applied', 'reset'),
  refill('carry-ignores-held', 'carry'),
  refill('settles-in-the-last-touched-epoch', 'carry'),
  refill('catch-up-one-per-access', 'reset'),
  remote('retry-without-idempotency-key'),
  remote('read-then-write'),
  {
    name: 'all-of: partial reservation left charged after a denial',
    maxCommands: 4,
    run: (options) =>
      checkAllOf(({ capacities }) => referenceAllOf(capacities, 'partial-left-charged'), options),
  },
  {
    name: 'all-of: no rollback when a member throws',
    maxCommands: 4,
    run: (options) =>
      checkAllOf(
        ({ capacities, members }) =>
          referenceAllOf(capacities, 'no-rollback-on-exception', members),
        { ...options, faultyMembers: true },
      ),
  },
  {
    name: 'any-of: handle naming the wrong member',
    maxCommands: 4,
    run: (options) =>
      checkAnyOf(({ capacities }) => referenceAnyOf(capacities, 'wrong-member-named'), options),
  },
  {
    name: 'hierarchy: child reservation not charging its parent',
    maxCommands: 4,
    run: (options) =>
      checkHierarchy(
        ({ capacities }) => referenceHierarchy(capacities, 'child-skips-parent'),
        options,
      ),
  },
  {
    name: 'hierarchy: no rollback of the child when the parent throws',
    maxCommands: 4,
    run: (options) =>
      checkHierarchy(
        ({ capacities, members }) =>
          referenceHierarchy(capacities, 'no-rollback-on-exception', members),
        { ...options, faultyMembers: true },
      ),
  },
];
