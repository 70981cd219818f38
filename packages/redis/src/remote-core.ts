import { randomBytes } from 'node:crypto';
import { assertAmount, BudgetError, type BudgetEvent } from '@budgetry/core';
import { flushQueued } from './client-queue.js';
import type { AcquireOptions, ResolvedOptions } from './options.js';
import type { ScriptRunner } from './script-runner.js';

/**
 * What one sweep of expired leases found, from {@link RedisBudget.reclaimExpired}.
 *
 * @example
 * ```ts
 * import type { ReclaimReport } from '@budgetry/redis';
 * const report: ReclaimReport = { leases: 2, units: 30, refunded: 30, remaining: 0 };
 * ```
 */
export interface ReclaimReport {
  /** Leases found expired and settled by this call. */
  readonly leases: number;
  /** The units they held. */
  readonly units: number;
  /** The units that came back (less than `units` for leases fenced off by a `reset` refill). */
  readonly refunded: number;
  /** Leases still live after the sweep. */
  readonly remaining: number;
}

const SWEEP_BATCH = 500;

/**
 * What every Redis budget and hierarchy reports of itself in a snapshot, beside its units.
 *
 * @example
 * ```ts
 * import type { RedisCounters } from '@budgetry/redis';
 * const stale = (c: RedisCounters) => c.expiredLeases > 0 || c.scriptReloads > 0;
 * ```
 */
export interface RedisCounters {
  /** The refill epoch: 0, then one more per refill. */
  readonly epoch: number;
  /** Leases live in Redis, in the budget or anywhere in the tree (any epoch). */
  readonly leases: number;
  /** Units the count API was asked to release beyond what it held, and ignored. */
  readonly overReleased: number;
  /** Leases that expired before they were settled, since the budget or tree was created. */
  readonly expiredLeases: number;
  /** The units those leases held. */
  readonly expiredUnits: number;
  /** The Redis server's clock when the snapshot was taken (ms since the Unix epoch). */
  readonly serverTime: number;
  /** When the next epoch begins, in server time, under `refillEveryMs`. */
  readonly nextRefillAt: number | undefined;
  /** Calls this process re-sent with the script's text after a `NOSCRIPT` answer. */
  readonly scriptReloads: number;
}

/** @internal An operation's own values, and available − debt after it. */
export interface Reply {
  readonly v: readonly number[];
  readonly net: number;
  /** How many changes the budget's state has seen: each change adds one, in one order. */
  readonly seq: number;
}

/** Numbers for the clients budgets reach Redis through, so that an identity can name one. */
const clients = new WeakMap<object, number>();
let clientCount = 0;

/**
 * @internal The property by which compose's combinators and coordinator tell that two objects
 * charge one budget (see compose's README): a budget, or tree node, names its state in Redis
 * and the client it goes through, so two handles on it are refused as one budget given twice.
 */
export const IDENTITY: unique symbol = Symbol.for('budgetry.identity');

/**
 * @internal What every Redis budget shares — {@link RedisBudget}, {@link RedisTokenBudget},
 * {@link RedisHierarchy}: validated options, the script runner (its script and keys), lease
 * ids, the failure policy, the observer, and the operations every script implements alike
 * (`acq`, `abt`, `ref`, `swp`; its reply header).
 */
export class RemoteCore {
  private readonly clientId = randomBytes(9).toString('base64url');
  private seq = 0;
  /** The budget's {@link IDENTITY}: its client and its state's key. */
  readonly identity: string;

  constructor(
    readonly o: ResolvedOptions,
    readonly runner: ScriptRunner,
  ) {
    let client = clients.get(o.redis);
    if (client === undefined) clients.set(o.redis, (client = ++clientCount));
    this.identity = `${client} ${runner.keys[0]}`;
  }

  /** A fresh operation id: unique across the fleet (random per budget object, then a counter). */
  nextId(): string {
    this.seq++;
    return `${this.clientId}.${this.seq.toString(36)}`;
  }

  /**
   * Runs `op`; reports the leases the call found expired; resolves the operation's own values.
   * Calls keep the order they were made in (see {@link ScriptRunner.run}).
   */
  call(op: string, args: readonly string[]): Promise<Reply> {
    return this.runner.run(op, args).then((reply) => {
      const [swept = 0, units = 0, refunded = 0, net = 0, seq = 0] = reply;
      if (swept > 0)
        this.emit(() => ({ type: 'leak', budget: this.o.name, amount: units, refunded }));
      return { v: reply.slice(5), net, seq };
    });
  }

  /** Tells the observer, if there is one; an observer's exception never reaches the caller. */
  emit(build: () => BudgetEvent): void {
    const observer = this.o.observer;
    if (observer === undefined) return;
    try {
      observer(build());
    } catch (error) {
      process.emitWarning(
        `an observer of budget ${JSON.stringify(this.o.name)} threw: ${String(error)}`,
        'BudgetryObserverWarning',
      );
    }
  }

  /**
   * Whether `error`, from a request for units, is to be turned into a local grant: only
   * under `failure: 'open'`, and only for infrastructure failures (never invalid input or a
   * configuration mismatch).
   */
  failsOpen(error: unknown): boolean {
    if (this.o.failure !== 'open' || !BudgetError.isInstance(error)) return false;
    if (error.code !== 'BACKEND' && error.code !== 'TIMEOUT') return false;
    try {
      this.o.onFailOpen?.(error);
    } catch {
      // The grant stands; a throwing reporter must not turn it into a failure.
    }
    return true;
  }

  /** The lease length of one request: `leaseMs` when given (checked), else the budget's. */
  leaseMs(options: { readonly leaseMs?: number } | undefined): number {
    // `null` is refused, not taken for the default.
    const ms = options?.leaseMs === undefined ? this.o.leaseMs : options.leaseMs;
    if (!Number.isSafeInteger(ms) || ms < 1) {
      throw new BudgetError({
        code: 'INVALID_ARGUMENT',
        message: `leaseMs must be a positive safe integer, got ${String(ms)}`,
        details: { name: 'leaseMs', value: ms },
      });
    }
    return ms;
  }

  /**
   * Takes `cost` (already checked) as a lease: `acq` with `extra` arguments after the id, the
   * cost and the lease length. `make` turns the grant into a handle (`backed` false for a
   * local grant under `failure: 'open'`, with epoch −1).
   *
   * @returns the handle, or `null` on denial, and the operation's own values.
   */
  async lease<T>(
    cost: number,
    options: AcquireOptions | undefined,
    extra: readonly string[],
    make: (id: string, epoch: number, deadline: number | undefined, backed: boolean) => T,
  ): Promise<{ readonly handle: T | null; readonly v: readonly number[] }> {
    const leaseMs = this.leaseMs(options);
    const id = this.nextId();
    try {
      const { v, net } = await this.call('acq', [id, String(cost), String(leaseMs), ...extra]);
      const [granted = 0, epoch = 0, deadline = 0] = v;
      if (!this.admitted(granted === 1, cost, net)) return { handle: null, v };
      return { handle: make(id, epoch, deadline > 0 ? deadline : undefined, true), v };
    } catch (error) {
      const handle = await this.failed(error, id, () => make(id, -1, undefined, false));
      return { handle, v: [] };
    }
  }

  /** Reports a grant or a denial; returns `granted`. */
  admitted(granted: boolean, cost: number, net: number): boolean {
    const type = granted ? 'reserve' : 'deny';
    this.emit(() => ({ type, budget: this.o.name, cost, available: Math.max(net, 0) }));
    return granted;
  }

  /**
   * A request for units (operation `id`) failed: undo it in case it landed, then grant it
   * locally through `open` under `failure: 'open'`, or reject.
   */
  async failed<T>(error: unknown, id: string, open: (landed: boolean) => T): Promise<T> {
    let thrown = error;
    if (BudgetError.isInstance(error) && (error.code === 'BACKEND' || error.code === 'TIMEOUT')) {
      thrown = await this.abandon(id, error);
    }
    // landed: the abandon found a count reservation that arrived, and Redis holds its units.
    if (this.failsOpen(thrown)) return open(isLanded(thrown));
    throw thrown;
  }

  /**
   * After a request for units failed without an answer: a lease it took is settled now
   * (released) instead of at its expiry; a request still on its way is refused when it
   * arrives. A count reservation that did arrive is left in the pool, where a count release
   * can return it: taking it back here could return units a pool release already returned.
   * Sent behind the request on the same connection and awaited, under the same time limit,
   * so the failure is reported once its effect is known where it can be: `details.undone`
   * says the request holds nothing.
   */
  private async abandon(id: string, error: BudgetError): Promise<BudgetError> {
    let undone: boolean;
    try {
      const { v } = await this.call('abt', [id]);
      undone = v[0] !== -1;
    } catch {
      return error;
    }
    return new BudgetError({
      code: error.code,
      message: `${error.message}${undone ? ' (undone: nothing is held)' : ' (it reached Redis: its units are held through the count API)'}`,
      details: { ...error.details, undone },
      cause: error.cause ?? error,
    });
  }

  /** Begins `times` epochs, only if the epoch is still `ifEpoch` when given. */
  async refill(times: unknown, ifEpoch: unknown): Promise<boolean> {
    if (!Number.isSafeInteger(times) || (times as number) < 1) {
      throw new BudgetError({
        code: 'INVALID_ARGUMENT',
        message: `refill times must be a positive safe integer, got ${String(times)}`,
        details: { times },
      });
    }
    if (ifEpoch !== undefined) assertAmount(ifEpoch, 'ifEpoch');
    // An id of its own: a copy of the command (a client re-sending it after a reconnect)
    // answers what the first did, and never begins epochs again. A call made again is a new
    // refill, with an id of its own: a caller retrying after a failure fences it with ifEpoch.
    const { v, net } = await this.call('ref', [
      String(times),
      ifEpoch === undefined ? '-1' : String(ifEpoch),
      this.nextId(),
    ]);
    const [applied = 0, epoch = 0] = v;
    if (applied === 2) {
      throw new BudgetError({
        code: 'INVALID_ARGUMENT',
        message: `${times === 1 ? 'a refill' : `${times} refills`} would take the epoch past 2^53 − 1 (it is ${epoch}): this budget can begin no more epochs, and nothing changed`,
        details: { times, epoch },
      });
    }
    if (applied === 1) {
      this.emit(() => ({
        type: 'refill',
        budget: this.o.name,
        epoch,
        policy: this.o.refillPolicy,
        available: Math.max(net, 0),
      }));
    }
    return applied === 1;
  }

  /** Sweeps every expired lease, in batches, reporting what came back. */
  async reclaimExpired(): Promise<ReclaimReport> {
    let leases = 0;
    let units = 0;
    let refunded = 0;
    for (;;) {
      const reply = await this.runner.run('swp', [String(SWEEP_BATCH)]);
      const [swept = 0, u = 0, back = 0, , , remaining = 0] = reply;
      leases += swept;
      units += u;
      refunded += back;
      if (swept < SWEEP_BATCH) {
        if (leases > 0) {
          this.emit(() => ({ type: 'leak', budget: this.o.name, amount: units, refunded }));
        }
        return { leases, units, refunded, remaining };
      }
    }
  }

  /** Deletes every key of the budget. */
  async destroy(): Promise<void> {
    const keys = this.runner.keys;
    try {
      flushQueued(this.o.redis); // calls made before destroy() go first
      await this.o.redis.eval("return redis.call('DEL', unpack(KEYS))", keys.length, ...keys);
    } catch (error) {
      throw new BudgetError({
        code: 'BACKEND',
        message: `Redis failed to delete budget ${JSON.stringify(this.o.name)}: ${String(error)}`,
        details: { budget: this.o.name },
        cause: error,
      });
    }
  }
}

/** Whether a failed request's error says it reached Redis and holds units there (`undone: false`). */
function isLanded(error: unknown): boolean {
  return BudgetError.isInstance(error) && error.details?.['undone'] === false;
}
