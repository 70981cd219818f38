import { BudgetError } from '@budgetry/core';
import fc from 'fast-check';
import { AdapterError } from './adapter-error.js';
import { amountArbitrary, formatAmount, invalidAmountArbitrary } from './amount-arbitraries.js';
import {
  type GuardCapabilities,
  type ResolvedCapabilities,
  resolveGuardCapabilities,
} from './capabilities.js';
import { type CheckOptions, type ResolvedOptions, resolveOptions } from './check-options.js';
import type { CheckSummary, Judgement, Planned } from './engine.js';
import { HELD, type LedgerState, ledgerSettle, statusOf } from './ledger.js';
import { type ConformanceContext, runLedgerCheck } from './ledger-check.js';
import {
  countPath,
  countReleaseOp,
  describeValue,
  epochReadOp,
  type Handle,
  handleIndex,
  invalidOp,
  type LedgerOp,
  LedgerWorld,
  overReleaseOp,
  readOp,
  refillCallOps,
  refillClockOps,
  reserveOp,
  type SoakPath,
} from './ledger-world.js';
import { type Mismatch, mismatch } from './search.js';

/**
 * A permit as the kit uses it: `release()` and `commit()` resolve whether this call settled
 * the permit; disposal as declared in the `permits` capability.
 *
 * @example
 * ```ts
 * import type { PermitLike } from '@budgetry/testing';
 * let settled = false;
 * const permit: PermitLike = {
 *   release: async () => !settled && (settled = true),
 *   commit: async () => !settled && (settled = true),
 * };
 * ```
 */
export interface PermitLike {
  release(): Promise<boolean> | boolean;
  commit(used?: number): Promise<boolean> | boolean;
  [Symbol.asyncDispose]?(): PromiseLike<void>;
  [Symbol.dispose]?(): void;
}

/**
 * A guard under test, as the types see it: the count API. The members its capabilities
 * declare are used too, and checked when the check starts (an `AdapterError` names a missing
 * one), but they are not part of this type, so a class with a private field or a getter of
 * the same name is still accepted:
 * - `available(): number | Promise<number>` (`available`);
 * - `tryAcquire(cost)` resolving a permit (`PermitLike`) or `null` (`permits`);
 * - `refill()` (`refill` by call); `epoch`, a number, and `nextRefillAt()` (`refill` by clock).
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import type { GuardSubject } from '@budgetry/testing';
 * const subject: GuardSubject = new AtomicBudget(10);
 * ```
 */
export interface GuardSubject {
  tryReserve(cost: number): Promise<boolean> | boolean;
  release(cost: number): Promise<unknown> | unknown;
}

/**
 * Builds a fresh subject for one run.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import type { GuardFactory } from '@budgetry/testing';
 * const factory: GuardFactory = ({ capacity }) => new AtomicBudget(capacity);
 * ```
 */
export type GuardFactory<S extends GuardSubject = GuardSubject> = (
  context: ConformanceContext,
) => S | Promise<S>;

/**
 * Options of {@link checkGuard}: the common options and what the subject can do.
 *
 * @example
 * ```ts
 * import type { GuardCheckOptions } from '@budgetry/testing';
 * const options: GuardCheckOptions = {
 *   capabilities: { available: true, permits: true, refill: { policy: 'carry' } },
 *   numRuns: 500,
 * };
 * ```
 */
export interface GuardCheckOptions extends CheckOptions {
  /** What the subject offers beyond the count API (default: nothing). */
  capabilities?: GuardCapabilities;
}

type S = LedgerState;

/** @internal */
export class GuardWorld extends LedgerWorld<GuardSubject> {}

type W = GuardWorld;

type SettleHow = 'release' | 'commit' | 'dispose' | 'asyncDispose';

function permitMethod(permit: unknown, how: SettleHow): (...args: unknown[]) => unknown {
  const p = permit as Record<string | symbol, unknown>;
  const key =
    how === 'dispose' ? Symbol.dispose : how === 'asyncDispose' ? Symbol.asyncDispose : how;
  const fn = p[key];
  if (typeof fn !== 'function') {
    const name = typeof key === 'symbol' ? `[${key.description}]` : key;
    throw new AdapterError(`a permit has no method ${name}(), which its capabilities declare`, {
      member: `permit.${name}`,
    });
  }
  return fn as (...args: unknown[]) => unknown;
}

function planSettle(world: W, h: Handle, how: SettleHow, used: number | undefined): Planned<S> {
  h.settles++;
  const { config } = world;
  const spent = how === 'commit' ? (used ?? h.amount) : 0;
  const label = `${how === 'asyncDispose' ? 'asyncDispose' : how}(permit #${h.id}: ${h.amount}${used === undefined ? '' : `, used ${used}`})`;
  const settle = (s: S): S => ledgerSettle(config, s, h.id, h.amount, spent, false)!;
  const open = (s: S): boolean => statusOf(s, h.id) === HELD;
  const fn = permitMethod(h.object, how);
  return {
    label,
    start: () => (used === undefined ? fn.call(h.object) : fn.call(h.object, used)),
    judge: (outcome): Judgement<S> => {
      if (!outcome.ok) {
        const error = outcome.error;
        // A second settle may be refused (the brief: "a no-op or an error"), never honoured.
        if (BudgetError.isInstance(error) && error.code === 'ALREADY_SETTLED') {
          return {
            kind: 'step',
            shown: 'ALREADY_SETTLED',
            step: (s) =>
              open(s)
                ? mismatch(`${label} was refused as already settled, but the permit was held`, 'P1')
                : [s],
          };
        }
        return world.rejected(label, error, (s) => (open(s) ? [s, settle(s)] : [s]));
      }
      if (how === 'dispose' || how === 'asyncDispose') {
        return { kind: 'step', shown: 'done', step: (s) => (open(s) ? [settle(s)] : [s]) };
      }
      const value = outcome.value;
      if (typeof value !== 'boolean') {
        throw new AdapterError(
          `permit.${how}() resolved ${describeValue(value)}; expected true (this call settled it) or false`,
          { member: `permit.${how}` },
        );
      }
      const wrongState = value ? settledState(h.object, how) : undefined;
      if (wrongState !== undefined) {
        return { kind: 'fail', mismatch: mismatch(`${label}: ${wrongState}`, 'P1') };
      }
      return {
        kind: 'step',
        shown: String(value),
        step: (s) => {
          if (value === open(s)) return value ? [settle(s)] : [s];
          return mismatch(
            value
              ? `${label} returned true for a permit already settled`
              : `${label} returned false for a permit still held`,
            'P1',
          );
        },
      };
    },
  };
}

/**
 * What a permit says when it is granted, where it says it: the cost asked for (`cost`) and
 * `state` `held`. Combinators read both from the permits of the budgets they wrap.
 */
function grantedPermit(cost: number) {
  return (value: object): Mismatch | undefined => {
    const { cost: got, state } = value as { cost?: unknown; state?: unknown };
    if (got !== undefined && got !== cost) {
      return mismatch(
        `tryAcquire(${cost}) returned a permit whose cost is ${describeValue(got)}`,
        'P1',
      );
    }
    if (state !== undefined && state !== 'held') {
      return mismatch(
        `tryAcquire(${cost}) returned a permit whose state is ${describeValue(state)}`,
        'P1',
      );
    }
    return undefined;
  };
}

/** The `state` a permit must say once `how` returned true on it, where it says one. */
function settledState(permit: unknown, how: 'release' | 'commit'): string | undefined {
  const state = (permit as { state?: unknown }).state;
  if (state === undefined) return undefined;
  const expected = how === 'release' ? 'released' : 'committed';
  return state === expected
    ? undefined
    : `its state is ${describeValue(state)} after ${how}() returned true; expected '${expected}'`;
}

function openPermit(h: Handle): boolean {
  return h.settles === 0;
}

function settleOp(index: number, how: SettleHow, used?: number): LedgerOp<W> {
  const text = `${how}(permit #${index}${used === undefined ? '' : `, used ${used}`})`;
  const filter = (h: Handle) => openPermit(h) && (used === undefined || used <= h.amount);
  return {
    text,
    applicable: (world) => world.pick(index, 'permit', filter) !== undefined,
    plan(world) {
      const h = world.pick(index, 'permit', filter);
      return h === undefined ? undefined : planSettle(world, h, how, used);
    },
  };
}

/** Settles a permit that already had a settle launched on it: it must refund nothing more. */
function settleAgainOp(index: number, how: SettleHow): LedgerOp<W> {
  const filter = (h: Handle) => !openPermit(h);
  return {
    text: `${how}(settled permit #${index})`,
    applicable: (world) => world.pick(index, 'permit', filter) !== undefined,
    plan(world) {
      const h = world.pick(index, 'permit', filter);
      return h === undefined ? undefined : planSettle(world, h, how, undefined);
    },
  };
}

/** Two settles of one held permit started together: exactly one may win. */
function settleTwiceOp(index: number, first: SettleHow, second: SettleHow): LedgerOp<W> {
  return {
    text: `${first}&${second}(permit #${index})`,
    applicable: (world) => world.pick(index, 'permit', openPermit) !== undefined,
    plan(world) {
      const h = world.pick(index, 'permit', openPermit);
      if (h === undefined) return undefined;
      return [planSettle(world, h, first, undefined), planSettle(world, h, second, undefined)];
    },
  };
}

function settleKinds(caps: ResolvedCapabilities): SettleHow[] {
  const kinds: SettleHow[] = ['release', 'commit'];
  if (caps.dispose === 'async' || caps.dispose === 'both') kinds.push('asyncDispose');
  if (caps.dispose === 'sync' || caps.dispose === 'both') kinds.push('dispose');
  return kinds;
}

function weighted<T>(list: readonly (readonly [number, fc.Arbitrary<T>])[]): fc.Arbitrary<T> {
  const kept = list.filter(([w]) => w > 0);
  return fc.oneof(...kept.map(([weight, arbitrary]) => ({ weight, arbitrary })));
}

/** @internal The operations a guard run draws from, for its capabilities and focus. */
export function guardOps(
  caps: ResolvedCapabilities,
  options: ResolvedOptions,
): fc.Arbitrary<LedgerOp<W>> {
  const { focus, minCost, maxCost } = options;
  const cost = amountArbitrary(minCost, maxCost);
  const index = handleIndex();
  const kinds = settleKinds(caps);
  const how = fc.constantFrom(...kinds);
  const permits = caps.permits ? 1 : 0;
  const refill = caps.refill === undefined ? 0 : focus === 'refill' ? 4 : focus === 'mixed' ? 2 : 1;
  const invalid = focus === 'invalid' ? 4 : focus === 'mixed' || focus === 'long' ? 1 : 0;
  const settleWeight = focus === 'permits' ? 5 : 3;
  const misuseCount = focus === 'permits' || caps.countRelease === 'exact' ? 0 : 1;
  const list: [number, fc.Arbitrary<LedgerOp<W>>][] = [
    [3, cost.map((c) => reserveOp<W>('count', c, 'tryReserve'))],
    [2, index.map((i) => countReleaseOp<W>(i))],
    // Releases the count API must not honour: twice, stale after a reset, never reserved.
    [misuseCount, index.map((i) => countReleaseOp<W>(i, 'again'))],
    [misuseCount, cost.map((c) => overReleaseOp<W>(Math.max(1, c)))],
    [
      3 * permits,
      cost.map((c) => reserveOp<W>('permit', c, 'tryAcquire', { validate: grantedPermit(c) })),
    ],
    [settleWeight * permits, fc.tuple(index, how).map(([i, k]) => settleOp(i, k))],
    [
      (focus === 'permits' ? 3 : 1) * permits,
      fc.tuple(index, how).map(([i, k]) => settleAgainOp(i, k)),
    ],
    [
      (focus === 'permits' ? 3 : 1) * permits,
      fc.tuple(index, how, how).map(([i, a, b]) => settleTwiceOp(i, a, b)),
    ],
    [
      caps.partialCommit ? 2 : 0,
      fc.tuple(index, fc.nat(maxCost)).map(([i, u]) => settleOp(i, 'commit', u)),
    ],
  ];
  if (caps.refill?.by === 'clock') list.push(...refillClockOps<W>(refill));
  else if (refill > 0) list.push(...refillCallOps<W>(caps.refill?.batch === true, refill));
  if (caps.available && caps.linearizable && focus !== 'probe') {
    list.push([1, fc.constant(readOp<W>('available'))]);
  }
  const entries: [string, (w: W, v: unknown) => unknown][] = [
    ['tryReserve', (w, v) => w.subject.tryReserve(v as number)],
    ['release', (w, v) => w.subject.release(v as number)],
  ];
  if (caps.permits) {
    entries.push([
      'tryAcquire',
      (w, v) => (w.subject as unknown as { tryAcquire(c: unknown): unknown }).tryAcquire(v),
    ]);
  }
  list.push([
    invalid,
    fc.tuple(fc.nat(entries.length - 1), invalidAmountArbitrary()).map(([e, v]) => {
      const [name, call] = entries[e]!;
      return invalidOp<W>(`${name}(${formatAmount(v)})`, (w) => call(w, v));
    }),
  ]);
  if (caps.partialCommit) {
    // commit(used) with an invalid amount (not `undefined`, which means "all of it"):
    // rejected, the permit still held.
    list.push([
      invalid,
      fc
        .tuple(
          index,
          invalidAmountArbitrary().filter((v) => v !== undefined),
        )
        .map(([i, v]) => ({
          text: `commit(permit #${i}, used ${formatAmount(v)})`,
          applicable: (w: W) => w.pick(i, 'permit', openPermit) !== undefined,
          plan(w: W) {
            const h = w.pick(i, 'permit', openPermit);
            if (h === undefined) return undefined;
            return invalidOp<W>(
              `commit(permit #${h.id}: ${h.amount}, used ${formatAmount(v)})`,
              () => (h.object as PermitLike).commit(v as number),
            ).plan(w);
          },
        })),
    ]);
    // A commit of more than the permit holds is invalid too: rejected, the permit still held.
    list.push([
      invalid,
      fc.tuple(index, fc.integer({ min: 1, max: 3 })).map(([i, extra]) => ({
        text: `commit(permit #${i}, used cost + ${extra})`,
        applicable: (w: W) => w.pick(i, 'permit', openPermit) !== undefined,
        plan(w: W) {
          const h = w.pick(i, 'permit', openPermit);
          if (h === undefined) return undefined;
          return invalidOp<W>(
            `commit(permit #${h.id}: ${h.amount}, used ${h.amount + extra})`,
            () => (h.object as PermitLike).commit(h.amount + extra),
            ['INVALID_AMOUNT', 'INVALID_ARGUMENT'],
          ).plan(w);
        },
      })),
    ]);
  }
  return weighted(list);
}

/** @internal Reads made at rest after every joined command. */
export function guardReads(caps: ResolvedCapabilities, options: ResolvedOptions): LedgerOp<W>[] {
  if (options.focus === 'probe') return [];
  const reads = caps.available ? [readOp<W>('available')] : [];
  if (caps.refill?.by === 'clock') reads.push(epochReadOp<W>());
  return reads;
}

const count = countPath<W>();

/** Permits as a soak path: `tryAcquire(cost)`, then the permit's `release()`. */
const permitPath: SoakPath<W> = {
  reserve: (amount) =>
    reserveOp<W>('permit', amount, 'tryAcquire', { probe: true, validate: grantedPermit(amount) }),
  giveBack: (world, h) => planSettle(world, h, 'release', undefined),
};

/**
 * Checks a guard against the guard invariants: G1–G6 (conservation, no over-admission, no
 * false denials, invalid amounts rejected without effect), P1 (permits settle once) and, when
 * it refills, R1–R4. Each run is a sequence of commands that start one to six calls together
 * or at staggered microtask and macrotask offsets, so races behind any `await` are reached;
 * the kit's ledger explains every history or the check fails with the shrunk commands and a
 * replay line.
 *
 * @param factory - builds a fresh subject with `context.capacity` (and `context.policy`).
 * @param options - capabilities, runs, seed/path/replayPath, capacity, cost range, focus.
 * @returns a summary (runs made, whether `timeLimitMs` cut the check short, time taken).
 * @throws ConformanceError for the first invariant a run breaks; AdapterError when the
 * subject does not offer what its capabilities declare.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import { checkGuard } from '@budgetry/testing';
 *
 * await checkGuard(({ capacity }) => new AtomicBudget(capacity), {
 *   capabilities: { available: true, permits: true, refill: { policy: 'reset' } },
 *   numRuns: 200,
 * });
 * ```
 */
export async function checkGuard<T extends GuardSubject>(
  factory: GuardFactory<T>,
  options: GuardCheckOptions = {},
): Promise<CheckSummary> {
  const resolved = resolveOptions(options);
  const caps = resolveGuardCapabilities(options.capabilities);
  const blames = { overAdmit: 'G2', falseDenial: 'G6', read: 'G3' } as const;
  return runLedgerCheck<W>({
    kind: 'guard',
    factory,
    name: options.name,
    resolved,
    caps,
    blames,
    ops: guardOps(caps, resolved),
    reads: guardReads(caps, resolved),
    reserve: count.reserve,
    giveBack: count.giveBack,
    soakPaths: caps.permits ? [count, permitPath] : [count],
    world: async ({ scheduler, subject, config, clock }) =>
      new GuardWorld(scheduler, subject as GuardSubject, config, caps, clock, blames),
  });
}
