import {
  BudgetError,
  type RefillPolicy,
  type TokenBudget,
  type TokenReservation,
} from '@budgetry/core';
import fc from 'fast-check';
import { amountArbitrary, formatAmount, invalidAmountArbitrary } from './amount-arbitraries.js';
import type { CheckReport, ConformanceContext } from './check-guard.js';
import { type CheckMode, type CheckOptions, resolveOptions } from './check-options.js';
import { FakeClock } from './fake-clock.js';
import type { InvariantId } from './invariant-catalog.js';
import { runInvariants } from './run-invariant.js';
import { describeError, ScheduledWorld, WorldCommand } from './scheduled-world.js';

/**
 * A token budget under test: the `TokenBudget` interface, plus white-box reads and refill
 * when present.
 *
 * @example
 * ```ts
 * import { AtomicTokenBudget } from '@budgetry/core';
 * import type { TokenBudgetSubject } from '@budgetry/testing';
 * const subject: TokenBudgetSubject = new AtomicTokenBudget(1_000);
 * ```
 */
export interface TokenBudgetSubject extends TokenBudget {
  /** Tokens reservable now, 0 while in debt (white-box). */
  available?(): number | Promise<number>;
  /** Tokens owed (white-box, T3). */
  debt?(): number | Promise<number>;
  /** Begins a new epoch under the subject's refill policy. */
  refill?(): void | Promise<void>;
  /** The refill policy, when the subject exposes it. */
  readonly refillPolicy?: RefillPolicy;
}

/**
 * Builds a fresh token budget for one run; called twice per run (the second is the foreign budget of T2).
 *
 * @example
 * ```ts
 * import { AtomicTokenBudget } from '@budgetry/core';
 * import type { TokenBudgetFactory } from '@budgetry/testing';
 * const factory: TokenBudgetFactory = ({ capacity }) => new AtomicTokenBudget(capacity);
 * ```
 */
export type TokenBudgetFactory<S extends TokenBudgetSubject = TokenBudgetSubject> = (
  context: ConformanceContext,
) => S | Promise<S>;

/**
 * Options of {@link checkTokenBudget}.
 *
 * @example
 * ```ts
 * import type { TokenBudgetCheckOptions } from '@budgetry/testing';
 * const options: TokenBudgetCheckOptions = { maxDebt: 100, refillPolicy: 'reset' };
 * ```
 */
export interface TokenBudgetCheckOptions extends CheckOptions {
  /** The subject's refill policy (default: its `refillPolicy` property, else `reset`). */
  refillPolicy?: RefillPolicy;
  /** The subject's debt cap, if it has one (default: unlimited, exact debt). */
  maxDebt?: number;
}

/**
 * The token-budget invariants a mode checks (the refill ids R1, R4 and R5 are skipped for
 * subjects without `refill()`).
 *
 * @param mode - the observation mode.
 * @returns invariant ids, in order.
 *
 * @example
 * ```ts
 * import { tokenBudgetInvariants } from '@budgetry/testing';
 * tokenBudgetInvariants(); // ['G1', 'G5', 'T1', …, 'T5', 'R1', 'R4', 'R5']
 * ```
 */
export function tokenBudgetInvariants(mode: CheckMode = 'white-box'): InvariantId[] {
  if (mode === 'black-box') return ['G5', 'T1', 'T2', 'T3', 'T4', 'T5', 'R4', 'R5'];
  if (mode === 'remote') return ['G1', 'G5', 'T1', 'T2', 'T5', 'RM1', 'RM2'];
  return ['G1', 'G5', 'T1', 'T2', 'T3', 'T4', 'T5', 'R1', 'R4', 'R5'];
}

interface Handle {
  readonly reservation: TokenReservation;
  readonly estimate: number;
  readonly epoch: number;
  status: 'armed' | 'recorded' | 'refunded' | 'busy';
}

interface Delta {
  lo: number;
  hi: number;
}

interface ReserveWindow {
  readonly estimate: number;
  minLo: number;
  maxHi: number;
}

class TokenWorld extends ScheduledWorld {
  net: number;
  consumed = 0;
  epoch = 0;
  readonly handles: Handle[] = [];
  readonly inflight = new Set<Delta>();
  pendingConsumed = 0;
  maybeConsumed = 0;
  refilling = false;
  invalidCalls = 0;
  misuse = 0;
  resettles = 0;
  timeouts = 0;
  refills = 0;
  debtRefills = 0;
  lastConsumed = 0;
  readonly windows = new Set<ReserveWindow>();

  constructor(
    scheduler: fc.Scheduler,
    active: ReadonlySet<InvariantId>,
    readonly subject: TokenBudgetSubject,
    readonly foreign: TokenBudgetSubject,
    readonly capacity: number,
    readonly policy: RefillPolicy,
    readonly maxDebt: number,
  ) {
    super(scheduler, active);
    this.net = capacity;
  }

  live(h: Handle): boolean {
    return this.policy === 'carry' || h.epoch === this.epoch;
  }

  netBounds(): [number, number] {
    let lo = this.net;
    let hi = this.net;
    for (const d of this.inflight) {
      lo += d.lo;
      hi += d.hi;
    }
    return [lo, hi];
  }

  begin(lo: number, hi: number): Delta {
    const d = { lo, hi };
    this.inflight.add(d);
    this.changed();
    return d;
  }

  changed(): void {
    const [lo, hi] = this.netBounds();
    for (const w of this.windows) {
      w.minLo = Math.min(w.minLo, lo + w.estimate);
      w.maxHi = Math.max(w.maxHi, hi);
    }
  }

  conservationIds(base: InvariantId[]): InvariantId[] {
    const ids = [...base];
    if (this.invalidCalls > 0) ids.push('G5');
    if (this.misuse > 0) ids.push('T2');
    if (this.resettles > 0) ids.push('T5');
    if (this.refills > 0) ids.push('R4');
    if (this.debtRefills > 0) ids.push('R5');
    if (this.timeouts > 0) ids.push('RM1');
    return ids;
  }

  applyDebtCap(): void {
    if (this.net < -this.maxDebt) this.net = -this.maxDebt;
  }
}

type W = TokenWorld;

function isTimeout(error: unknown): boolean {
  return BudgetError.isInstance(error) && error.code === 'TIMEOUT';
}

/**
 * Checks a {@link TokenBudget} implementation against T1–T5, G1 and G5 (and RM1/RM2 in
 * remote mode) under scheduled interleavings: reservations, usage records (with overage),
 * records of settled and foreign reservations, disposals, disarm-and-refund, refills,
 * invalid amounts and reads.
 *
 * @param factory - builds a fresh budget with `context.capacity`; called twice per run.
 * @param options - runs, seed/path/replayPath, capacity, cost range, mode, invariants.
 * @returns which invariants passed and which did not apply.
 * @throws ConformanceError for the first invariant that fails.
 *
 * @example
 * ```ts
 * import { AtomicTokenBudget } from '@budgetry/core';
 * import { checkTokenBudget } from '@budgetry/testing';
 *
 * await checkTokenBudget(({ capacity }) => new AtomicTokenBudget(capacity), { numRuns: 200 });
 * ```
 */
export async function checkTokenBudget<S extends TokenBudgetSubject>(
  factory: TokenBudgetFactory<S>,
  options: TokenBudgetCheckOptions = {},
): Promise<CheckReport> {
  const resolved = resolveOptions(options);
  const probe = await factory({
    capacity: resolved.capacity,
    hop: async () => {},
    clock: new FakeClock(),
  });
  const hasAvailable = typeof probe.available === 'function';
  const hasDebt = typeof probe.debt === 'function';
  const hasRefill = typeof probe.refill === 'function';
  const mode: CheckMode = options.mode ?? (hasAvailable ? 'white-box' : 'black-box');
  const policy: RefillPolicy = options.refillPolicy ?? probe.refillPolicy ?? 'reset';
  const maxDebt = options.maxDebt ?? Number.POSITIVE_INFINITY;
  const wanted = options.invariants ?? tokenBudgetInvariants(mode);
  const applicable = (id: InvariantId): boolean =>
    tokenBudgetInvariants(mode).includes(id) &&
    ((id !== 'G1' && id !== 'R1') || hasAvailable) &&
    (!id.startsWith('R') || id.startsWith('RM') || hasRefill);
  const ids = wanted.filter(applicable);
  const skipped = wanted.filter((id) => !applicable(id));
  const whiteBox = mode === 'white-box' && hasAvailable;
  const remote = mode === 'remote';
  const name = options.name ?? probe.constructor?.name ?? 'token budget';
  const { capacity, minCost, maxCost } = resolved;
  const amount = amountArbitrary(minCost, maxCost);
  const usage = fc.tuple(amountArbitrary(0, maxCost), amountArbitrary(0, Math.ceil(maxCost / 2)));
  const index = fc.nat(7);

  const commands: fc.Arbitrary<fc.AsyncCommand<W, W>>[] = [
    amount.map((e) => reserveCommand(e, whiteBox)),
    fc.tuple(index, usage).map(([i, [p, c]]) => recordCommand(i, p, c, 'armed', whiteBox)),
    fc.tuple(index, usage).map(([i, [p, c]]) => recordCommand(i, p, c, 'settled', whiteBox)),
    fc.tuple(index, usage).map(([i, [p, c]]) => recordCommand(i, p, c, 'foreign', whiteBox)),
    fc
      .tuple(index, fc.constantFrom<DisposeKind>('dispose', 'asyncDispose', 'disarm'))
      .map(([i, k]) => disposeCommand(i, k, whiteBox)),
    fc
      .tuple(
        fc.constantFrom<InvalidEntry>('estimate', 'prompt', 'completion'),
        invalidAmountArbitrary(),
        index,
      )
      .map(([entry, value, i]) => invalidCommand(entry, value, i, whiteBox)),
  ];
  // A refill runs only once nothing is in flight, so it is offered more often: debt carried
  // across a refill (R5) needs an overage and then a refill.
  if (hasRefill) {
    const refill = fc.constant(refillCommand(whiteBox));
    commands.push(refill, refill, refill);
  }
  if (whiteBox) commands.push(fc.constant(new WorldCommand<W>('observe', () => true, observe)));

  await runInvariants(
    ids,
    (invariant) => ({
      invariant,
      subject: `token budget "${name}"`,
      options: resolved,
      commands,
      createWorld: async (scheduler, active) => {
        let world: W | undefined;
        const context: ConformanceContext = {
          capacity,
          hop: (label) => (world === undefined ? Promise.resolve() : world.hop(label)),
          clock: new FakeClock(),
        };
        const subject = await factory(context);
        const foreign = await factory({ ...context, hop: async () => {} });
        world = new TokenWorld(scheduler, active, subject, foreign, capacity, policy, maxDebt);
        return world;
      },
      quiescence: (world) => quiescence(world, whiteBox, hasDebt, remote),
    }),
    options.invariants !== undefined,
  );
  return { passed: ids, skipped };
}

type DisposeKind = 'dispose' | 'asyncDispose' | 'disarm';
type InvalidEntry = 'estimate' | 'prompt' | 'completion';

function observe(world: W): void {
  const { subject, capacity } = world;
  if (world.refilling) return;
  const [lo, hi] = world.netBounds();
  const consumedLo = world.consumed;
  const consumedHi = world.consumed + world.pendingConsumed + world.maybeConsumed;
  const floor = world.lastConsumed;
  const reads: Promise<void>[] = [];
  if (typeof subject.available === 'function') {
    reads.push(
      Promise.resolve(subject.available()).then((a) => {
        world.expect(
          Number.isSafeInteger(a) && a >= 0 && a <= capacity,
          world.refills > 0 ? ['G1', 'R1'] : ['G1'],
          () => `available() = ${a}, outside [0, ${capacity}]`,
        );
        const [lo2, hi2] = world.netBounds();
        const min = Math.max(0, Math.min(lo, lo2));
        const max = Math.max(0, hi, hi2);
        world.expect(
          a >= min && a <= max,
          world.conservationIds(['T3']),
          () => `available() = ${a}, expected within [${min}, ${max}]`,
        );
      }),
    );
  }
  reads.push(
    Promise.resolve(subject.tokensConsumed()).then((c) => {
      const max = Math.max(
        consumedHi,
        world.consumed + world.pendingConsumed + world.maybeConsumed,
      );
      world.expect(
        c >= floor && c >= consumedLo && c <= max,
        ['T1'],
        () => `tokensConsumed() = ${c}, expected within [${Math.max(floor, consumedLo)}, ${max}]`,
      );
      world.lastConsumed = Math.max(world.lastConsumed, c);
    }),
  );
  world.watch(
    Promise.all(reads).then(
      () => undefined,
      (error: unknown) => world.fail('*', `a read failed: ${describeError(error)}`),
    ),
  );
}

const idle = (world: W): boolean => !world.refilling;

function reserveCommand(estimate: number, whiteBox: boolean): WorldCommand<W> {
  const label = `tryReserveTokens(${estimate})`;
  return new WorldCommand<W>(label, idle, (world) => {
    if (whiteBox) observe(world);
    const delta = world.begin(-estimate, 0);
    const [lo, hi] = world.netBounds();
    const window: ReserveWindow = { estimate, minLo: lo + estimate, maxHi: hi };
    world.windows.add(window);
    world.track(
      label,
      () => world.subject.tryReserveTokens(estimate),
      (outcome) => {
        world.inflight.delete(delta);
        world.windows.delete(window);
        if (!outcome.ok) {
          if (isTimeout(outcome.error)) {
            world.timeouts++;
            world.begin(-estimate, 0); // indeterminate for good
          } else world.fail('*', `${label} failed: ${describeError(outcome.error)}`);
          world.changed();
          return;
        }
        const r = outcome.value;
        if (r !== null) {
          world.expect(
            estimate <= Math.max(0, window.maxHi),
            ['T4'],
            () => `${label} succeeded although at most ${Math.max(0, window.maxHi)} was available`,
          );
          world.expect(
            r.estimate === estimate,
            ['T2'],
            () => `${label} returned a reservation of ${r.estimate}`,
          );
          world.net -= estimate;
          world.handles.push({ reservation: r, estimate, epoch: world.epoch, status: 'armed' });
        } else {
          world.expect(
            estimate !== 0,
            ['G5', 'T4'],
            () => `${label} was denied; estimate 0 must be granted`,
          );
          world.expect(
            world.timeouts > 0 || estimate > Math.max(0, window.minLo),
            ['T4'],
            () => `${label} was denied although ${window.minLo} were available throughout the call`,
          );
        }
        world.changed();
      },
    );
  });
}

function pick(world: W, index: number, which: 'armed' | 'settled' | 'any'): Handle | undefined {
  const list = world.handles.filter((h) =>
    which === 'armed'
      ? h.status === 'armed'
      : which === 'settled'
        ? h.status === 'recorded' || h.status === 'refunded'
        : h.status !== 'busy',
  );
  return list[index % Math.max(1, list.length)];
}

function recordCommand(
  index: number,
  prompt: number,
  completion: number,
  target: 'armed' | 'settled' | 'foreign',
  whiteBox: boolean,
): WorldCommand<W> {
  const which = target === 'settled' ? 'settled' : 'armed';
  const label = `${target === 'foreign' ? 'foreignRecordUsage' : 'recordUsage'}(${target === 'settled' ? 'settled ' : ''}#${index}, ${prompt}, ${completion})`;
  return new WorldCommand<W>(
    label,
    (world) => idle(world) && pick(world, index, which) !== undefined,
    (world) => {
      if (whiteBox) observe(world);
      const h = pick(world, index, which)!;
      const actual = prompt + completion;
      if (target !== 'armed') {
        world.misuse++;
        const budget = target === 'foreign' ? world.foreign : world.subject;
        const before = h.status;
        h.status = 'busy';
        world.track(
          label,
          () => budget.recordUsage(h.reservation, prompt, completion),
          (outcome) => {
            h.status = before;
            if (outcome.ok)
              world.fail(
                ['T2'],
                `${label} resolved; recording a ${target} reservation must reject with no effect`,
              );
            else if (BudgetError.isInstance(outcome.error)) {
              const want = target === 'foreign' ? 'FOREIGN_HANDLE' : 'ALREADY_SETTLED';
              world.expect(
                outcome.error.code === want || outcome.error.code === 'TIMEOUT',
                ['T2'],
                () =>
                  `${label} rejected with ${(outcome.error as BudgetError).code}, expected ${want}`,
              );
            }
            world.changed();
          },
        );
        return;
      }
      const live = world.live(h);
      const delta = live ? h.estimate - actual : -Math.max(0, actual - h.estimate);
      h.status = 'busy';
      const d = world.begin(Math.min(0, delta), Math.max(0, delta));
      world.pendingConsumed += actual;
      world.track(
        label,
        () => world.subject.recordUsage(h.reservation, prompt, completion),
        (outcome) => {
          world.inflight.delete(d);
          world.pendingConsumed -= actual;
          if (outcome.ok) {
            h.status = 'recorded';
            world.net += delta;
            world.applyDebtCap();
            world.consumed += actual;
          } else if (isTimeout(outcome.error)) {
            world.timeouts++;
            h.status = 'recorded';
            world.begin(Math.min(0, delta), Math.max(0, delta));
            world.maybeConsumed += actual;
          } else {
            h.status = 'armed';
            world.fail(
              ['T2', 'T1'],
              `${label} of an armed reservation failed: ${describeError(outcome.error)}`,
            );
          }
          world.changed();
        },
      );
    },
  );
}

function disposeCommand(index: number, kind: DisposeKind, whiteBox: boolean): WorldCommand<W> {
  const label = `${kind}(#${index})`;
  return new WorldCommand<W>(
    label,
    (world) => idle(world) && pick(world, index, 'any') !== undefined,
    (world) => {
      if (whiteBox) observe(world);
      const h = pick(world, index, 'any')!;
      const wasArmed = h.status === 'armed';
      if (!wasArmed || kind === 'disarm') world.resettles++;
      const refund = wasArmed && world.live(h) ? h.estimate : 0;
      const before = h.status;
      h.status = 'busy';
      const d = world.begin(0, refund);
      const r = h.reservation;
      world.track<unknown>(
        label,
        async () => {
          if (kind === 'dispose') r[Symbol.dispose]();
          else if (kind === 'asyncDispose') await r[Symbol.asyncDispose]();
          else {
            const fn = r.disarm();
            world.expect(
              (fn !== null) === wasArmed,
              ['T5'],
              () =>
                `disarm() returned ${fn === null ? 'null' : 'a refund'} for a ${before} reservation`,
            );
            if (fn !== null) {
              await fn();
              await fn();
            }
            r[Symbol.dispose]();
          }
        },
        (outcome) => {
          world.inflight.delete(d);
          if (!outcome.ok) {
            if (isTimeout(outcome.error)) {
              world.timeouts++;
              world.begin(0, refund);
            } else world.fail('*', `${label} failed: ${describeError(outcome.error)}`);
          } else world.net += refund;
          h.status = wasArmed ? 'refunded' : before;
          world.changed();
        },
      );
    },
  );
}

function invalidCommand(
  entry: InvalidEntry,
  value: unknown,
  index: number,
  whiteBox: boolean,
): WorldCommand<W> {
  const label =
    entry === 'estimate'
      ? `tryReserveTokens(${formatAmount(value)})`
      : `recordUsage(#${index}, ${entry === 'prompt' ? `${formatAmount(value)}, 0` : `0, ${formatAmount(value)}`})`;
  return new WorldCommand<W>(
    label,
    (world) => idle(world) && (entry === 'estimate' || pick(world, index, 'armed') !== undefined),
    (world) => {
      if (whiteBox) observe(world);
      world.invalidCalls++;
      const subject = world.subject;
      const h = entry === 'estimate' ? undefined : pick(world, index, 'armed')!;
      if (h !== undefined) h.status = 'busy';
      world.track<unknown>(
        label,
        () =>
          h === undefined
            ? subject.tryReserveTokens(value as number)
            : entry === 'prompt'
              ? subject.recordUsage(h.reservation, value as number, 0)
              : subject.recordUsage(h.reservation, 0, value as number),
        (outcome) => {
          if (h !== undefined) h.status = 'armed';
          if (outcome.ok) world.fail(['G5'], `${label} resolved instead of rejecting`);
          else if (BudgetError.isInstance(outcome.error)) {
            world.expect(
              outcome.error.code === 'INVALID_AMOUNT',
              ['G5'],
              () =>
                `${label} rejected with ${(outcome.error as BudgetError).code}, expected INVALID_AMOUNT`,
            );
          }
          if (h !== undefined && h.reservation.state !== 'armed') {
            world.fail(['G5'], `${label} changed the reservation to ${h.reservation.state}`);
          }
          world.changed();
        },
      );
    },
  );
}

function refillCommand(whiteBox: boolean): WorldCommand<W> {
  return new WorldCommand<W>(
    'refill()',
    (world) => idle(world) && world.pending.size === 0 && world.inflight.size === 0,
    (world) => {
      if (whiteBox) observe(world);
      world.refilling = true;
      world.track(
        'refill',
        () => world.subject.refill!(),
        (outcome) => {
          world.refilling = false;
          if (!outcome.ok) world.fail('*', `refill() failed: ${describeError(outcome.error)}`);
          world.epoch++;
          world.refills++;
          const debt = Math.max(0, -world.net);
          if (debt > 0) world.debtRefills++;
          const held =
            world.policy === 'carry'
              ? world.handles
                  .filter((h) => h.status === 'armed')
                  .reduce((s, h) => s + h.estimate, 0)
              : 0;
          world.net = world.capacity - held - debt;
          world.changed();
        },
      );
    },
  );
}

async function quiescence(
  world: W,
  whiteBox: boolean,
  hasDebt: boolean,
  remote: boolean,
): Promise<void> {
  const { subject, capacity } = world;
  const [lo, hi] = world.netBounds();
  const base: InvariantId[] = remote ? ['RM1'] : ['T3'];
  const consumed = await world.settle(() => subject.tokensConsumed());
  if (!consumed.ok)
    return world.fail('*', `tokensConsumed() failed: ${describeError(consumed.error)}`);
  const c = consumed.value;
  const cMax = world.consumed + world.maybeConsumed;
  world.expect(
    c >= world.consumed && c <= cMax,
    remote ? ['RM2', 'T1'] : ['T1', ...world.conservationIds([])],
    () =>
      `tokensConsumed() = ${c} at quiescence, expected ${cMax === world.consumed ? world.consumed : `within [${world.consumed}, ${cMax}]`}`,
  );
  const foreign = await world.settle(() => world.foreign.tokensConsumed());
  world.expect(
    foreign.ok && foreign.value === 0,
    ['T2'],
    () => 'the foreign budget counted usage recorded against a reservation it did not issue',
  );
  if (typeof world.foreign.available === 'function') {
    const fa = await world.settle(() => world.foreign.available!());
    world.expect(
      fa.ok && fa.value === capacity,
      ['T2'],
      () =>
        `the foreign budget changed: available ${fa.ok ? fa.value : 'threw'}, expected ${capacity}`,
    );
  }
  world.rethrow();
  if ((whiteBox || remote) && typeof subject.available === 'function') {
    const read = await world.settle(() => subject.available!());
    if (!read.ok) return world.fail('*', `available() failed: ${describeError(read.error)}`);
    const a = read.value;
    world.expect(
      a >= 0 && a <= capacity,
      world.refills > 0 ? ['G1', 'R1'] : ['G1'],
      () => `available() = ${a} at quiescence, outside [0, ${capacity}]`,
    );
    let net = a;
    if (hasDebt) {
      const debt = await world.settle(() => subject.debt!());
      if (!debt.ok) return world.fail('*', `debt() failed: ${describeError(debt.error)}`);
      world.expect(
        debt.value === 0 || a === 0,
        world.conservationIds(base),
        () => `available() = ${a} and debt() = ${debt.value} are both positive`,
      );
      net = a - debt.value;
    }
    const [wantLo, wantHi] = hasDebt ? [lo, hi] : [Math.max(0, lo), Math.max(0, hi)];
    world.expect(
      net >= wantLo && net <= wantHi,
      world.conservationIds(base),
      () =>
        `${hasDebt ? 'available() − debt()' : 'available()'} = ${net} at quiescence, expected ${wantLo === wantHi ? wantLo : `within [${wantLo}, ${wantHi}]`} (C − E − consumed − debt carried)`,
    );
    world.rethrow();
  }
  // Black-box probe: reserve exactly what should be free, then one more must be denied.
  const ids = world.conservationIds(['T3']);
  if (!ids.some((id) => world.active.has(id))) return;
  const free = Math.max(0, lo);
  const took = await world.settle(() => subject.tryReserveTokens(free));
  if (!took.ok) return;
  world.expect(
    took.value !== null,
    ids,
    () => `probe tryReserveTokens(${free}) was denied at quiescence`,
  );
  if (took.value === null) return;
  const extra = Math.max(0, hi) - free + 1;
  const more = await world.settle(() => subject.tryReserveTokens(extra));
  if (!more.ok) return;
  world.expect(
    more.value === null,
    ids,
    () =>
      `probe tryReserveTokens(${extra}) succeeded after tryReserveTokens(${free}): more than C − E − consumed is available`,
  );
}
