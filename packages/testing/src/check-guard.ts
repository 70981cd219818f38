import {
  BudgetError,
  type BudgetGuard,
  type BudgetPermit,
  type RefillPolicy,
} from '@budgetry/core';
import fc from 'fast-check';
import { amountArbitrary, formatAmount, invalidAmountArbitrary } from './amount-arbitraries.js';
import { type CheckMode, type CheckOptions, resolveOptions } from './check-options.js';
import { FakeClock } from './fake-clock.js';
import {
  GuardWorld,
  type Holding,
  type PendingReserve,
  type GuardWorld as World,
} from './guard-world.js';
import type { InvariantId } from './invariant-catalog.js';
import { runInvariants } from './run-invariant.js';
import { describeError, type Outcome, WorldCommand } from './scheduled-world.js';

/**
 * What a factory receives: the capacity to build with and the seams of the harness.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import type { ConformanceContext } from '@budgetry/testing';
 * const factory = ({ capacity }: ConformanceContext) => new AtomicBudget(capacity);
 * ```
 */
export interface ConformanceContext {
  /** The capacity the subject must have. */
  readonly capacity: number;
  /**
   * An await point whose resumption order the scheduler chooses. Route the subject's own
   * async boundaries (storage reads, network calls) through it so that interleavings inside
   * a call are explored: `await ctx.hop('read')`.
   */
  hop(label?: string): Promise<void>;
  /** A fake clock for subjects that need time; it only moves when the subject moves it. */
  readonly clock: FakeClock;
}

/**
 * A guard under test: the count API is required; permits, `available()` and `refill()` are
 * checked when present.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import type { GuardSubject } from '@budgetry/testing';
 * const subject: GuardSubject = new AtomicBudget(10);
 * ```
 */
export interface GuardSubject extends BudgetGuard {
  /** Permits (checked by P1 and the fencing part of G3). */
  tryAcquire?(cost: number): Promise<BudgetPermit | null>;
  /** White-box reads (G1, G3); may be async for remote backends. */
  available?(): number | Promise<number>;
  /** Begins a new epoch under the subject's refill policy. */
  refill?(): void | Promise<void>;
  /** The refill policy, when the subject exposes it (as `AtomicBudget` does). */
  readonly refillPolicy?: RefillPolicy;
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
 * Options of {@link checkGuard}.
 *
 * @example
 * ```ts
 * import type { GuardCheckOptions } from '@budgetry/testing';
 * const options: GuardCheckOptions = { refillPolicy: 'carry', numRuns: 500 };
 * ```
 */
export interface GuardCheckOptions extends CheckOptions {
  /** The subject's refill policy (default: its `refillPolicy` property, else `reset`). */
  refillPolicy?: RefillPolicy;
}

/**
 * What a check found: the invariants that passed and those that did not apply.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import { type CheckReport, checkGuard } from '@budgetry/testing';
 * const report: CheckReport = await checkGuard(({ capacity }) => new AtomicBudget(capacity), {
 *   numRuns: 50,
 * });
 * console.log(report.passed, report.skipped);
 * ```
 */
export interface CheckReport {
  readonly passed: readonly InvariantId[];
  readonly skipped: readonly InvariantId[];
}

/**
 * The guard invariants a mode checks: white-box G1–G6, P1 and the refill invariants R1 and
 * R4 (skipped for subjects without `refill()`); black-box drops the reads (G1, G3, R1);
 * remote drops G3, G6 and the refill ids and adds RM1.
 *
 * @param mode - the observation mode.
 * @returns invariant ids, in order.
 *
 * @example
 * ```ts
 * import { guardInvariants } from '@budgetry/testing';
 * guardInvariants('black-box'); // ['G2', 'G4', 'G5', 'G6', 'P1', 'R4']
 * ```
 */
export function guardInvariants(mode: CheckMode = 'white-box'): InvariantId[] {
  if (mode === 'black-box') return ['G2', 'G4', 'G5', 'G6', 'P1', 'R4'];
  if (mode === 'remote') return ['G1', 'G2', 'G4', 'G5', 'P1', 'RM1'];
  return ['G1', 'G2', 'G3', 'G4', 'G5', 'G6', 'P1', 'R1', 'R4'];
}

/** @internal */
export type W = World<GuardSubject>;

function isTimeout(error: unknown): boolean {
  return BudgetError.isInstance(error) && error.code === 'TIMEOUT';
}

/**
 * Checks a {@link BudgetGuard} implementation against the guard invariants (BRIEF.md
 * section 4) under scheduled interleavings. Each invariant is a separate property of
 * `numRuns` runs over `fc.commands` sequences of reserves, releases, permits, refills,
 * invalid calls and reads, executed with `fc.scheduledModelRun`.
 *
 * @param factory - builds a fresh subject with `context.capacity`; route async boundaries
 * through `context.hop`.
 * @param options - runs, seed/path/replayPath, capacity, cost range, mode, invariants.
 * @returns which invariants passed and which did not apply to the subject.
 * @throws ConformanceError for the first invariant that fails.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import { checkGuard } from '@budgetry/testing';
 *
 * await checkGuard(({ capacity }) => new AtomicBudget(capacity), { numRuns: 200 });
 * ```
 */
export async function checkGuard<S extends GuardSubject>(
  factory: GuardFactory<S>,
  options: GuardCheckOptions = {},
): Promise<CheckReport> {
  return runGuardCheck(factory, options, directRefill);
}

/** @internal How a guard run refills: the commands that begin a new epoch. */
export interface RefillDriver {
  /** Whether the subject can be refilled this way (`probe` is a throwaway subject). */
  applies(probe: GuardSubject): boolean;
  /** The refill commands, with their weights. */
  commands(whiteBox: boolean): fc.WeightedArbitrary<fc.AsyncCommand<W, W>>[];
  /** Invariants this driver adds to the mode's list. */
  readonly extra: readonly InvariantId[];
}

const directRefill: RefillDriver = {
  applies: (probe) => typeof probe.refill === 'function',
  commands: (whiteBox) => [{ arbitrary: fc.constant(refillCommand(whiteBox)), weight: 4 }],
  extra: [],
};

/** @internal The guard check, with the refill commands supplied by `driver`. */
export async function runGuardCheck<S extends GuardSubject>(
  factory: GuardFactory<S>,
  options: GuardCheckOptions,
  driver: RefillDriver,
): Promise<CheckReport> {
  const resolved = resolveOptions(options);
  const probe = await factory({
    capacity: resolved.capacity,
    hop: async () => {},
    clock: new FakeClock(),
  });
  const hasAvailable = typeof probe.available === 'function';
  const hasPermits = typeof probe.tryAcquire === 'function';
  const hasRefill = driver.applies(probe);
  const mode: CheckMode = options.mode ?? (hasAvailable ? 'white-box' : 'black-box');
  const policy: RefillPolicy = options.refillPolicy ?? probe.refillPolicy ?? 'reset';
  const modeIds = [...guardInvariants(mode), ...(mode === 'remote' ? [] : driver.extra)];
  const wanted = options.invariants ?? modeIds;
  const applicable = (id: InvariantId): boolean =>
    modeIds.includes(id) &&
    (id !== 'P1' || hasPermits) &&
    (!id.startsWith('R') || id.startsWith('RM') || hasRefill) &&
    ((id !== 'G1' && id !== 'G3' && id !== 'R1') || hasAvailable);
  const ids = wanted.filter(applicable);
  const skipped = wanted.filter((id) => !applicable(id));
  const whiteBox = mode === 'white-box' && hasAvailable;
  const remote = mode === 'remote';
  const name = options.name ?? probe.constructor?.name ?? 'guard';
  const { capacity, minCost, maxCost } = resolved;
  const cost = amountArbitrary(minCost, maxCost);
  const index = fc.nat(3);

  // Weighted so that the states bugs hide in (held permits across refills, settled permits
  // settled again) are reached in a few commands; shrinking keeps the decisive ones.
  const weighted: fc.WeightedArbitrary<fc.AsyncCommand<W, W>>[] = [
    { arbitrary: cost.map((c) => reserveCommand(c, 'count', whiteBox)), weight: 3 },
    { arbitrary: index.map((i) => countReleaseCommand(i, whiteBox)), weight: 2 },
    {
      arbitrary: fc
        .tuple(
          fc.constantFrom<InvalidEntry>(
            'tryReserve',
            'release',
            ...(hasPermits ? (['tryAcquire'] as const) : []),
          ),
          invalidAmountArbitrary(),
        )
        .map(([entry, value]) => invalidCommand(entry, value, whiteBox)),
      weight: 1,
    },
  ];
  if (hasPermits) {
    weighted.push(
      { arbitrary: cost.map((c) => reserveCommand(c, 'permit', whiteBox)), weight: 3 },
      {
        arbitrary: fc
          .tuple(index, fc.constantFrom<SettleKind>('release', 'dispose', 'commit'))
          .map(([i, kind]) => settleCommand(i, kind, whiteBox)),
        weight: 3,
      },
      {
        arbitrary: fc
          .tuple(index, fc.constantFrom<SettleKind>('release', 'dispose', 'commit'))
          .chain(([i, first]) =>
            fc
              .constantFrom<SettleKind>('dispose', 'release', 'commit')
              .map((second) => settleTwiceCommand(i, first, second, whiteBox)),
          ),
        weight: 2,
      },
    );
  }
  if (hasRefill) weighted.push(...driver.commands(whiteBox));
  if (whiteBox) {
    weighted.push({
      arbitrary: fc.constant(new WorldCommand<W>('observe', always, (w) => readAvailable(w))),
      weight: 1,
    });
  }
  const commands = [fc.oneof(...weighted)];

  await runInvariants(
    ids,
    (invariant) => ({
      invariant,
      subject: `guard "${name}"`,
      options: resolved,
      commands,
      createWorld: async (scheduler, active) => {
        let world: W | undefined;
        const context: ConformanceContext = {
          capacity,
          hop: (label) => (world === undefined ? Promise.resolve() : world.hop(label)),
          clock: new FakeClock(),
        };
        const subject: GuardSubject = await factory(context);
        world = new GuardWorld(scheduler, active, subject, capacity, policy, context.clock);
        return world;
      },
      quiescence: (world) => quiescence(world, whiteBox, remote),
    }),
    options.invariants !== undefined,
  );
  return { passed: ids, skipped };
}

type InvalidEntry = 'tryReserve' | 'release' | 'tryAcquire';
type SettleKind = 'release' | 'commit' | 'dispose';

/**
 * @internal Reads `available()` and checks it against the model (G1, G3, R1); `lead` names
 * the invariants to blame first, e.g. the refill ids right after the clock crossed a boundary.
 */
export function readAvailable(world: W, lead: readonly InvariantId[] = []): void {
  const read = world.subject.available;
  if (read === undefined || world.refillRunning) return;
  const window = world.openWindow();
  const refillsBefore = world.refills;
  const check = (value: unknown): void => {
    world.windows.delete(window);
    const refilled = world.refills > refillsBefore || world.refillRunning;
    const inRange =
      typeof value === 'number' &&
      Number.isSafeInteger(value) &&
      value >= 0 &&
      value <= world.capacity;
    world.expect(
      inRange,
      lead.includes('R1') ? ['R1', 'G1'] : world.refills > 0 ? ['G1', 'R1'] : ['G1'],
      () => `available() returned ${formatAmount(value)}, outside [0, ${world.capacity}]`,
    );
    if (refilled) return;
    world.expect(
      typeof value === 'number' && value >= window.minLo && value <= window.maxHi,
      [...lead.filter((id) => id !== 'R1'), ...world.conservationIds(['G3'])],
      () =>
        window.minLo === window.maxHi
          ? `available() returned ${formatAmount(value)}, expected C − H = ${window.minLo}`
          : `available() returned ${formatAmount(value)}, expected within [${window.minLo}, ${window.maxHi}]`,
    );
  };
  let result: number | Promise<number>;
  try {
    result = read.call(world.subject);
  } catch (error) {
    world.windows.delete(window);
    world.fail('*', `available() threw ${describeError(error)}`);
    return;
  }
  if (typeof result === 'number') check(result);
  else {
    world.watch(
      Promise.resolve(result).then(check, (error: unknown) => {
        world.windows.delete(window);
        world.fail('*', `available() rejected: ${describeError(error)}`);
      }),
    );
  }
}

function reserveCommand(cost: number, kind: Holding['kind'], whiteBox: boolean): WorldCommand<W> {
  const call = kind === 'count' ? 'tryReserve' : 'tryAcquire';
  return new WorldCommand<W>(`${call}(${cost})`, always, (world) => {
    if (whiteBox) readAvailable(world);
    const pending: PendingReserve = { cost, started: false, crossed: world.refillRunning };
    world.reserves.add(pending);
    const window = world.openReserveWindow(cost);
    world.changed();
    const { subject } = world;
    world.track<unknown>(
      `${call}(${cost})`,
      () => {
        pending.started = true;
        if (world.refillRunning) pending.crossed = true;
        return kind === 'count' ? subject.tryReserve(cost) : subject.tryAcquire!(cost);
      },
      (outcome: Outcome<unknown>) => {
        world.reserves.delete(pending);
        world.reserveWindows.delete(window);
        if (world.refillRunning) pending.crossed = true;
        // Under `reset`, a reserve that crossed a refill may sit in either epoch.
        const unsure = pending.crossed && world.policy === 'reset';
        if (!outcome.ok) {
          if (isTimeout(outcome.error)) {
            world.timeouts++;
            world.newHolding(kind, cost, undefined).status = 'maybe';
          } else {
            world.fail('*', `${call}(${cost}) failed: ${describeError(outcome.error)}`);
          }
          world.changed();
          return;
        }
        const value = outcome.value;
        const granted = kind === 'count' ? value === true : value !== null && value !== undefined;
        if (kind === 'count' && typeof value !== 'boolean') {
          world.fail('*', `tryReserve(${cost}) resolved ${String(value)}, not a boolean`);
        }
        if (granted) {
          world.expect(
            cost <= world.capacity,
            ['G5', 'G2'],
            () => `${call}(${cost}) was granted above capacity ${world.capacity}`,
          );
          const h = world.newHolding(
            kind,
            cost,
            kind === 'permit' ? (value as BudgetPermit) : undefined,
          );
          if (unsure) h.status = 'maybe';
          const [heldLo] = world.held();
          world.expect(
            heldLo <= world.capacity,
            ['G2'],
            () => `after ${call}(${cost}) the harness holds ${heldLo} of ${world.capacity}`,
          );
        } else {
          world.expect(cost !== 0, ['G5'], () => `${call}(0) was denied; cost 0 must be granted`);
          world.expect(
            world.timeouts > 0 || pending.crossed || cost > window.minFree,
            ['G6'],
            () =>
              `${call}(${cost}) was denied although at least ${window.minFree} units were free throughout the call`,
          );
        }
        world.changed();
        if (whiteBox) readAvailable(world);
      },
    );
  });
}

function always(): boolean {
  return true;
}

function countReleaseCommand(index: number, whiteBox: boolean): WorldCommand<W> {
  const pick = (world: W): Holding | undefined => {
    const held = world.holdings.filter(
      (h) => h.kind === 'count' && h.status === 'held' && h.releasing === 0,
    );
    return held[index % Math.max(1, held.length)];
  };
  return new WorldCommand<W>(
    `release(#${index})`,
    (world) => pick(world) !== undefined,
    (world) => {
      if (whiteBox) readAvailable(world);
      // fc.scheduledModelRun checks and runs a command in two steps; a refill may come between.
      const h = pick(world);
      if (h === undefined) return;
      h.releasing = 1;
      world.changed();
      world.track(
        `release(${h.cost})`,
        // A count reservation fenced by a refill before the call starts is not released: the
        // count API cannot tell epochs apart, so releasing it would free new-epoch units.
        () => (h.status === 'void' ? undefined : world.subject.release(h.cost)),
        (outcome) => {
          h.releasing = 0;
          if (outcome.ok) h.status = h.status === 'held' ? 'released' : h.status;
          else if (isTimeout(outcome.error)) {
            world.timeouts++;
            if (h.status === 'held') h.status = 'maybe-released';
          } else world.fail('*', `release(${h.cost}) failed: ${describeError(outcome.error)}`);
          world.changed();
          if (whiteBox) readAvailable(world);
        },
      );
    },
  );
}

function settleCommand(index: number, kind: SettleKind, whiteBox: boolean): WorldCommand<W> {
  const candidates = (world: W): Holding[] =>
    world.holdings.filter((h) => h.kind === 'permit' && h.permit !== undefined && !h.indeterminate);
  const pick = (world: W): Holding | undefined => {
    const all = candidates(world);
    return all[index % Math.max(1, all.length)];
  };
  const open = (h: Holding): boolean => h.status === 'held' || h.status === 'maybe';
  return new WorldCommand<W>(
    `${kind}Permit(#${index})`,
    (world) => pick(world) !== undefined,
    (world) => {
      if (whiteBox) readAvailable(world);
      const h = pick(world);
      if (h === undefined) return;
      const permit = h.permit!;
      if (h.attempts > 0 || !open(h)) world.resettles++;
      h.attempts++;
      h.settling++;
      const releasing = kind !== 'commit';
      if (releasing) h.releasing++;
      else h.committing++;
      world.changed();
      world.track<unknown>(
        `${kind}Permit(${h.cost})`,
        () =>
          kind === 'release'
            ? permit.release()
            : kind === 'commit'
              ? permit.commit()
              : permit[Symbol.asyncDispose](),
        (outcome) => {
          h.settling--;
          if (releasing) h.releasing--;
          else h.committing--;
          if (!outcome.ok) {
            if (isTimeout(outcome.error)) {
              world.timeouts++;
              h.indeterminate = true;
              if (open(h) && releasing) h.status = 'maybe-released';
            } else world.fail('*', `${kind} of a permit failed: ${describeError(outcome.error)}`);
            world.changed();
            return;
          }
          if (kind === 'dispose') {
            h.disposed = true;
            // A completed dispose leaves the permit settled: released, unless a commit that
            // is still in flight won the race.
            if (open(h) && h.wins === 0 && h.committing === 0) {
              h.status = 'released';
              h.inferred = true;
            }
          } else if (outcome.value === true) {
            h.wins++;
            const first = h.wins === 1 && (open(h) || (h.inferred && kind === 'release'));
            world.expect(
              first,
              ['P1'],
              () =>
                `${kind}() returned true for a permit already settled (${h.status}, ${h.wins} wins)`,
            );
            if (open(h) || h.inferred) {
              h.inferred = false;
              if (kind === 'release') h.status = 'released';
              else if (h.status === 'held' && !h.commitCrossed) h.status = 'committed';
              else {
                // Committed before or after a refill: spent in the old epoch or the new one.
                h.status = 'maybe';
                h.committedMaybe = true;
              }
            }
          } else if (outcome.value !== false) {
            world.fail(['P1'], `${kind}() resolved ${String(outcome.value)}, not a boolean`);
          }
          if (h.settling === 0 && open(h) && h.wins === 0) {
            if (h.disposed) h.status = 'released';
            else if (h.status === 'held')
              world.fail(['P1'], `every settle call on a held permit of ${h.cost} returned false`);
          }
          world.changed();
          if (whiteBox) readAvailable(world);
        },
      );
    },
  );
}

/**
 * Settles one permit twice in one command (two calls in flight at once, in an order the
 * scheduler picks): the second must refund nothing (P1).
 */
function settleTwiceCommand(
  index: number,
  first: SettleKind,
  second: SettleKind,
  whiteBox: boolean,
): WorldCommand<W> {
  const a = settleCommand(index, first, whiteBox);
  const b = settleCommand(index, second, whiteBox);
  return new WorldCommand<W>(
    `${first}Permit(#${index}) & ${second}Permit(#${index})`,
    a.precondition,
    (world) => {
      a.body(world);
      b.body(world);
    },
  );
}

function invalidCommand(entry: InvalidEntry, value: unknown, whiteBox: boolean): WorldCommand<W> {
  const label = `${entry}(${formatAmount(value)})`;
  return new WorldCommand<W>(label, always, (world) => {
    if (whiteBox) readAvailable(world);
    world.invalidCalls++;
    const subject = world.subject;
    world.track<unknown>(
      label,
      () => (subject[entry] as (v: unknown) => Promise<unknown>).call(subject, value),
      (outcome) => {
        if (outcome.ok) {
          world.fail(['G5'], `${label} resolved ${String(outcome.value)} instead of rejecting`);
        } else if (BudgetError.isInstance(outcome.error)) {
          world.expect(
            outcome.error.code === 'INVALID_AMOUNT',
            ['G5'],
            () =>
              `${label} rejected with ${outcome.error instanceof Error ? describeError(outcome.error) : ''}, expected INVALID_AMOUNT`,
          );
        }
        world.changed();
        if (whiteBox) readAvailable(world);
      },
    );
  });
}

function refillCommand(whiteBox: boolean): WorldCommand<W> {
  return new WorldCommand<W>(
    'refill()',
    (world) => !world.refillIssued,
    (world) => {
      if (whiteBox) readAvailable(world);
      world.refillIssued = true;
      world.track(
        'refill',
        () => {
          // The refill takes effect when it reaches the subject: calls already inside the
          // subject cross it, calls not yet started land in the new epoch.
          world.refillRunning = true;
          world.refillModel();
          world.changed();
          return world.subject.refill!();
        },
        (outcome) => {
          world.refillIssued = false;
          world.refillRunning = false;
          if (!outcome.ok) world.fail('*', `refill() failed: ${describeError(outcome.error)}`);
          world.changed();
          if (whiteBox) readAvailable(world);
        },
      );
    },
  );
}

async function quiescence(world: W, whiteBox: boolean, remote: boolean): Promise<void> {
  const [lo, hi] = world.bounds();
  const { subject, capacity } = world;
  const base: InvariantId[] = remote ? ['RM1'] : ['G3'];
  if ((whiteBox || remote) && typeof subject.available === 'function') {
    const read = await world.settle(() => subject.available!());
    if (!read.ok) return world.fail('*', `available() failed: ${describeError(read.error)}`);
    const a = read.value;
    world.expect(
      Number.isSafeInteger(a) && a >= 0 && a <= capacity,
      world.refills > 0 ? ['G1', 'R1'] : ['G1'],
      () => `available() = ${a} at quiescence, outside [0, ${capacity}]`,
    );
    world.expect(a >= lo && a <= hi, world.conservationIds(base), () =>
      lo === hi
        ? `available() = ${a} at quiescence, expected C − H = ${lo}`
        : `available() = ${a} at quiescence, expected within [${lo}, ${hi}]`,
    );
    world.rethrow();
  }
  // G4: probe conservation through the count API only.
  const ids = world.conservationIds(['G4']);
  if (!ids.some((id) => world.active.has(id))) return;
  const first = Math.max(0, lo);
  const took = await world.settle(() => subject.tryReserve(first));
  if (!took.ok) {
    if (!isTimeout(took.error))
      world.fail('*', `probe tryReserve(${first}) failed: ${describeError(took.error)}`);
    return;
  }
  world.expect(
    took.value === true,
    ids,
    () => `probe tryReserve(C − H = ${first}) was denied at quiescence`,
  );
  if (!took.value) return;
  const extra = hi - lo + 1;
  const more = await world.settle(() => subject.tryReserve(extra));
  if (!more.ok) {
    if (!isTimeout(more.error))
      world.fail('*', `probe tryReserve(${extra}) failed: ${describeError(more.error)}`);
    return;
  }
  world.expect(
    more.value === false,
    ids,
    () =>
      `probe tryReserve(${extra}) succeeded after tryReserve(C − H = ${first}): more than capacity is available`,
  );
}
