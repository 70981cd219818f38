// What guards and token budgets share: a world whose model is one ledger, the handles the
// harness holds, refills by call or by clock, reads, invalid amounts and probes at rest.
import { BudgetError } from '@budgetry/core';
import fc from 'fast-check';
import { AdapterError } from './adapter-error.js';
import { formatAmount } from './amount-arbitraries.js';
import type { ResolvedCapabilities } from './capabilities.js';
import {
  describeError,
  type Judgement,
  type OpSpec,
  type Outcome,
  type Planned,
  StepCommand,
  World,
} from './engine.js';
import type { FakeClock } from './fake-clock.js';
import type { InvariantId } from './invariant-catalog.js';
import {
  DISARMED,
  HELD,
  type LedgerConfig,
  type LedgerState,
  ledgerAvailable,
  ledgerCountRelease,
  ledgerDebt,
  ledgerKey,
  ledgerRefill,
  ledgerReserve,
  openLedger,
  statusOf,
} from './ledger.js';
import type { ScheduleTwin } from './schedule-twin.js';
import { type Mismatch, mismatch } from './search.js';

/** @internal What kind of reservation a handle is. */
export type HandleKind = 'count' | 'permit' | 'token';

/** @internal A reservation the harness holds (or may hold, after a timeout). */
export interface Handle {
  readonly id: number;
  readonly kind: HandleKind;
  readonly amount: number;
  /** The permit or reservation object (none for the count API). */
  readonly object: unknown;
  /** Refills begun when its reserve was made (for `countRelease: 'exact'`). */
  readonly stamp: number;
  /** No refill overlapped its reserve: the epoch it belongs to is known. */
  readonly sure: boolean;
  /** Settle calls launched on it (release, commit, record, dispose, …). */
  settles: number;
  /** Count API: its release has been sent. */
  released: boolean;
  /** Token reservations: the refund `disarm()` handed back. */
  refund: ((...args: unknown[]) => unknown) | undefined;
}

/** @internal Positions of handles to pick, counted from the newest: mostly the newest ones. */
export function handleIndex(): fc.Arbitrary<number> {
  return fc.oneof(
    { arbitrary: fc.constant(0), weight: 4 },
    { arbitrary: fc.constant(1), weight: 2 },
    { arbitrary: fc.integer({ min: 2, max: 5 }), weight: 1 },
  );
}

/** @internal Primary invariants of a world kind, used to blame mismatches. */
export interface Blames {
  readonly overAdmit: InvariantId;
  readonly falseDenial: InvariantId;
  readonly read: InvariantId;
}

type S = LedgerState;
/** @internal */
export type LedgerOp<W extends LedgerWorld> = OpSpec<S, W>;

/** @internal */
export function isTimeout(error: unknown): boolean {
  return BudgetError.isInstance(error) && error.code === 'TIMEOUT';
}

/** @internal A world whose model is one ledger. */
export class LedgerWorld<Sub = unknown> extends World<S> {
  readonly handles: Handle[] = [];
  /**
   * Refills begun and in flight, and count releases in flight: a budget whose count API
   * matches releases to reservations of exactly that cost (`countRelease: 'exact'`) is only
   * sent releases of reservations it holds in the current epoch, never across a refill.
   */
  refillsStarted = 0;
  refillsInFlight = 0;
  countReleasesInFlight = 0;
  /** Amount of every ledger handle id (count reservations included, unused by the ledger). */
  readonly amounts: number[] = [];
  /** Late refill timers delivered since the last read at rest. */
  deliveriesSinceRead = 0;
  /** Under refill by clock: every boundary `nextRefillAt()` has named is one of the twin's. */
  twinAgrees = true;
  /** Under refill by clock: where the schedule's boundaries fall (see ScheduleTwin). */
  twin: ScheduleTwin | undefined = undefined;
  /** The boundary the last jump started from, until the subject next names one. */
  jumpedFrom: number | undefined = undefined;

  constructor(
    scheduler: fc.Scheduler,
    readonly subject: Sub,
    readonly config: LedgerConfig,
    readonly caps: ResolvedCapabilities,
    readonly clock: FakeClock,
    readonly blames: Blames,
  ) {
    super(scheduler, openLedger(), ledgerKey, caps.linearizable);
  }

  /** A new handle id for a grant (or a timed-out reserve, which nobody can settle). */
  newHandle(kind: HandleKind, amount: number, object: unknown, stamp = -1, sure = false): Handle {
    const h: Handle = {
      id: this.handles.length,
      kind,
      amount,
      object,
      stamp,
      sure,
      settles: 0,
      released: false,
      refund: undefined,
    };
    this.handles.push(h);
    this.amounts[h.id] = amount;
    return h;
  }

  /**
   * The `index`-th most recent handle of `kind` that passes `filter` (0: the newest), or
   * `undefined` when there are not that many. Counting from the newest, and skipping rather
   * than wrapping around, keeps a command pointing at the same handle when shrinking removes
   * older ones, so counterexamples get small.
   */
  pick(index: number, kind: HandleKind, filter: (h: Handle) => boolean): Handle | undefined {
    let seen = 0;
    for (let i = this.handles.length - 1; i >= 0; i--) {
      const h = this.handles[i]!;
      if (h.kind !== kind || h.object === null || !filter(h)) continue;
      if (seen++ === index) return h;
    }
    return undefined;
  }

  /** A count reservation the harness may release now. */
  releasable(h: Handle): boolean {
    if (h.kind !== 'count' || h.released) return false;
    if (this.caps.countRelease === 'pool' || this.config.policy === 'carry') return true;
    return h.sure && h.stamp === this.refillsStarted && this.refillsInFlight === 0;
  }

  /** Whether a refill may start now (under `countRelease: 'exact'`, not across a release). */
  mayRefill(): boolean {
    return (
      this.caps.countRelease === 'pool' ||
      this.config.policy === 'carry' ||
      this.countReleasesInFlight === 0
    );
  }

  override async rest(specs: Parameters<World<S>['rest']>[0]): Promise<void> {
    await super.rest(specs);
    if (this.ok() && specs.length > 0) {
      this.refillsSinceRead = 0;
      this.deliveriesSinceRead = 0;
    }
  }

  available(s: S): number {
    return ledgerAvailable(this.config, s);
  }

  /** What a rejection of a valid call means: indeterminate (a declared timeout) or a failure (E1). */
  rejected(label: string, error: unknown, effect: (s: S) => readonly S[] | Mismatch): Judgement<S> {
    if (this.caps.timeouts && isTimeout(error)) {
      return { kind: 'step', shown: 'TIMEOUT', optional: true, step: (s) => effect(s) };
    }
    const hint = isTimeout(error)
      ? ' (declare the timeouts capability if calls may time out, having taken effect or not)'
      : '';
    return {
      kind: 'fail',
      mismatch: {
        reason: `${label} rejected unexpectedly: ${describeError(error)}${hint}`,
        blame: 'E1',
      },
    };
  }
}

/** @internal Describes a value for adapter errors: `"5" (a string)`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return `an object (${Object.keys(value).join(', ') || 'no keys'})`;
  return `${formatAmount(value)} (${typeof value})`;
}

/** @internal A reservation through the count API, a permit or a token reservation. */
export function reserveOp<W extends LedgerWorld>(
  kind: HandleKind,
  amount: number,
  member: string,
  options: { probe?: boolean; validate?: (value: object, world: W) => Mismatch | undefined } = {},
): LedgerOp<W> {
  const text = `${options.probe === true ? 'probe ' : ''}${member}(${amount})`;
  return {
    text,
    applicable: () => true,
    plan(world): Planned<S> {
      const { config } = world;
      const stamp = world.refillsStarted;
      const crossing = world.refillsInFlight > 0;
      const grant = (s: S, id: number | undefined): readonly S[] | Mismatch => {
        const next = ledgerReserve(config, s, amount, id);
        if (next !== undefined) return [next];
        const free = ledgerAvailable(config, s);
        const blame: InvariantId =
          options.probe === true ? 'G4' : amount > config.capacity ? 'G5' : world.blames.overAdmit;
        return mismatch(
          `${text} was granted although only ${free} of ${config.capacity} were free${ledgerDebt(config, s) > 0 ? ` (debt ${ledgerDebt(config, s)})` : ''}`,
          blame,
        );
      };
      const judge = (outcome: Outcome): Judgement<S> => {
        if (!outcome.ok) {
          return world.rejected(text, outcome.error, (s) => {
            const id = kind === 'count' ? undefined : world.newHandle(kind, amount, null).id;
            const next = ledgerReserve(config, s, amount, id);
            return next === undefined ? [s] : [s, next];
          });
        }
        const value = outcome.value;
        let granted: boolean;
        if (kind === 'count') {
          if (typeof value !== 'boolean') {
            throw new AdapterError(
              `${member}(${amount}) resolved ${describeValue(value)}; expected true or false`,
              { member },
            );
          }
          granted = value;
        } else if (value === null || value === undefined) {
          granted = false;
        } else if (typeof value !== 'object') {
          throw new AdapterError(
            `${member}(${amount}) resolved ${describeValue(value)}; expected a handle object or null`,
            { member },
          );
        } else {
          granted = true;
          const bad = options.validate?.(value, world);
          if (bad !== undefined) return { kind: 'fail', mismatch: bad };
        }
        if (!granted) {
          return {
            kind: 'step',
            shown: 'denied',
            exact: options.probe === true,
            step: (s, exact) => {
              if (amount === 0) return mismatch(`${text} was denied; 0 is always granted`, 'G5');
              const free = ledgerAvailable(config, s);
              if (!exact || amount > free) return [s];
              return mismatch(
                `${text} was denied although ${free} of ${config.capacity} were free`,
                options.probe === true ? 'G4' : world.blames.falseDenial,
              );
            },
          };
        }
        const sure = !crossing && world.refillsInFlight === 0 && world.refillsStarted === stamp;
        const h = world.newHandle(kind, amount, kind === 'count' ? undefined : value, stamp, sure);
        return {
          kind: 'step',
          shown: kind === 'count' ? `true (#${h.id})` : `#${h.id}`,
          step: (s) => grant(s, kind === 'count' ? undefined : h.id),
        };
      };
      return {
        label: text,
        start: () => (world.subject as Record<string, (a: number) => unknown>)[member]!(amount),
        judge,
      };
    },
  };
}

/**
 * @internal A count-API release of `amount`. The count API cannot tell which reservation it
 * returns, so a correct budget accepts at most what it holds through the count API in the
 * current epoch: beyond that (a second release, a release of a reservation a `reset` fenced,
 * or of nothing at all) is over-release — clamped and counted, or, when the budget declares
 * `overRelease: 'reject'`, refused with `OVER_RELEASE` and no effect.
 */
export function planCountRelease(world: LedgerWorld, amount: number, label: string): Planned<S> {
  const strict = world.caps.overRelease === 'reject';
  world.countReleasesInFlight++;
  return {
    label,
    start: () => (world.subject as { release(c: number): unknown }).release(amount),
    judge: (outcome) => {
      world.countReleasesInFlight--;
      if (outcome.ok) {
        return {
          kind: 'step',
          shown: 'done',
          step: (s) =>
            strict && amount > s.pool
              ? mismatch(
                  `${label} was accepted although the count API held only ${s.pool}; a strict budget refuses it with OVER_RELEASE`,
                  'G3',
                )
              : [ledgerCountRelease(s, amount)],
        };
      }
      const error = outcome.error;
      if (strict && BudgetError.isInstance(error) && error.code === 'OVER_RELEASE') {
        return {
          kind: 'step',
          shown: 'OVER_RELEASE',
          step: (s) =>
            amount > s.pool
              ? [s]
              : mismatch(
                  `${label} was refused as an over-release although the count API held ${s.pool}`,
                  'E1',
                ),
        };
      }
      return world.rejected(label, error, (s) => [s, ledgerCountRelease(s, amount)]);
    },
  };
}

/**
 * @internal Releases a count reservation the harness holds (`release(#k: amount)`), or, for
 * `again`, one it already released (a double release the budget must not honour twice).
 */
export function countReleaseOp<W extends LedgerWorld>(
  index: number,
  which: 'held' | 'again' = 'held',
): LedgerOp<W> {
  const filter = (world: W) => (h: Handle) => (which === 'held' ? world.releasable(h) : h.released);
  return {
    text: `release(${which === 'again' ? 'released ' : ''}#${index})`,
    applicable: (world) => world.pick(index, 'count', filter(world)) !== undefined,
    plan(world) {
      const h = world.pick(index, 'count', filter(world));
      if (h === undefined) return undefined;
      h.released = true;
      return planCountRelease(
        world,
        h.amount,
        `release(#${h.id}: ${h.amount}${which === 'again' ? ', again' : ''})`,
      );
    },
  };
}

/** @internal A count-API release of units nobody reserved. */
export function overReleaseOp<W extends LedgerWorld>(amount: number): LedgerOp<W> {
  const label = `release(${amount}, never reserved)`;
  return {
    text: label,
    applicable: () => true,
    plan: (world) => planCountRelease(world, amount, label),
  };
}

/**
 * @internal `refill()` on the subject, or `refill(times)` (a batch, as that many calls): the
 * ledger begins `times` epochs.
 */
export function refillOp<W extends LedgerWorld>(times = 1): LedgerOp<W> {
  const text = times === 1 ? 'refill()' : `refill(${times})`;
  return {
    text,
    applicable: (world) => world.mayRefill(),
    plan(world) {
      if (!world.mayRefill()) return undefined;
      world.refillsSinceRead++;
      world.refillsStarted++;
      world.refillsInFlight++;
      const effect = (s: S): readonly S[] => [refillTimes(world, s, times)];
      const subject = world.subject as { refill(times?: number): unknown };
      return {
        label: text,
        start: () => (times === 1 ? subject.refill() : subject.refill(times)),
        judge: (outcome) => {
          world.refillsInFlight--;
          if (!outcome.ok) return world.rejected(text, outcome.error, effect);
          return { kind: 'step', shown: 'done', step: effect };
        },
      };
    },
  };
}

/** `times` refills of the ledger in a row. */
function refillTimes(world: LedgerWorld, s: S, times: number): S {
  let state = s;
  for (let i = 0; i < times; i++) state = ledgerRefill(world.config, state, world.amounts);
  return state;
}

/** Counts a batched `refill(times)` must reject: not positive safe integers (`undefined` means 1). */
const INVALID_TIMES: readonly unknown[] = [
  0,
  -1,
  1.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  2 ** 53,
  '2',
];

/**
 * @internal The refill commands for a subject refilled by call: `refill()`, and under
 * `batch` also `refill(2…4)` and `refill` with an invalid count (rejected without effect).
 */
export function refillCallOps<W extends LedgerWorld>(
  batch: boolean,
  weight: number,
): [number, fc.Arbitrary<LedgerOp<W>>][] {
  const list: [number, fc.Arbitrary<LedgerOp<W>>][] = [[weight, fc.constant(refillOp<W>())]];
  if (!batch) return list;
  list.push(
    [weight, fc.integer({ min: 2, max: 4 }).map((times) => refillOp<W>(times))],
    [
      1,
      fc.constantFrom(...INVALID_TIMES).map((times) =>
        invalidOp<W>(
          `refill(${formatAmount(times)})`,
          (world) => (world.subject as { refill(times: unknown): unknown }).refill(times),
          ['INVALID_ARGUMENT', 'INVALID_AMOUNT'],
          (world) => world.mayRefill(),
        ),
      ),
    ],
  );
  return list;
}

/** @internal How far a clock move goes. */
export type ClockStep = 'within' | 'boundary' | 'late' | 'deliver' | 'jump';

interface ClockSubject {
  readonly epoch: number;
  nextRefillAt(): number;
}

/**
 * @internal Moves `context.clock` and nothing else: to 1 ms before the next boundary (no
 * refill), onto it (exactly one), onto it with the timer held back, past several at once with
 * their timers held back (`jump`, two to four and now and then up to forty: a process paused or
 * a machine asleep; the subject's next access must begin every epoch it slept through), or
 * delivering held-back timers (a stale refill must change nothing). The move touches no method
 * of the subject, so the next call may be the first to see the new epoch — a lazy schedule must
 * attribute it from the clock, not from the traffic. The boundary is asked for
 * (`nextRefillAt()`) before the clock moves, when nothing is due yet. A jump lands halfway
 * between its last boundary and the one after, where the run's {@link ScheduleTwin} puts them;
 * without a twin that agrees with the subject it is a move onto the next boundary. The first
 * boundary the subject names after a jump must be one of the twin's (R2 otherwise: the pause
 * moved its schedule).
 */
export function clockOp<W extends LedgerWorld>(step: ClockStep, boundaries = 1): LedgerOp<W> {
  const text =
    step === 'within'
      ? 'advance(to 1 ms before the boundary)'
      : step === 'boundary'
        ? 'advance(to the boundary)'
        : step === 'late'
          ? 'advance(to the boundary, timer late)'
          : step === 'jump'
            ? `advance(past ${boundaries} boundaries)`
            : 'deliverLateTimers()';
  return {
    text,
    applicable: (world) => world.mayRefill(),
    plan(world) {
      if (!world.mayRefill()) return undefined;
      const subject = world.subject as ClockSubject;
      const { clock } = world;
      const crosses = step === 'boundary' || step === 'late' || step === 'jump';
      if (crosses) {
        world.refillsSinceRead++;
        world.refillsStarted++;
      }
      let crossed = crosses ? 1 : 0;
      let moved: { from: number; at: number } | undefined;
      return {
        label: text,
        start: () => {
          if (step === 'deliver') {
            world.deliveriesSinceRead++;
            clock.flush();
            return;
          }
          const at = subject.nextRefillAt();
          if (typeof at !== 'number' || !Number.isFinite(at)) {
            throw new AdapterError(
              `nextRefillAt() returned ${describeValue(at)}; expected a time in ms`,
              { member: 'nextRefillAt' },
            );
          }
          const twin = world.twin;
          if (twin !== undefined && !twin.knows(at)) world.twinAgrees = false;
          if (world.jumpedFrom !== undefined && twin !== undefined) {
            // The first boundary named after a jump the twin planned must be one of the twin's:
            // a schedule that moved because of the pause (re-anchored on the time it woke) did
            // not begin the epochs it slept through where they fell.
            const from = world.jumpedFrom;
            world.jumpedFrom = undefined;
            if (twin.covers(at) && !twin.knows(at)) moved = { from, at };
          }
          if (step === 'within') {
            if (at - 1 > clock.now()) clock.set(at - 1);
            return;
          }
          const to =
            step === 'jump' && at >= clock.now() && moved === undefined && world.twinAgrees
              ? twin?.plan(at, boundaries)
              : undefined;
          if (to !== undefined) {
            // Asleep: the timers stay due until a later move delivers them, so the subject's
            // next access is the first to see the time.
            crossed = boundaries;
            world.jumpedFrom = at;
            clock.lag(to - clock.now());
            return;
          }
          if (step === 'late') clock.lag(Math.max(0, at - clock.now()));
          else clock.set(Math.max(at, clock.now()));
        },
        judge: (outcome): Judgement<S> => {
          if (!outcome.ok) throw outcome.error;
          if (moved !== undefined) {
            return {
              kind: 'fail',
              mismatch: mismatch(
                `after the clock jumped past boundaries from ${moved.from}, nextRefillAt() named ${moved.at}, which is not a boundary of the schedule (a subject built beside it by the same factory has none there): the pause moved the schedule`,
                'R2',
              ),
            };
          }
          return {
            kind: 'step',
            // Without a twin that agrees with the subject, a jump moves onto the next boundary.
            shown: step === 'jump' && crossed === 1 ? 'done (one boundary: no twin)' : 'done',
            step: (s) => [crossed === 0 ? s : refillTimes(world, s, crossed)],
          };
        },
      };
    },
  };
}

/**
 * @internal The clock moves of a subject refilled by clock, and its `epoch` read, with
 * `weight` for each (twice that for a move onto the boundary).
 */
export function refillClockOps<W extends LedgerWorld>(
  weight: number,
): [number, fc.Arbitrary<LedgerOp<W>>][] {
  return [
    [2 * weight, fc.constant(clockOp<W>('boundary'))],
    [weight, fc.constant(clockOp<W>('within'))],
    [weight, fc.constant(clockOp<W>('late'))],
    [weight, fc.constant(clockOp<W>('deliver'))],
    [
      weight,
      fc
        .oneof(
          { arbitrary: fc.integer({ min: 2, max: 4 }), weight: 3 },
          fc.integer({ min: 5, max: 40 }),
        )
        .map((n) => clockOp<W>('jump', n)),
    ],
    [weight, fc.constant(epochReadOp<W>())],
  ];
}

/** @internal Reads the subject's `epoch` (under refill by clock): one per boundary crossed. */
export function epochReadOp<W extends LedgerWorld>(): LedgerOp<W> {
  return {
    text: 'epoch',
    applicable: () => true,
    plan(world) {
      const delivered = world.deliveriesSinceRead;
      return {
        label: 'epoch',
        start: () => (world.subject as ClockSubject).epoch,
        judge: (outcome): Judgement<S> => {
          if (!outcome.ok) throw outcome.error;
          const epoch = outcome.value;
          if (typeof epoch !== 'number') {
            throw new AdapterError(`epoch is ${describeValue(epoch)}; expected a number`, {
              member: 'epoch',
            });
          }
          return {
            kind: 'step',
            shown: String(epoch),
            read: true,
            step: (s) =>
              epoch === s.epoch
                ? [s]
                : mismatch(
                    `epoch is ${epoch}; the clock has crossed ${s.epoch} boundaries`,
                    epoch > s.epoch && delivered > 0 ? 'R3' : 'R2',
                  ),
          };
        },
      };
    },
  };
}

/** @internal Which quantity a read returns. */
export type ReadKind = 'available' | 'debt' | 'tokensConsumed';

/** @internal A read, checked exactly against the ledger at its instant. */
export function readOp<W extends LedgerWorld>(what: ReadKind, target = 'subject'): LedgerOp<W> {
  const text = `${what}()`;
  return {
    text,
    applicable: () => true,
    plan(world) {
      const refills = world.refillsSinceRead;
      const { config } = world;
      return {
        label: text,
        start: () => (world.subject as Record<string, () => unknown>)[what]!(),
        judge: (outcome) => {
          if (!outcome.ok) {
            return world.rejected(text, outcome.error, (s) => [s]);
          }
          const value = outcome.value;
          if (typeof value !== 'number') {
            throw new AdapterError(
              `${target}.${text} returned ${describeValue(value)}; expected a number`,
              {
                member: what,
              },
            );
          }
          return {
            kind: 'step',
            shown: formatAmount(value),
            read: true,
            step: (s) => {
              const want =
                what === 'available'
                  ? ledgerAvailable(config, s)
                  : what === 'debt'
                    ? ledgerDebt(config, s)
                    : s.consumed;
              if (value === want) return [s];
              const range = what !== 'available' || (value >= 0 && value <= config.capacity);
              const safe = Number.isSafeInteger(value) && value >= 0;
              let blame: InvariantId;
              if (what === 'tokensConsumed') blame = 'T1';
              else if (!safe || !range) blame = refills > 0 ? 'R1' : 'G1';
              else if (refills > 0) blame = ledgerDebt(config, s) > 0 || s.debtIn > 0 ? 'R5' : 'R4';
              else blame = world.blames.read;
              return mismatch(
                `${text} returned ${formatAmount(value)}; the ledger says ${want}${describeLedger(config, s)}`,
                blame,
              );
            },
          };
        },
      };
    },
  };
}

/** @internal The ledger's state in words, for mismatch messages. */
export function describeLedger(config: LedgerConfig, s: S): string {
  const parts: string[] = [];
  let held = 0;
  let fenced = 0;
  for (let id = 0; id < s.status.length; id++) {
    const c = statusOf(s, id);
    if (c !== HELD && c !== DISARMED) continue;
    if (config.policy === 'carry' || s.epochs[id] === s.epoch) held++;
    else fenced++;
  }
  parts.push(`epoch ${s.epoch}`);
  if (held > 0 || s.pool > 0) parts.push(`${held} handles and ${s.pool} count units held`);
  if (fenced > 0) parts.push(`${fenced} handles fenced by a reset`);
  const debt = ledgerDebt(config, s);
  if (debt > 0) parts.push(`debt ${debt}`);
  if (s.consumed > 0) parts.push(`consumed ${s.consumed}`);
  return ` (${parts.join(', ')})`;
}

/** @internal An invalid amount at one entry point: must reject, and change nothing. */
export function invalidOp<W extends LedgerWorld>(
  text: string,
  call: (world: W) => unknown,
  codes: readonly string[] = ['INVALID_AMOUNT'],
  applicable: (world: W) => boolean = () => true,
): LedgerOp<W> {
  return {
    text,
    applicable,
    plan(world) {
      if (!applicable(world)) return undefined;
      return {
        label: text,
        start: () => call(world),
        judge: (outcome): Judgement<S> => {
          if (outcome.ok) {
            return {
              kind: 'fail',
              mismatch: mismatch(
                `${text} resolved ${formatAmount(outcome.value)} instead of rejecting the invalid amount`,
                'G5',
              ),
            };
          }
          const error = outcome.error;
          if (BudgetError.isInstance(error) && !codes.includes(error.code)) {
            if (world.caps.timeouts && error.code === 'TIMEOUT')
              return { kind: 'none', shown: 'TIMEOUT' };
            return {
              kind: 'fail',
              mismatch: mismatch(
                `${text} rejected with ${error.code}; expected ${codes.join(' or ')}`,
                'G5',
              ),
            };
          }
          return { kind: 'none', shown: 'rejected' };
        },
      };
    },
  };
}

/**
 * @internal Probes conservation at rest through a reserve: take exactly what the ledger says is
 * free (it must be granted), then one more unit (it must be denied), then give back what the
 * probe took with `giveBack`.
 */
export function probeCommand<W extends LedgerWorld>(
  reserve: (amount: number) => LedgerOp<W>,
  giveBack: (world: W, h: Handle) => Planned<S>,
): StepCommand<S, W> {
  return new StepCommand<S, W>('probe()', (world) => probe(world, reserve, giveBack));
}

/** @internal The probe itself, also run at the end of every run that asks for it. */
export async function probe<W extends LedgerWorld>(
  world: W,
  reserve: (amount: number) => LedgerOp<W>,
  giveBack: (world: W, h: Handle) => Planned<S>,
): Promise<void> {
  await world.settle();
  if (!world.ok() || world.unjudgeable) return;
  const free = world.available(world.frontier[0]!);
  const before = world.handles.length;
  world.launch(reserve(free), world.beginCommand(), '');
  await world.settle();
  if (!world.ok()) return;
  if (world.handles.length > before) {
    world.launch(reserve(1), world.beginCommand(), '');
    await world.settle();
  }
  if (!world.ok()) return;
  const entry = world.beginCommand();
  for (const h of world.handles.slice(before)) {
    // A reserve whose reply was lost left no object to give back through; the ledger keeps
    // both the branch where it was applied and the one where it was not.
    if (h.object === null) continue;
    world.launch(
      { text: 'give back', applicable: () => true, plan: () => giveBack(world, h) },
      entry,
      '',
    );
  }
  await world.settle();
}

/**
 * @internal Reserve-and-give-back cycles at the end of every long run. A history of a few
 * hundred commands holds about a hundred grants (most costs are large against the capacity);
 * the soak adds up to this many grants of one to three units, each given back before the next,
 * so that a unit lost once every few hundred grants shows as a false denial here or in the
 * probe after.
 */
export const SOAK_CYCLES = 1_000;

/** @internal One way the soak reserves and gives back (the count API, permits, tokens). */
export interface SoakPath<W extends LedgerWorld> {
  reserve(amount: number): LedgerOp<W>;
  giveBack(world: W, h: Handle): Planned<S>;
}

/** @internal The count API as a soak or probe path: `tryReserve(cost)`, then `release(cost)`. */
export function countPath<W extends LedgerWorld>(): SoakPath<W> {
  return {
    reserve: (amount) => reserveOp<W>('count', amount, 'tryReserve', { probe: true }),
    giveBack: (world, h) => {
      h.released = true;
      return planCountRelease(world, h.amount, `release(#${h.id}: ${h.amount})`);
    },
  };
}

/**
 * @internal The soak: up to `cycles` times, reserve one to three units through each path in
 * turn (granted whenever the ledger has them free) and give them back. It stops at `deadline`
 * (a slow backend gets the cycles that fit in its run's time). The log keeps one line for the
 * cycles that passed and the calls of the one that failed.
 */
export async function soak<W extends LedgerWorld>(
  world: W,
  paths: readonly SoakPath<W>[],
  deadline: number,
  cycles = SOAK_CYCLES,
): Promise<void> {
  await world.settle();
  if (!world.ok() || world.unjudgeable) return;
  const summary = world.beginCommand();
  const line = (done: number, end: string) =>
    `soak: ${done} cycles of reserve(1 to 3) then give back${end}`;
  summary.calls.push(line(0, ''));
  for (let i = 0; i < cycles; i++) {
    const free = world.available(world.frontier[0]!);
    if (free < 1 || Date.now() > deadline) return;
    const path = paths[i % paths.length]!;
    const before = world.handles.length;
    const cycle = world.beginCommand();
    world.launch(path.reserve(Math.min(1 + (i % 3), free)), cycle, '');
    await world.settle();
    for (const h of world.handles.slice(before)) {
      if (!world.ok()) break;
      if (h.object === null) continue;
      world.launch(
        { text: 'give back', applicable: () => true, plan: () => path.giveBack(world, h) },
        cycle,
        '',
      );
    }
    await world.settle();
    if (!world.ok() || world.unjudgeable) {
      summary.calls[0] = line(i, ' passed, then');
      return;
    }
    world.log.pop();
    summary.calls[0] = line(i + 1, '');
  }
}
