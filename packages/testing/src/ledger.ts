// The kit's independent auditor: a sequential account of one budget, kept per epoch from the
// events alone. It shares no formula or code with @budgetry/core: where core keeps one running
// counter, the ledger keeps what each epoch was charged and what debt it was handed, and
// derives available and debt from those.

/**
 * How a refill treats reservations still held: `reset` starts the epoch full and fences older
 * reservations (settling them returns nothing to the new epoch); `carry` moves them into the
 * new epoch, which starts at capacity minus what they hold.
 *
 * @example
 * ```ts
 * import type { LedgerPolicy } from '@budgetry/testing';
 * const policy: LedgerPolicy = 'carry';
 * ```
 */
export type LedgerPolicy = 'reset' | 'carry';

/**
 * What a ledger accounts for: the budget's capacity, its refill policy and its debt cap.
 *
 * @example
 * ```ts
 * import type { LedgerConfig } from '@budgetry/testing';
 * const config: LedgerConfig = { capacity: 1_000, policy: 'reset', maxDebt: Number.POSITIVE_INFINITY };
 * ```
 */
export interface LedgerConfig {
  readonly capacity: number;
  readonly policy: LedgerPolicy;
  /** The most debt carried; overage beyond it is written off (`Infinity`: exact debt). */
  readonly maxDebt: number;
}

/** @internal A handle's life: none yet, held, disarmed (token refund taken by the caller), settled. */
export const NONE = '.';
/** @internal */
export const HELD = 'h';
/** @internal */
export const DISARMED = 'd';
/** @internal */
export const SETTLED = 's';

/**
 * @internal One state of the account. Immutable: every event returns a new state, so the
 * linearization search can branch freely. Handles are numbered by the harness; `amounts`
 * (what each handle reserved) lives outside the state because it never changes.
 */
export interface LedgerState {
  readonly epoch: number;
  /** Units charged to the current epoch: held, committed, consumed and overage. */
  readonly charged: number;
  /** Debt the current epoch was handed when it began. */
  readonly debtIn: number;
  /** Units held through the count API in the current epoch. */
  readonly pool: number;
  /** Sum of recorded usage, ever. */
  readonly consumed: number;
  /** Debt written off by the debt cap, ever. */
  readonly forgiven: number;
  /** Count-API units released beyond what the pool held, ever. */
  readonly overReleased: number;
  /** One character per handle id: `.` none, `h` held, `d` disarmed, `s` settled. */
  readonly status: string;
  /** The epoch each handle belongs to (meaningful while it is held or disarmed). */
  readonly epochs: readonly number[];
}

/** @internal The empty account. */
export function openLedger(): LedgerState {
  return {
    epoch: 0,
    charged: 0,
    debtIn: 0,
    pool: 0,
    consumed: 0,
    forgiven: 0,
    overReleased: 0,
    status: '',
    epochs: [],
  };
}

/** @internal What the current epoch owes: its charges plus the debt it was handed. */
function owed(s: LedgerState): number {
  return s.charged + s.debtIn;
}

/** @internal Units reservable now. */
export function ledgerAvailable(config: LedgerConfig, s: LedgerState): number {
  return Math.max(0, config.capacity - owed(s));
}

/** @internal Units owed beyond capacity. */
export function ledgerDebt(config: LedgerConfig, s: LedgerState): number {
  return Math.max(0, owed(s) - config.capacity);
}

/** @internal A handle's status character. */
export function statusOf(s: LedgerState, id: number): string {
  return s.status[id] ?? NONE;
}

function withStatus(s: LedgerState, id: number, c: string): string {
  const padded = s.status.length > id ? s.status : s.status.padEnd(id + 1, NONE);
  return padded.slice(0, id) + c + padded.slice(id + 1);
}

/**
 * @internal Reserve `amount` for handle `id` (or for the count API when `id` is undefined).
 * Returns `undefined` when it does not fit: nothing changes.
 */
export function ledgerReserve(
  config: LedgerConfig,
  s: LedgerState,
  amount: number,
  id: number | undefined,
): LedgerState | undefined {
  if (amount > ledgerAvailable(config, s)) return undefined;
  if (id === undefined) return { ...s, charged: s.charged + amount, pool: s.pool + amount };
  const epochs = s.epochs.slice();
  epochs[id] = s.epoch;
  return { ...s, charged: s.charged + amount, status: withStatus(s, id, HELD), epochs };
}

/** @internal Return `amount` count-API units; beyond what the pool holds is over-release. */
export function ledgerCountRelease(s: LedgerState, amount: number): LedgerState {
  const accepted = Math.min(amount, s.pool);
  return {
    ...s,
    charged: s.charged - accepted,
    pool: s.pool - accepted,
    overReleased: s.overReleased + (amount - accepted),
  };
}

/**
 * @internal Settle handle `id` (held or disarmed), which reserved `amount`, as having used
 * `used` units: a release uses 0, a commit all of it, a token record what the provider
 * reported (possibly more than reserved). A handle of an older epoch under `reset` returns
 * nothing, and only its overage is charged to the current epoch. `recorded` adds `used` to
 * consumption. Returns `undefined` when the handle is not open.
 */
export function ledgerSettle(
  config: LedgerConfig,
  s: LedgerState,
  id: number,
  amount: number,
  used: number,
  recorded: boolean,
): LedgerState | undefined {
  const status = statusOf(s, id);
  if (status !== HELD && status !== DISARMED) return undefined;
  const live = config.policy === 'carry' || s.epochs[id] === s.epoch;
  const change = live ? used - amount : Math.max(0, used - amount);
  let next: LedgerState = {
    ...s,
    charged: s.charged + change,
    consumed: recorded ? s.consumed + used : s.consumed,
    status: withStatus(s, id, SETTLED),
  };
  const excess = ledgerDebt(config, next) - config.maxDebt;
  if (excess > 0) {
    next = { ...next, charged: next.charged - excess, forgiven: next.forgiven + excess };
  }
  return next;
}

/** @internal The caller took handle `id`'s refund channel: still reserved, no longer armed. */
export function ledgerDisarm(s: LedgerState, id: number): LedgerState | undefined {
  if (statusOf(s, id) !== HELD) return undefined;
  return { ...s, status: withStatus(s, id, DISARMED) };
}

/**
 * @internal Begin a new epoch. The old epoch closes owing its charges and the debt it was
 * handed; under `carry` the reservations still held leave it first and are charged to the new
 * epoch instead, so only debt they did not cause is handed on. Under `reset` the new epoch
 * starts with nothing charged, and older handles are fenced by their epoch.
 */
export function ledgerRefill(
  config: LedgerConfig,
  s: LedgerState,
  amounts: readonly number[],
): LedgerState {
  let carried = 0;
  if (config.policy === 'carry') {
    carried = s.pool;
    for (let id = 0; id < s.status.length; id++) {
      const c = s.status[id];
      if (c === HELD || c === DISARMED) carried += amounts[id] ?? 0;
    }
  }
  const closing = owed(s) - carried;
  return {
    ...s,
    epoch: s.epoch + 1,
    debtIn: Math.max(0, closing - config.capacity),
    charged: carried,
    pool: config.policy === 'carry' ? s.pool : 0,
  };
}

/** @internal A key identifying the observable future of a state, for the search's memo. */
export function ledgerKey(s: LedgerState): string {
  let epochs = '';
  for (let id = 0; id < s.status.length; id++) {
    const c = s.status[id];
    if (c === HELD || c === DISARMED) epochs += `${s.epochs[id]},`;
  }
  return `${s.epoch}|${s.charged}|${s.debtIn}|${s.pool}|${s.consumed}|${s.forgiven}|${s.status}|${epochs}`;
}

/**
 * One event of an {@link Auditor}'s account, as recorded.
 *
 * @example
 * ```ts
 * import type { AuditEvent } from '@budgetry/testing';
 * const event: AuditEvent = { type: 'record', handle: 0, prompt: 120, completion: 80 };
 * ```
 */
export type AuditEvent =
  | { readonly type: 'grant'; readonly handle: number; readonly amount: number }
  | { readonly type: 'deny'; readonly amount: number }
  | { readonly type: 'reserve-count'; readonly amount: number }
  | { readonly type: 'release-count'; readonly amount: number }
  | { readonly type: 'release'; readonly handle: number }
  | { readonly type: 'commit'; readonly handle: number; readonly used: number }
  | {
      readonly type: 'record';
      readonly handle: number;
      readonly prompt: number;
      readonly completion: number;
    }
  | { readonly type: 'refill' };

/**
 * The kit's independent auditor, for your own tests and scenarios: tell it every grant,
 * release, commit, usage record and refill in the order they happened, and it recomputes
 * what the budget must show — available, debt, consumed, epoch — from those events alone,
 * per epoch, without sharing any arithmetic with `@budgetry/core`. The conformance checks
 * use the same ledger as their model.
 *
 * @example
 * ```ts
 * import { Auditor } from '@budgetry/testing';
 *
 * const audit = new Auditor({ capacity: 1_000, policy: 'carry' });
 * const first = audit.grant(500)!;
 * const second = audit.grant(500)!;
 * audit.record(second, 700, 0); // 200 over its estimate: debt
 * audit.refill(); // the first reservation moves into the new epoch
 * console.log(audit.available, audit.debt); // 500 0
 * audit.release(first);
 * console.log(audit.available); // 1000
 * ```
 */
export class Auditor {
  /** Capacity, refill policy and debt cap. */
  readonly config: LedgerConfig;
  private state: LedgerState = openLedger();
  private readonly amounts: number[] = [];
  private readonly log: AuditEvent[] = [];

  /**
   * @param config - `capacity`, and optionally `policy` (default `reset`) and `maxDebt`
   * (default unlimited).
   */
  constructor(config: {
    readonly capacity: number;
    readonly policy?: LedgerPolicy;
    readonly maxDebt?: number;
  }) {
    const { capacity } = config;
    if (!Number.isSafeInteger(capacity) || capacity < 0) {
      throw new RangeError(`capacity must be a non-negative safe integer, got ${capacity}`);
    }
    const maxDebt = config.maxDebt ?? Number.POSITIVE_INFINITY;
    if (maxDebt !== Number.POSITIVE_INFINITY && (!Number.isSafeInteger(maxDebt) || maxDebt < 0)) {
      throw new RangeError(`maxDebt must be a non-negative safe integer, got ${maxDebt}`);
    }
    this.config = { capacity, policy: config.policy ?? 'reset', maxDebt };
  }

  /** Units reservable now (0 while in debt). */
  get available(): number {
    return ledgerAvailable(this.config, this.state);
  }

  /** Units owed: overage not yet paid by refunds or refills. */
  get debt(): number {
    return ledgerDebt(this.config, this.state);
  }

  /** Sum of every recorded usage. */
  get consumed(): number {
    return this.state.consumed;
  }

  /** Refills so far. */
  get epoch(): number {
    return this.state.epoch;
  }

  /** Debt written off by `maxDebt`. */
  get forgiven(): number {
    return this.state.forgiven;
  }

  /** Count-API units released beyond what the count API held. */
  get overReleased(): number {
    return this.state.overReleased;
  }

  /** Every event so far, in order. */
  get events(): readonly AuditEvent[] {
    return this.log;
  }

  /**
   * A reservation through a handle (a permit or a token reservation).
   *
   * @param amount - units reserved.
   * @returns the handle's number, or `undefined` when the amount does not fit (a denial).
   */
  grant(amount: number): number | undefined {
    checkAmount(amount, 'amount');
    const id = this.amounts.length;
    const next = ledgerReserve(this.config, this.state, amount, id);
    if (next === undefined) {
      this.log.push({ type: 'deny', amount });
      return undefined;
    }
    this.amounts.push(amount);
    this.state = next;
    this.log.push({ type: 'grant', handle: id, amount });
    return id;
  }

  /**
   * A reservation through the count API.
   *
   * @param amount - units reserved.
   * @returns whether it fit.
   */
  reserve(amount: number): boolean {
    checkAmount(amount, 'amount');
    const next = ledgerReserve(this.config, this.state, amount, undefined);
    this.log.push(
      next === undefined ? { type: 'deny', amount } : { type: 'reserve-count', amount },
    );
    if (next !== undefined) this.state = next;
    return next !== undefined;
  }

  /**
   * A count-API release; what exceeds the count API's holdings is counted as over-released.
   *
   * @param amount - units returned.
   */
  releaseCount(amount: number): void {
    checkAmount(amount, 'amount');
    this.state = ledgerCountRelease(this.state, amount);
    this.log.push({ type: 'release-count', amount });
  }

  /**
   * Releases (or refunds) a handle: its units come back, unless it was fenced by a `reset`.
   *
   * @param handle - from {@link Auditor.grant}.
   * @returns whether the handle was still open.
   */
  release(handle: number): boolean {
    return this.settle({ type: 'release', handle }, 0, false);
  }

  /**
   * Commits a handle: `used` units stay spent (default all of them), the rest come back.
   *
   * @param handle - from {@link Auditor.grant}.
   * @param used - units used, at most what the handle reserved.
   * @returns whether the handle was still open.
   */
  commit(handle: number, used?: number): boolean {
    const amount = this.amountOf(handle);
    const spent = used ?? amount;
    checkAmount(spent, 'used');
    if (spent > amount) throw new RangeError(`used ${spent} exceeds the ${amount} reserved`);
    return this.settle({ type: 'commit', handle, used: spent }, spent, false);
  }

  /**
   * Records a token reservation's actual usage: under-use comes back, overage is owed.
   *
   * @param handle - from {@link Auditor.grant}.
   * @param prompt - prompt tokens.
   * @param completion - completion tokens.
   * @returns whether the handle was still open.
   */
  record(handle: number, prompt: number, completion: number): boolean {
    checkAmount(prompt, 'prompt');
    checkAmount(completion, 'completion');
    return this.settle({ type: 'record', handle, prompt, completion }, prompt + completion, true);
  }

  /** Begins a new epoch under the policy. */
  refill(): void {
    this.state = ledgerRefill(this.config, this.state, this.amounts);
    this.log.push({ type: 'refill' });
  }

  /**
   * Replays `events` on a fresh auditor.
   *
   * @param config - as for the constructor.
   * @param events - events from {@link Auditor.events}.
   * @returns the auditor after every event.
   */
  static replay(
    config: ConstructorParameters<typeof Auditor>[0],
    events: Iterable<AuditEvent>,
  ): Auditor {
    const audit = new Auditor(config);
    for (const e of events) {
      switch (e.type) {
        case 'grant':
          audit.grant(e.amount);
          break;
        case 'deny':
          break;
        case 'reserve-count':
          audit.reserve(e.amount);
          break;
        case 'release-count':
          audit.releaseCount(e.amount);
          break;
        case 'release':
          audit.release(e.handle);
          break;
        case 'commit':
          audit.commit(e.handle, e.used);
          break;
        case 'record':
          audit.record(e.handle, e.prompt, e.completion);
          break;
        case 'refill':
          audit.refill();
          break;
      }
    }
    return audit;
  }

  private amountOf(handle: number): number {
    const amount = this.amounts[handle];
    if (amount === undefined) throw new RangeError(`no handle ${handle}`);
    return amount;
  }

  private settle(event: AuditEvent, used: number, recorded: boolean): boolean {
    const handle = (event as { handle: number }).handle;
    const next = ledgerSettle(
      this.config,
      this.state,
      handle,
      this.amountOf(handle),
      used,
      recorded,
    );
    if (next === undefined) return false;
    this.state = next;
    this.log.push(event);
    return true;
  }
}

function checkAmount(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative safe integer, got ${value}`);
  }
}
