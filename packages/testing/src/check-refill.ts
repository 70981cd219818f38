import type { RefillPolicy } from '@budgetry/core';
import fc from 'fast-check';
import {
  type CheckReport,
  type ConformanceContext,
  type GuardCheckOptions,
  type GuardSubject,
  guardInvariants,
  type RefillDriver,
  readAvailable,
  runGuardCheck,
  type W,
} from './check-guard.js';
import type { InvariantId } from './invariant-catalog.js';
import { WorldCommand } from './scheduled-world.js';

/**
 * A guard refilled by a clock-driven scheduler, as the refill check sees it. Compose's
 * `RefillingGuard` (from `lazyRefill`, `intervalRefill`, `calendarRefill`) has this shape.
 *
 * @example
 * ```ts
 * import type { RefillSubject } from '@budgetry/testing';
 * declare const subject: RefillSubject;
 * console.log(subject.epoch, subject.nextRefillAt());
 * ```
 */
export interface RefillSubject extends GuardSubject {
  /**
   * The number of epochs begun so far. Reading it brings the schedule up to date with the
   * clock (a lazy scheduler catches up here), as every other method does.
   */
  readonly epoch: number;
  /** The clock time (ms) at which the next epoch begins. */
  nextRefillAt(): number;
  /** Units reservable now (white-box; the refill check needs it). */
  available(): number | Promise<number>;
}

/**
 * What a refill factory receives: the guard context plus the refill policy to build with.
 *
 * @example
 * ```ts
 * import type { RefillContext } from '@budgetry/testing';
 * const describe = ({ capacity, policy, clock }: RefillContext) => `${capacity} ${policy} @${clock.now()}`;
 * ```
 */
export interface RefillContext extends ConformanceContext {
  /** The policy the subject's budget must refill with. */
  readonly policy: RefillPolicy;
}

/**
 * Builds a fresh refilling guard for one run, on `context.clock`.
 *
 * @example
 * ```ts
 * import type { RefillFactory } from '@budgetry/testing';
 * // With @budgetry/compose:
 * //   const factory: RefillFactory = ({ capacity, clock, policy }) =>
 * //     lazyRefill(new AtomicBudget(capacity, { refillPolicy: policy }), { intervalMs: 1_000, clock });
 * declare const factory: RefillFactory;
 * ```
 */
export type RefillFactory<S extends RefillSubject = RefillSubject> = (
  context: RefillContext,
) => S | Promise<S>;

/**
 * Options of {@link checkRefill}.
 *
 * @example
 * ```ts
 * import type { RefillCheckOptions } from '@budgetry/testing';
 * const options: RefillCheckOptions = { refillPolicy: 'carry', numRuns: 1_000 };
 * ```
 */
export interface RefillCheckOptions extends GuardCheckOptions {
  /** The policy passed to the factory and modelled (default `reset`). */
  refillPolicy?: RefillPolicy;
}

/**
 * The invariants {@link checkRefill} checks: the white-box guard invariants plus R1–R4.
 *
 * @returns invariant ids, in order.
 *
 * @example
 * ```ts
 * import { refillInvariants } from '@budgetry/testing';
 * refillInvariants(); // [..., 'R1', 'R2', 'R3', 'R4']
 * ```
 */
export function refillInvariants(): InvariantId[] {
  return [...guardInvariants('white-box'), 'R2', 'R3'];
}

type Step = 'within' | 'boundary' | 'late';

function epochOf(world: W): number {
  return (world.subject as RefillSubject).epoch;
}

function advanceCommand(step: Step): WorldCommand<W> {
  const label =
    step === 'within'
      ? 'advance(to 1 ms before the boundary)'
      : step === 'boundary'
        ? 'advance(to the boundary)'
        : 'advance(to the boundary, timer late)';
  return new WorldCommand<W>(
    label,
    () => true,
    (world) => {
      const subject = world.subject as RefillSubject;
      const { clock } = world;
      const before = epochOf(world);
      const at = subject.nextRefillAt();
      if (step === 'within') {
        if (at - 1 > clock.now()) clock.set(at - 1);
        const after = epochOf(world);
        world.expect(
          after === before,
          ['R2'],
          () => `the epoch moved from ${before} to ${after} before the boundary at ${at} ms`,
        );
        readAvailable(world, ['R2']);
        return;
      }
      if (step === 'boundary') clock.set(Math.max(at, clock.now()));
      else clock.lag(Math.max(0, at - clock.now()));
      const after = epochOf(world);
      world.expect(
        after === before + 1,
        ['R2'],
        () => `crossing one boundary (${at} ms) moved the epoch from ${before} to ${after}`,
      );
      world.refillModel();
      world.changed();
      readAvailable(world, ['R1', 'R4']);
    },
  );
}

/** Delivers refill timers held back by a late advance: they must change nothing (R3). */
const lateTimersCommand = new WorldCommand<W>(
  'deliverLateTimers()',
  () => true,
  (world) => {
    const before = epochOf(world);
    world.clock.flush();
    const after = epochOf(world);
    world.expect(
      after === before,
      ['R3'],
      () => `a late timer moved the epoch from ${before} to ${after}`,
    );
    readAvailable(world, ['R3']);
  },
);

const clockRefill: RefillDriver = {
  applies: (probe) =>
    typeof (probe as Partial<RefillSubject>).nextRefillAt === 'function' &&
    typeof (probe as Partial<RefillSubject>).epoch === 'number',
  commands: () => [
    { arbitrary: fc.constant(advanceCommand('boundary')), weight: 2 },
    { arbitrary: fc.constant(advanceCommand('within')), weight: 1 },
    { arbitrary: fc.constant(advanceCommand('late')), weight: 1 },
    { arbitrary: fc.constant(lateTimersCommand), weight: 1 },
  ],
  extra: ['R2', 'R3'],
};

/**
 * Checks a guard refilled by a clock-driven scheduler (R1–R4 with the guard invariants). The
 * kit moves `context.clock`: to just before the next boundary (nothing may refill), onto it
 * (exactly one refill, under the policy), and onto it with the timer held back, which a later
 * command delivers (the late timer must change nothing). Calls in flight across a boundary are bounded, not equal.
 *
 * @param factory - builds the refilling guard on `context.clock` with `context.policy`.
 * @param options - common options; `refillPolicy` selects the policy (default `reset`).
 * @returns passed and skipped invariants.
 * @throws ConformanceError for the first invariant that fails.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import { checkRefill } from '@budgetry/testing';
 *
 * // With @budgetry/compose:
 * //   checkRefill(({ capacity, clock, policy }) =>
 * //     lazyRefill(new AtomicBudget(capacity, { refillPolicy: policy }), { intervalMs: 1000, clock }));
 * ```
 */
export function checkRefill<S extends RefillSubject>(
  factory: RefillFactory<S>,
  options: RefillCheckOptions = {},
): Promise<CheckReport> {
  const policy = options.refillPolicy ?? 'reset';
  return runGuardCheck(
    (context) => factory({ ...context, policy }),
    { ...options, refillPolicy: policy, mode: 'white-box' },
    clockRefill,
  );
}
