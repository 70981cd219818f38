import { BudgetError, type BudgetErrorCode, retryAfterOf } from '@budgetry/core';
import { checkLabel, checkOptions, describe, invalid } from './invalid.js';
import { warn } from './thresholds.js';

/**
 * What a shadow reports: the decisions its policy made that the shadow did not enforce, and
 * what the work let through that way went on to use.
 *
 * - `pass`: the policy denied `cost` (`reason: 'denied'`, with `retryAfterMs` when its schedule
 *   knows) or failed (`'failed'`, with the `error`), and the work went ahead anyway on a
 *   phantom handle that holds nothing on the policy. A detailed reservation's denial (an
 *   all-of's, an any-of's or a hierarchy node's `tryAcquireDetailed…` / `tryAcquireEach…`,
 *   whose `cost` is the sum of the members' costs) also says what the policy said:
 *   `deniedBy` (the member, the any-of's members, the node's path) and `exceedsCapacity`.
 * - `pass-settle`: a phantom handle settled: `used` units of the `cost` let through were
 *   actually spent (0 for a release or refund; above `cost` when a token call overran).
 * - `dispatch-pass` / `dispatch-settle`: the same for a coordinator, per dimension, with the
 *   dimension that denied (`deniedBy`) and `exceedsCapacity` when it could never admit it.
 * - `failure`: the policy threw while settling a handle it did grant; the caller was not
 *   told (a shadow never fails the work), and the policy may still hold the units.
 *
 * @example
 * ```ts
 * import type { ShadowEvent } from '@budgetry/otel';
 *
 * let wouldDeny = 0;
 * const observer = (event: ShadowEvent) => {
 *   if (event.type === 'pass' && event.reason === 'denied') wouldDeny += event.cost;
 * };
 * ```
 */
export type ShadowEvent =
  | {
      readonly type: 'pass';
      readonly shadow: string;
      readonly cost: number;
      readonly reason: 'denied' | 'failed';
      readonly deniedBy?: string | number | readonly (string | number)[];
      readonly retryAfterMs?: number;
      readonly exceedsCapacity?: true;
      readonly error?: unknown;
    }
  | {
      readonly type: 'pass-settle';
      readonly shadow: string;
      readonly cost: number;
      readonly used: number;
    }
  | {
      readonly type: 'dispatch-pass';
      readonly shadow: string;
      readonly estimate: Readonly<Record<string, number>>;
      readonly reason: 'denied' | 'failed';
      readonly deniedBy?: string;
      readonly retryAfterMs?: number;
      readonly exceedsCapacity?: true;
      readonly error?: unknown;
    }
  | {
      readonly type: 'dispatch-settle';
      readonly shadow: string;
      readonly estimate: Readonly<Record<string, number>>;
      readonly used: Readonly<Record<string, number>>;
    }
  | { readonly type: 'failure'; readonly shadow: string; readonly error: unknown };

/**
 * Options for {@link shadow} and {@link shadowCoordinator}.
 *
 * @example
 * ```ts
 * import type { ShadowOptions } from '@budgetry/otel';
 *
 * const options: ShadowOptions = {
 *   name: 'tokens-per-tenant',
 *   observer: (event) => console.log(event.type),
 * };
 * ```
 */
export interface ShadowOptions {
  /** A label for the policy in events and metrics. */
  readonly name: string;
  /** Told every {@link ShadowEvent}; its exceptions become warnings, never the caller's. */
  readonly observer?: (event: ShadowEvent) => void;
}

/** @internal A shadow's name and listeners, found from the wrapper by the telemetry. */
export class ShadowState {
  private listeners: readonly ((event: ShadowEvent) => void)[] = [];

  constructor(readonly name: string) {}

  listen(listener: (event: ShadowEvent) => void): () => void {
    this.listeners = [...this.listeners, listener];
    let on = true;
    return () => {
      if (!on) return;
      on = false;
      const at = this.listeners.indexOf(listener);
      this.listeners = this.listeners.filter((_, i) => i !== at);
    };
  }

  /** Tells `event` to every listener and, for an event of one traced call, to `also`. */
  emit(event: ShadowEvent, also?: ShadowListener): void {
    for (const listener of this.listeners) tell(listener, event);
    if (also !== undefined) tell(also, event);
  }
}

/** @internal Told a shadow's events. */
export type ShadowListener = (event: ShadowEvent) => void;

function tell(listener: ShadowListener, event: ShadowEvent): void {
  try {
    listener(event);
  } catch (error) {
    warn(
      `budgetry: a shadow observer threw: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

const registry = new WeakMap<object, ShadowState>();

/** @internal The state of a shadow wrapper, or `undefined` for anything else. */
export function shadowStateOf(value: unknown): ShadowState | undefined {
  return typeof value === 'object' && value !== null ? registry.get(value) : undefined;
}

/** @internal Registers `wrapper` as a shadow with `state`. */
export function registerShadow<T extends object>(wrapper: T, state: ShadowState): T {
  registry.set(wrapper, state);
  return wrapper;
}

/** @internal Validates shadow options and makes the state, with the observer listening. */
export function shadowStateFor(target: unknown, options: ShadowOptions, what: string): ShadowState {
  if (typeof target !== 'object' || target === null) {
    throw invalid(`${what} expects a budget, got ${describe(target)}`);
  }
  checkOptions(options, what);
  checkLabel(options.name, 'name', true);
  const { observer } = options;
  if (observer !== undefined && typeof observer !== 'function') {
    throw invalid(`option observer must be a function, got ${describe(observer)}`);
  }
  const state = new ShadowState(options.name);
  if (observer !== undefined) state.listen(observer);
  return state;
}

/**
 * Errors a shadow passes on to its caller: its own mistakes, which an enforcing budget would
 * throw too (and which change nothing). Everything else the policy throws is the policy's
 * failure, and a shadow never lets its policy fail the work.
 */
const CALLER_CODES: ReadonlySet<BudgetErrorCode> = new Set<BudgetErrorCode>([
  'INVALID_AMOUNT',
  'INVALID_ARGUMENT',
  'FOREIGN_HANDLE',
  'ALREADY_SETTLED',
  'OVER_RELEASE',
  'ABORTED',
]);

/** @internal Whether `error` is the caller's mistake rather than the policy's failure. */
export function isCallerError(error: unknown): boolean {
  return BudgetError.isInstance(error) && CALLER_CODES.has(error.code);
}

/** @internal The epoch `budget` is in, when it says. */
export function epochOf(budget: object): number {
  const epoch = (budget as { readonly epoch?: unknown }).epoch;
  return typeof epoch === 'number' ? epoch : 0;
}

/**
 * @internal When `budget` says a denied `cost` could fit, or `undefined` when it does not
 * know, or its hint throws (a backend down): a hint is never worth failing a denial for.
 */
export function hintOf(budget: object, cost: number): number | undefined {
  try {
    return retryAfterOf(budget, cost);
  } catch {
    return undefined;
  }
}
