import { BudgetError } from '@budgetry/core';
import fc from 'fast-check';
import { AdapterError } from './adapter-error.js';
import { amountArbitrary, formatAmount, invalidAmountArbitrary } from './amount-arbitraries.js';
import {
  type ResolvedCapabilities,
  resolveTokenCapabilities,
  type TokenBudgetCapabilities,
} from './capabilities.js';
import { type CheckOptions, type ResolvedOptions, resolveOptions } from './check-options.js';
import { type CheckSummary, describeError, type Judgement, type Planned } from './engine.js';
import {
  DISARMED,
  HELD,
  type LedgerState,
  ledgerDisarm,
  ledgerSettle,
  statusOf,
} from './ledger.js';
import { type ConformanceContext, runLedgerCheck } from './ledger-check.js';
import {
  countPath,
  countReleaseOp,
  describeValue,
  epochReadOp,
  type Handle,
  handleIndex,
  invalidOp,
  isTimeout,
  type LedgerOp,
  LedgerWorld,
  overReleaseOp,
  readOp,
  refillCallOps,
  refillClockOps,
  reserveOp,
} from './ledger-world.js';
import { type Mismatch, mismatch } from './search.js';

/**
 * A token reservation as the kit uses it — the reference's interface: `estimate`, `disarm()`
 * (takes the refund away from the handle and hands it to the caller, or returns `null` once
 * disarmed or settled) and `Symbol.dispose` (refunds if still armed). `Symbol.asyncDispose`
 * is used only when the capabilities declare it.
 *
 * @example
 * ```ts
 * import type { ReservationLike } from '@budgetry/testing';
 * let armed = true;
 * const reservation: ReservationLike = {
 *   estimate: 40,
 *   disarm: () => (armed ? ((armed = false), () => {}) : null),
 *   [Symbol.dispose]: () => {
 *     armed = false;
 *   },
 * };
 * ```
 */
export interface ReservationLike {
  readonly estimate: number;
  disarm?(): ((...args: never[]) => unknown) | null | undefined;
  [Symbol.dispose]?(): void;
  [Symbol.asyncDispose]?(): PromiseLike<void>;
}

/**
 * A token budget under test, as the types see it: the `TokenBudget` interface. The members
 * its capabilities declare (`available()`, `debt()`, `refill()`, the count API `tryReserve` /
 * `release`, `epoch` and `nextRefillAt()` under refill by clock) are used too and checked when
 * the check starts, but are not part of this type.
 *
 * @example
 * ```ts
 * import { AtomicTokenBudget } from '@budgetry/core';
 * import type { TokenBudgetSubject } from '@budgetry/testing';
 * const subject: TokenBudgetSubject = new AtomicTokenBudget(1_000);
 * ```
 */
export interface TokenBudgetSubject {
  tryReserveTokens(
    estimate: number,
  ): Promise<ReservationLike | null | undefined> | ReservationLike | null | undefined;
  // biome-ignore lint/suspicious/noExplicitAny: a user's reservation type is theirs
  recordUsage(reservation: any, prompt: number, completion: number): Promise<unknown> | unknown;
  tokensConsumed(): Promise<number> | number;
}

/**
 * Builds a fresh token budget for one run. It is called twice per run: the second budget is
 * the foreign one that must reject the first one's reservations.
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
 * const options: TokenBudgetCheckOptions = {
 *   capabilities: { available: true, debt: true, maxDebt: 100 },
 * };
 * ```
 */
export interface TokenBudgetCheckOptions extends CheckOptions {
  /** What the subject offers beyond the `TokenBudget` interface (default: nothing). */
  capabilities?: TokenBudgetCapabilities;
}

type S = LedgerState;

/** @internal */
export class TokenWorld extends LedgerWorld<TokenBudgetSubject> {
  constructor(
    foreign: TokenBudgetSubject,
    ...rest: ConstructorParameters<typeof LedgerWorld<TokenBudgetSubject>>
  ) {
    super(...rest);
    this.foreign = foreign;
  }
  readonly foreign: TokenBudgetSubject;
}

type W = TokenWorld;

function open(s: S, h: Handle): boolean {
  const c = statusOf(s, h.id);
  return c === HELD || c === DISARMED;
}

function member(h: Handle, key: string | symbol): (...args: unknown[]) => unknown {
  const fn = (h.object as Record<string | symbol, unknown>)[key];
  const name = typeof key === 'symbol' ? `[${key.description}]` : key;
  if (typeof fn !== 'function') {
    throw new AdapterError(`a reservation has no method ${name}(), which the kit needs`, {
      member: `reservation.${name}`,
    });
  }
  return fn as (...args: unknown[]) => unknown;
}

function planRecord(world: W, h: Handle, prompt: number, completion: number): Planned<S> {
  h.settles++;
  const { config } = world;
  const used = prompt + completion;
  const label = `recordUsage(#${h.id}: ${h.amount}, ${prompt}, ${completion})`;
  const settle = (s: S): S => ledgerSettle(config, s, h.id, h.amount, used, true)!;
  return {
    label,
    start: () => world.subject.recordUsage(h.object, prompt, completion),
    judge: (outcome): Judgement<S> => {
      if (outcome.ok) {
        // Where a reservation says its state, it says it is recorded (combinators read it so
        // as never to record usage twice; a refund that raced the record and lost did nothing).
        const state = (h.object as { state?: unknown }).state;
        if (state !== undefined && state !== 'recorded') {
          return {
            kind: 'fail',
            mismatch: mismatch(
              `${label} was accepted, and the reservation's state is ${describeValue(state)}; expected 'recorded'`,
              'T2',
            ),
          };
        }
        return {
          kind: 'step',
          shown: 'recorded',
          step: (s) =>
            open(s, h)
              ? [settle(s)]
              : mismatch(`${label} was accepted for a reservation already settled`, 'T2'),
        };
      }
      const error = outcome.error;
      if (world.caps.timeouts && isTimeout(error)) {
        return {
          kind: 'step',
          shown: 'TIMEOUT',
          optional: true,
          step: (s) => (open(s, h) ? [s, settle(s)] : [s]),
        };
      }
      if (BudgetError.isInstance(error) && error.code !== 'ALREADY_SETTLED') {
        return {
          kind: 'fail',
          mismatch: mismatch(`${label} rejected with ${describeError(error)}`, 'T2'),
        };
      }
      return {
        kind: 'step',
        shown: 'rejected',
        step: (s) =>
          open(s, h)
            ? mismatch(
                `${label} was rejected (${describeError(error)}) although the reservation was open`,
                'T1',
              )
            : [s],
      };
    },
  };
}

function recordOp(
  index: number,
  prompt: number,
  completion: number,
  which: 'open' | 'settled',
): LedgerOp<W> {
  const filter = (h: Handle) => (which === 'open' ? h.settles === 0 : h.settles > 0);
  return {
    text: `recordUsage(${which === 'settled' ? 'settled ' : ''}#${index}, ${prompt}, ${completion})`,
    applicable: (world) => world.pick(index, 'token', filter) !== undefined,
    plan(world) {
      const h = world.pick(index, 'token', filter);
      return h === undefined ? undefined : planRecord(world, h, prompt, completion);
    },
  };
}

function foreignRecordOp(index: number, prompt: number, completion: number): LedgerOp<W> {
  return {
    text: `foreign.recordUsage(#${index}, ${prompt}, ${completion})`,
    applicable: (world) => world.pick(index, 'token', () => true) !== undefined,
    plan(world) {
      const h = world.pick(index, 'token', () => true);
      if (h === undefined) return undefined;
      const label = `foreign.recordUsage(#${h.id}: ${h.amount}, ${prompt}, ${completion})`;
      return {
        label,
        start: () => world.foreign.recordUsage(h.object, prompt, completion),
        judge: (outcome): Judgement<S> => {
          if (outcome.ok) {
            return {
              kind: 'fail',
              mismatch: mismatch(
                `${label}: a budget accepted a reservation it did not issue`,
                'T2',
              ),
            };
          }
          const error = outcome.error;
          if (
            BudgetError.isInstance(error) &&
            error.code !== 'FOREIGN_HANDLE' &&
            error.code !== 'ALREADY_SETTLED'
          ) {
            return {
              kind: 'fail',
              mismatch: mismatch(
                `${label} rejected with ${error.code}; expected FOREIGN_HANDLE`,
                'T2',
              ),
            };
          }
          return { kind: 'none', shown: 'rejected' };
        },
      };
    },
  };
}

type DisposeHow = 'dispose' | 'asyncDispose';

function planDispose(world: W, h: Handle, how: DisposeHow): Planned<S> {
  h.settles++;
  const { config } = world;
  const label = `${how}(#${h.id}: ${h.amount})`;
  const fn = member(h, how === 'dispose' ? Symbol.dispose : Symbol.asyncDispose);
  // Disposal refunds an armed reservation; a disarmed one belongs to whoever holds its refund.
  const effect = (s: S): readonly S[] =>
    statusOf(s, h.id) === HELD ? [ledgerSettle(config, s, h.id, h.amount, 0, false)!] : [s];
  return {
    label,
    start: () => fn.call(h.object),
    judge: (outcome): Judgement<S> => {
      if (outcome.ok) return { kind: 'step', shown: 'done', step: effect };
      const error = outcome.error;
      if (BudgetError.isInstance(error) && error.code === 'ALREADY_SETTLED') {
        return {
          kind: 'step',
          shown: 'ALREADY_SETTLED',
          step: (s) =>
            statusOf(s, h.id) === HELD
              ? mismatch(
                  `${label} was refused as already settled, but the reservation was armed`,
                  'T5',
                )
              : [s],
        };
      }
      return world.rejected(label, error, (s) => [s, ...effect(s)]);
    },
  };
}

function disposeOp(index: number, how: DisposeHow, which: 'open' | 'settled'): LedgerOp<W> {
  const filter = (h: Handle) => (which === 'open' ? h.settles === 0 : h.settles > 0);
  return {
    text: `${how}(${which === 'settled' ? 'settled ' : ''}#${index})`,
    applicable: (world) => world.pick(index, 'token', filter) !== undefined,
    plan(world) {
      const h = world.pick(index, 'token', filter);
      return h === undefined ? undefined : planDispose(world, h, how);
    },
  };
}

function disarmOp(index: number, which: 'open' | 'settled'): LedgerOp<W> {
  const filter = (h: Handle) =>
    h.refund === undefined && (which === 'open' ? h.settles === 0 : h.settles > 0);
  return {
    text: `disarm(${which === 'settled' ? 'settled ' : ''}#${index})`,
    applicable: (world) => world.pick(index, 'token', filter) !== undefined,
    plan(world) {
      const h = world.pick(index, 'token', filter);
      if (h === undefined) return undefined;
      const label = `disarm(#${h.id}: ${h.amount})`;
      const fn = member(h, 'disarm');
      return {
        label,
        start: () => fn.call(h.object),
        judge: (outcome): Judgement<S> => {
          if (!outcome.ok) return world.rejected(label, outcome.error, (s) => [s]);
          const value = outcome.value;
          if (typeof value === 'function') {
            h.refund = value as (...args: unknown[]) => unknown;
            return {
              kind: 'step',
              shown: 'a refund',
              step: (s) => {
                const next = ledgerDisarm(s, h.id);
                return next === undefined
                  ? mismatch(
                      `${label} handed back a refund for a reservation already ${statusOf(s, h.id) === DISARMED ? 'disarmed' : 'settled'}`,
                      'T5',
                    )
                  : [next];
              },
            };
          }
          if (value !== null && value !== undefined) {
            throw new AdapterError(
              `reservation.disarm() returned ${describeValue(value)}; expected a refund function or null`,
              { member: 'reservation.disarm' },
            );
          }
          return {
            kind: 'step',
            shown: String(value),
            step: (s) =>
              statusOf(s, h.id) === HELD
                ? mismatch(`${label} returned ${String(value)} for an armed reservation`, 'T5')
                : [s],
          };
        },
      };
    },
  };
}

/** Calls a refund that `disarm()` handed back, twice: it refunds at most once. */
function refundOp(index: number): LedgerOp<W> {
  const filter = (h: Handle) => h.refund !== undefined && h.refund !== noop;
  return {
    text: `refund(#${index}) twice`,
    applicable: (world) => world.pick(index, 'token', filter) !== undefined,
    plan(world) {
      const h = world.pick(index, 'token', filter);
      if (h === undefined) return undefined;
      const refund = h.refund!;
      h.refund = noop;
      const { config } = world;
      const label = `refund(#${h.id}: ${h.amount}) twice`;
      const effect = (s: S): readonly S[] =>
        statusOf(s, h.id) === DISARMED ? [ledgerSettle(config, s, h.id, h.amount, 0, false)!] : [s];
      return {
        label,
        start: async () => {
          await refund(h.amount);
          await refund(h.amount);
        },
        judge: (outcome) =>
          outcome.ok
            ? { kind: 'step', shown: 'done', step: effect }
            : world.rejected(label, outcome.error, (s) => [s, ...effect(s)]),
      };
    },
  };
}

function noop(): void {}

function countApi(world: W): { tryReserve(c: unknown): unknown; release(c: unknown): unknown } {
  return world.subject as unknown as ReturnType<typeof countApi>;
}

function weighted<T>(list: readonly (readonly [number, fc.Arbitrary<T>])[]): fc.Arbitrary<T> {
  return fc.oneof(
    ...list.filter(([w]) => w > 0).map(([weight, arbitrary]) => ({ weight, arbitrary })),
  );
}

function validateReservation(estimate: number) {
  return (value: object): Mismatch | undefined => {
    const got = (value as { estimate?: unknown }).estimate;
    if (typeof got !== 'number') {
      throw new AdapterError(
        `tryReserveTokens(${estimate}) returned a reservation whose estimate is ${describeValue(got)}; expected a number`,
        { member: 'reservation.estimate' },
      );
    }
    if (got !== estimate) {
      return mismatch(`tryReserveTokens(${estimate}) returned a reservation of ${got}`, 'T2');
    }
    const state = (value as { state?: unknown }).state;
    return state === undefined || state === 'armed'
      ? undefined
      : mismatch(
          `tryReserveTokens(${estimate}) returned a reservation whose state is ${describeValue(state)}; expected 'armed'`,
          'T2',
        );
  };
}

/** @internal The operations a token-budget run draws from. */
export function tokenOps(
  caps: ResolvedCapabilities,
  options: ResolvedOptions,
): fc.Arbitrary<LedgerOp<W>> {
  const { focus, minCost, maxCost } = options;
  const amount = amountArbitrary(minCost, maxCost);
  const usage = fc.tuple(amountArbitrary(0, maxCost), amountArbitrary(0, Math.ceil(maxCost / 2)));
  const index = handleIndex();
  const refill = caps.refill === undefined ? 0 : focus === 'refill' ? 4 : focus === 'mixed' ? 2 : 1;
  const misuse = focus === 'misuse' ? 3 : 1;
  const invalid = focus === 'invalid' ? 4 : focus === 'mixed' || focus === 'long' ? 1 : 0;
  const count = caps.countApi ? 1 : 0;
  const misuseCount = caps.countRelease === 'exact' ? 0 : count;
  const list: [number, fc.Arbitrary<LedgerOp<W>>][] = [
    [
      4,
      amount.map((e) =>
        reserveOp<W>('token', e, 'tryReserveTokens', { validate: validateReservation(e) }),
      ),
    ],
    [4, fc.tuple(index, usage).map(([i, [p, c]]) => recordOp(i, p, c, 'open'))],
    [misuse, fc.tuple(index, usage).map(([i, [p, c]]) => recordOp(i, p, c, 'settled'))],
    [misuse, fc.tuple(index, usage).map(([i, [p, c]]) => foreignRecordOp(i, p, c))],
    [2, index.map((i) => disposeOp(i, 'dispose', 'open'))],
    [misuse, index.map((i) => disposeOp(i, 'dispose', 'settled'))],
    [caps.asyncDispose ? 1 : 0, index.map((i) => disposeOp(i, 'asyncDispose', 'open'))],
    [caps.asyncDispose ? misuse : 0, index.map((i) => disposeOp(i, 'asyncDispose', 'settled'))],
    [caps.disarm ? misuse : 0, index.map((i) => disarmOp(i, 'open'))],
    [caps.disarm ? 1 : 0, index.map((i) => disarmOp(i, 'settled'))],
    [caps.disarm ? misuse : 0, index.map((i) => refundOp(i))],
    [2 * count, amount.map((c) => reserveOp<W>('count', c, 'tryReserve'))],
    [2 * count, index.map((i) => countReleaseOp<W>(i))],
    [misuseCount, index.map((i) => countReleaseOp<W>(i, 'again'))],
    [misuseCount, amount.map((c) => overReleaseOp<W>(Math.max(1, c)))],
  ];
  if (caps.refill?.by === 'clock') list.push(...refillClockOps<W>(refill));
  else if (refill > 0) list.push(...refillCallOps<W>(caps.refill?.batch === true, refill));
  if (caps.linearizable && focus !== 'probe') {
    list.push([1, fc.constant(readOp<W>('tokensConsumed'))]);
    if (caps.available) list.push([1, fc.constant(readOp<W>('available'))]);
  }
  const invalidEntries: fc.Arbitrary<LedgerOp<W>>[] = [
    invalidAmountArbitrary().map((v) =>
      invalidOp<W>(`tryReserveTokens(${formatAmount(v)})`, (w) =>
        w.subject.tryReserveTokens(v as number),
      ),
    ),
    fc.tuple(index, invalidAmountArbitrary(), fc.boolean()).map(([i, v, first]) => {
      const text = `recordUsage(#${i}, ${first ? `${formatAmount(v)}, 0` : `0, ${formatAmount(v)}`})`;
      const filter = (h: Handle) => h.settles === 0;
      return {
        text,
        applicable: (w: W) => w.pick(i, 'token', filter) !== undefined,
        plan(w: W) {
          const h = w.pick(i, 'token', filter);
          if (h === undefined) return undefined;
          const args = first ? [v, 0] : [0, v];
          return invalidOp<W>(
            `recordUsage(#${h.id}: ${h.amount}, ${args.map(formatAmount).join(', ')})`,
            () => w.subject.recordUsage(h.object, args[0] as number, args[1] as number),
          ).plan(w);
        },
      };
    }),
  ];
  if (caps.countApi) {
    invalidEntries.push(
      invalidAmountArbitrary().map((v) =>
        invalidOp<W>(`tryReserve(${formatAmount(v)})`, (w) => countApi(w).tryReserve(v)),
      ),
      invalidAmountArbitrary().map((v) =>
        invalidOp<W>(`release(${formatAmount(v)})`, (w) => countApi(w).release(v)),
      ),
    );
  }
  list.push([invalid, fc.oneof(...invalidEntries)]);
  return weighted(list);
}

/** @internal Reads made at rest after every joined command. */
function tokenReads(caps: ResolvedCapabilities, options: ResolvedOptions): LedgerOp<W>[] {
  if (options.focus === 'probe') return [];
  const reads = [readOp<W>('tokensConsumed')];
  if (caps.available) reads.push(readOp<W>('available'));
  if (caps.debt) reads.push(readOp<W>('debt'));
  if (caps.refill?.by === 'clock') reads.push(epochReadOp<W>());
  return reads;
}

const tokenProbe = (estimate: number) =>
  reserveOp<W>('token', estimate, 'tryReserveTokens', {
    probe: true,
    validate: validateReservation(estimate),
  });
const tokenGiveBack = (world: W, h: Handle) => planDispose(world, h, 'dispose');

/**
 * A read at rest, made again (up to four times) when a budget that declares lost replies
 * (`timeouts`) says TIMEOUT: a read changes nothing, so asking again is always safe.
 */
async function readAgain(world: W, read: () => unknown): Promise<unknown> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (error) {
      if (!isTimeout(error) || !world.caps.timeouts || attempt === 4) throw error;
    }
  }
}

/** The foreign budget must be untouched: nothing consumed, everything available. */
async function checkForeign(world: W): Promise<void> {
  const { foreign, config } = world;
  let consumed: unknown;
  let available: unknown;
  try {
    consumed = await readAgain(world, () => foreign.tokensConsumed());
    if (world.caps.available) {
      const reader = foreign as unknown as { available(): unknown };
      available = await readAgain(world, () => reader.available());
    }
  } catch (error) {
    world.fail(mismatch(`reading the foreign budget failed: ${describeError(error)}`, 'T2'));
    return;
  }
  if (consumed !== 0) {
    world.fail(
      mismatch(
        `the foreign budget counted usage (${formatAmount(consumed)}) of reservations it did not issue`,
        'T2',
      ),
    );
  } else if (world.caps.available && available !== config.capacity) {
    world.fail(
      mismatch(
        `the foreign budget changed: available ${formatAmount(available)}, expected ${config.capacity}`,
        'T2',
      ),
    );
  }
}

/**
 * Checks a token budget against T1–T5 (consumption counted once, reservations recorded once
 * and only by their budget, exact debt, reservations only within what is available, refunds
 * once), G1 and G5, and R1–R5 when it refills. Reservations are driven only through the
 * reference's interface: `estimate`, `disarm()` and `Symbol.dispose`.
 *
 * @param factory - builds a fresh budget with `context.capacity`; called twice per run (the
 * second is the foreign budget).
 * @param options - capabilities, runs, seed/path/replayPath, capacity, cost range, focus.
 * @returns a summary (runs made, whether `timeLimitMs` cut the check short, time taken).
 * @throws ConformanceError for the first invariant a run breaks; AdapterError when the
 * subject does not offer what its capabilities declare.
 *
 * @example
 * ```ts
 * import { AtomicTokenBudget } from '@budgetry/core';
 * import { checkTokenBudget } from '@budgetry/testing';
 *
 * await checkTokenBudget(({ capacity }) => new AtomicTokenBudget(capacity), {
 *   capabilities: { available: true, debt: true, refill: { policy: 'reset' }, countApi: true },
 *   numRuns: 200,
 * });
 * ```
 */
export async function checkTokenBudget<T extends TokenBudgetSubject>(
  factory: TokenBudgetFactory<T>,
  options: TokenBudgetCheckOptions = {},
): Promise<CheckSummary> {
  const resolved = resolveOptions(options);
  const caps = resolveTokenCapabilities(options.capabilities);
  const blames = { overAdmit: 'T4', falseDenial: 'T4', read: 'T3' } as const;
  return runLedgerCheck<W>({
    kind: 'token budget',
    factory,
    name: options.name,
    resolved,
    caps,
    blames,
    ops: tokenOps(caps, resolved),
    reads: tokenReads(caps, resolved),
    reserve: tokenProbe,
    giveBack: tokenGiveBack,
    ...(caps.countApi
      ? { soakPaths: [{ reserve: tokenProbe, giveBack: tokenGiveBack }, countPath<W>()] }
      : {}),
    world: async ({ scheduler, subject, build, config, clock }) => {
      const foreign = (await build()) as TokenBudgetSubject;
      return new TokenWorld(
        foreign,
        scheduler,
        subject as TokenBudgetSubject,
        config,
        caps,
        clock,
        blames,
      );
    },
    after: checkForeign,
    others: (world) => [world.foreign],
  });
}
