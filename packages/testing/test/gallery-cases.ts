// The gallery of deliberately broken implementations, as data: the gallery test pins seeds
// and asserts each is caught and shrunk; the measurement test reruns them on random seeds.
// Two families: small in-repo toys whose async boundaries go through the kit's `hop`, and
// budgets written as a user outside the repository would (test/outside), with plain awaits,
// setImmediate or timer turns, which know nothing of the kit.
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
import { type GuardBug, ToyGuard } from './toy-guard.js';
import { type TokenBug, ToyTokenBudget } from './toy-token-budget.js';

/** One broken implementation and how the kit is run against it. */
export interface GalleryCase {
  /** What is broken, in a few words. */
  readonly name: string;
  /** Runs the kit against the broken implementation with `options` (all invariants). */
  readonly run: (options: CheckOptions) => Promise<void>;
  /** On the pinned seeds, the shrunk counterexample must have at most this many commands. */
  readonly maxCommands: number;
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
  plainGuard('slow-drift', 'microtask', 20),
  plainTokens('check-then-act', 'reset'),
  plainTokens('debt-paid-twice', 'reset'),
  plainTokens('carry-in-debt', 'carry'),
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
  toyTokens('forgiven-overage'),
  toyTokens('foreign-handle-accepted'),
  toyTokens('double-record'),
  toyTokens('stale-refund'),
  toyTokens('debt-forgiven-at-refill'),
  refill('refill-above-capacity', 'carry'),
  refill('two-refills-per-epoch', 'reset'),
  refill('stale-timer-applied', 'reset'),
  refill('carry-ignores-held', 'carry'),
  refill('settles-in-the-last-touched-epoch', 'carry'),
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
