import type { GuardCapabilities, TokenBudgetCapabilities } from './capabilities.js';
import { checkGuard, type GuardFactory } from './check-guard.js';
import type { CheckFocus, CheckOptions } from './check-options.js';
import { checkTokenBudget, type TokenBudgetFactory } from './check-token-budget.js';

/**
 * How the suite registers a test: vitest's and `node:test`'s `test` (or `it`) take this
 * shape as they are. For Jest, pass `(name, { timeout }, fn) => test(name, fn, timeout)`.
 *
 * @example
 * ```ts
 * import type { SuiteTest } from '@budgetry/testing';
 * const registered: string[] = [];
 * const test: SuiteTest = (name) => registered.push(name);
 * ```
 */
export type SuiteTest = (
  name: string,
  options: { timeout: number },
  fn: () => Promise<void>,
) => unknown;

interface SuiteBase {
  /** Registers one test (vitest's or `node:test`'s `test`). */
  readonly test: SuiteTest;
  /** Groups the tests under `name` when given (vitest's or `node:test`'s `describe`). */
  readonly describe?: (name: string, fn: () => void) => unknown;
  /** The backend's name, in test titles and messages. */
  readonly name: string;
  /** Options passed to every check (runs, capacity, cost range, …). */
  readonly options?: Omit<CheckOptions, 'focus' | 'name'>;
  /**
   * Per-test timeout in milliseconds (default 120 000). Each check stops starting new runs
   * after three quarters of it (its `timeLimitMs`) unless `options.timeLimitMs` says otherwise.
   */
  readonly timeoutMs?: number;
}

/**
 * A suite for a guard: the factory and what the guard can do.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import type { GuardSuite } from '@budgetry/testing';
 * const spec: Omit<GuardSuite, 'test'> = {
 *   kind: 'guard',
 *   name: 'AtomicBudget',
 *   factory: ({ capacity }) => new AtomicBudget(capacity),
 *   capabilities: { available: true, permits: true },
 * };
 * ```
 */
export interface GuardSuite extends SuiteBase {
  readonly kind: 'guard';
  readonly factory: GuardFactory;
  readonly capabilities?: GuardCapabilities;
}

/**
 * A suite for a token budget: the factory and what the budget can do.
 *
 * @example
 * ```ts
 * import { AtomicTokenBudget } from '@budgetry/core';
 * import type { TokenBudgetSuite } from '@budgetry/testing';
 * const spec: Omit<TokenBudgetSuite, 'test'> = {
 *   kind: 'token-budget',
 *   name: 'AtomicTokenBudget',
 *   factory: ({ capacity }) => new AtomicTokenBudget(capacity),
 *   capabilities: { available: true, debt: true },
 * };
 * ```
 */
export interface TokenBudgetSuite extends SuiteBase {
  readonly kind: 'token-budget';
  readonly factory: TokenBudgetFactory;
  readonly capabilities?: TokenBudgetCapabilities;
}

/**
 * Options of {@link suite}.
 *
 * @example
 * ```ts
 * import type { SuiteOptions } from '@budgetry/testing';
 * const kind: SuiteOptions['kind'] = 'guard';
 * ```
 */
export type SuiteOptions = GuardSuite | TokenBudgetSuite;

interface Entry {
  readonly focus: CheckFocus;
  readonly title: string;
  /** Options of this test over the suite's. */
  readonly options?: (suite: SuiteBase['options']) => Partial<CheckOptions>;
}

/**
 * The capacity of the suite's test at scale: past 2^32, so that a count kept in 32 bits
 * (an `Int32Array` or `Uint32Array` cell, a `| 0`) or in a 32-bit float is wrong at once, and
 * far enough below 2^53 that sums of a history's amounts stay exact.
 */
const LARGE_CAPACITY = 2 ** 32 + 7;
/** Runs of the test at scale (or fewer, when the suite asks for fewer). */
const LARGE_RUNS = 100;

function entries(spec: SuiteOptions): Entry[] {
  const caps = spec.capabilities ?? {};
  const policy =
    caps.refill === undefined || caps.refill === false ? undefined : caps.refill.policy;
  const list: Entry[] = [
    {
      focus: 'overlap',
      title:
        spec.kind === 'guard'
          ? 'conserves units under overlapping calls'
          : 'conserves tokens and debt under overlapping calls',
    },
    {
      focus: 'long',
      title: 'holds over long histories',
      // Each long run is sixteen times the length of another: the suite's runs, if it sets
      // them, go 25 to one (500 → 20, the check's own default), so the test costs what the
      // others do.
      options: (given) =>
        given?.numRuns === undefined ? {} : { numRuns: Math.ceil(given.numRuns / 25) },
    },
    {
      focus: 'mixed',
      title: 'keeps exact counts past 32 bits (capacity 2^32 + 7)',
      options: (given) => ({
        capacity: LARGE_CAPACITY,
        numRuns: Math.min(given?.numRuns ?? LARGE_RUNS, LARGE_RUNS),
      }),
    },
    { focus: 'invalid', title: 'rejects invalid amounts without effect' },
  ];
  if (spec.kind === 'guard' && (spec.capabilities?.permits ?? false) !== false) {
    list.push({ focus: 'permits', title: 'settles each permit exactly once' });
  }
  if (spec.kind === 'token-budget') {
    list.push({
      focus: 'misuse',
      title: 'records each reservation once, and only on its own budget',
    });
  }
  if (policy !== undefined)
    list.push({ focus: 'refill', title: `refills under the '${policy}' policy` });
  list.push({
    focus: 'probe',
    title: 'at rest, exactly the free units can be reserved (black-box)',
  });
  return list;
}

/**
 * Registers every check that applies to a backend, one test per area, in the style of
 * abstract-level's and Keyv's shared suites. Every test judges every invariant; what differs
 * is the mix of calls it leans towards (see {@link CheckFocus}), so a failure's title says
 * where to look. Works with vitest, `node:test` and (through a small wrapper) Jest.
 *
 * @param spec - the test function, the backend's name, kind, factory and capabilities.
 * @returns the titles of the registered tests.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import { suite } from '@budgetry/testing';
 * import { describe, test } from 'vitest';
 *
 * suite({
 *   test,
 *   describe,
 *   name: 'AtomicBudget',
 *   kind: 'guard',
 *   factory: ({ capacity, policy }) => new AtomicBudget(capacity, { refillPolicy: policy }),
 *   capabilities: { available: true, permits: true, refill: { policy: 'reset' } },
 * });
 * ```
 */
export function suite(spec: SuiteOptions): string[] {
  if (typeof spec?.test !== 'function') throw new TypeError('suite() needs a test function');
  if (typeof spec.factory !== 'function') throw new TypeError('suite() needs a factory');
  const kind: unknown = spec.kind;
  if (kind !== 'guard' && kind !== 'token-budget') {
    throw new TypeError(`suite() kind must be 'guard' or 'token-budget', got ${String(kind)}`);
  }
  const timeout = spec.timeoutMs ?? 120_000;
  const list = entries(spec);
  const register = (): void => {
    for (const { focus, title, options: own } of list) {
      // A slow backend gets the runs that fit in three quarters of the test's time, and the
      // summary says how many that was.
      const options = {
        timeLimitMs: Math.floor(timeout * 0.75),
        ...spec.options,
        ...own?.(spec.options),
        focus,
        name: spec.name,
      };
      spec.test(title, { timeout }, async () => {
        const summary =
          spec.kind === 'guard'
            ? await checkGuard(spec.factory, {
                ...options,
                ...(spec.capabilities === undefined ? {} : { capabilities: spec.capabilities }),
              })
            : await checkTokenBudget(spec.factory, {
                ...options,
                ...(spec.capabilities === undefined ? {} : { capabilities: spec.capabilities }),
              });
        if (summary.interrupted) {
          console.warn(
            `${spec.name}: ${title}: ${summary.runs} runs in ${summary.ms} ms, cut short by the time limit`,
          );
        }
      });
    }
  };
  if (spec.describe !== undefined) spec.describe(spec.name, register);
  else register();
  return list.map((e) => e.title);
}
