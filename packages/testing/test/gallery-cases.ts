// The gallery of deliberately broken implementations, as data: the gallery test pins seeds
// and asserts each is caught and shrunk; the measurement test reruns them on random seeds.
import type { CheckOptions, CheckReport } from '../src/index.js';
import {
  checkAllOf,
  checkAnyOf,
  checkGuard,
  checkHierarchy,
  checkRefill,
  checkTokenBudget,
} from '../src/index.js';
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
  readonly run: (options: CheckOptions) => Promise<CheckReport>;
  /** The shrunk counterexample must have at most this many commands. */
  readonly maxCommands: number;
}

const guard = (bug: GuardBug, maxCommands = 4): GalleryCase => ({
  name: bug,
  maxCommands,
  run: (options) => checkGuard((ctx) => new ToyGuard(ctx.capacity, bug, ctx.hop), options),
});

const tokens = (bug: TokenBug, maxCommands = 4): GalleryCase => ({
  name: bug,
  maxCommands,
  run: (options) => checkTokenBudget(({ capacity }) => new ToyTokenBudget(capacity, bug), options),
});

const refill = (bug: RefillBug, refillPolicy: 'reset' | 'carry', maxCommands = 4): GalleryCase => ({
  name: `${bug} (${refillPolicy})`,
  maxCommands,
  run: (options) =>
    checkRefill(
      ({ capacity, clock, policy }) => new ReferenceRefill(capacity, policy, clock, 1_000, bug),
      { ...options, refillPolicy },
    ),
});

const remote = (bug: RemoteBug, maxCommands = 4): GalleryCase => ({
  name: `${bug} (remote, with timeouts)`,
  maxCommands,
  run: (options) =>
    checkGuard((ctx) => new RemoteGuard(ctx.capacity, ctx.hop, bug), {
      ...options,
      mode: 'remote',
    }),
});

export const galleryCases: readonly GalleryCase[] = [
  guard('racy-reserve'),
  guard('double-refund-on-dispose'),
  guard('old-epoch-release-inflates'),
  // Needs acquire, refill, reserve, release in that order of arrival: four commands, and the
  // shrinker sometimes keeps one more that only steers the schedule.
  guard('release-clamped-not-fenced', 5),
  guard('accepts-negative'),
  guard('accepts-nan'),
  guard('accepts-fractional'),
  // A lost update needs a release suspended across another call: three commands at least,
  // and the interleaving that exposes it does not survive every removal while shrinking.
  guard('lost-refund', 6),
  guard('refill-above-capacity'),
  guard('false-denial'),
  tokens('forgiven-overage'),
  tokens('foreign-handle-accepted'),
  tokens('double-record'),
  tokens('stale-refund'),
  tokens('debt-forgiven-at-refill'),
  refill('refill-above-capacity', 'carry'),
  refill('two-refills-per-epoch', 'reset'),
  refill('stale-timer-applied', 'reset'),
  refill('carry-ignores-held', 'carry'),
  remote('retry-without-idempotency-key'),
  remote('read-then-write'),
  {
    name: 'partial all-of left charged after a denial',
    maxCommands: 4,
    run: (options) =>
      checkAllOf(({ capacities }) => referenceAllOf(capacities, 'partial-left-charged'), options),
  },
  {
    name: 'all-of not rolling back when a member throws',
    maxCommands: 4,
    run: (options) =>
      checkAllOf(
        ({ capacities, members }) =>
          referenceAllOf(capacities, 'no-rollback-on-exception', members),
        options,
      ),
  },
  {
    name: 'any-of handle naming the wrong member',
    maxCommands: 4,
    run: (options) =>
      checkAnyOf(({ capacities }) => referenceAnyOf(capacities, 'wrong-member-named'), options),
  },
  {
    name: 'child reservation not charging its parent',
    maxCommands: 4,
    run: (options) =>
      checkHierarchy(
        ({ capacities }) => referenceHierarchy(capacities, 'child-skips-parent'),
        options,
      ),
  },
];
