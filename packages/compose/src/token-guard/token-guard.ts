import {
  assertAmount,
  type BudgetCapabilities,
  capabilitiesOf,
  type PermitBudgetGuard,
  retryAfterOf,
  type SyncBudgetGuard,
  SyncGuardBase,
  type SyncTokenBudget,
  type TokenBudget,
  type TokenReservation,
} from '@budgetry/core';
import { forwarded } from '../internal/capabilities.js';
import { type CeilingReading, ceilingKey } from '../internal/ceiling.js';
import { CountLedger, ResetEpochs, stillLive } from '../internal/count-ledger.js';
import { epochOf } from '../internal/epoch.js';
import { describe, invalid } from '../internal/member-list.js';
import { isSyncTokenBudget, isTokenBudget } from '../internal/token-kind.js';
import {
  AsyncTokenPermitImpl,
  type SyncTokenPermit,
  SyncTokenPermitImpl,
  type TokenPermit,
} from './token-permit.js';

/**
 * A synchronous token budget seen as a guard; see {@link tokenGuard}.
 *
 * @example
 * ```ts
 * import { AtomicTokenBudget } from '@budgetry/core';
 * import { SyncTokenGuard } from '@budgetry/compose';
 *
 * const guard = new SyncTokenGuard(new AtomicTokenBudget(1_000));
 * if (guard.tryReserveSync(300)) guard.releaseSync(300);
 * ```
 */
export class SyncTokenGuard extends SyncGuardBase<SyncTokenPermit> implements SyncBudgetGuard {
  /**
   * What the token budget declares, with partial commit (a permit records what was used);
   * the count API pools releases only through the budget's own count API.
   */
  readonly capabilities: BudgetCapabilities;
  private readonly ledger: TokenLedger;
  /**
   * @internal The budget's own count API, when it has one (core's `AtomicTokenBudget` does)
   * and declares it; the count calls go there.
   */
  readonly counter: CountApi | undefined;

  /** @param tokens - the token budget to wrap. */
  constructor(readonly tokens: SyncTokenBudget) {
    super();
    const caps = capabilitiesOf(tokens);
    this.counter = caps.countRelease && hasCountApi(tokens) ? tokens : undefined;
    this.ledger = new TokenLedger(tokens);
    this.capabilities = forwarded(tokens, {
      sync: true,
      partialCommit: true,
      countRelease: this.counter !== undefined,
    });
  }

  get capacity(): number {
    return this.tokens.capacity;
  }
  /** @internal The token budget's ceiling (see `ceilingOf`). */
  [ceilingKey](of: CeilingReading): number {
    return of(this.tokens);
  }
  /** The token budget's epoch, when it says (a combinator's ledger fences reservations by it). */
  get epoch(): number | undefined {
    return epochOf(this.tokens);
  }
  available(): number {
    return this.tokens.available();
  }
  /**
   * The token budget's own retry hint (a scheduled one knows its next refill), so waiting
   * lines wake and combinators' denials say when to retry.
   *
   * @param cost - the tokens wanted.
   * @returns milliseconds, or `undefined` when the budget gives no hint.
   */
  retryAfterMs(cost: number): number | undefined {
    return retryAfterOf(this.tokens, cost);
  }
  /** Units the count API was asked to release beyond what it held (ignored). */
  overReleased(): number {
    return this.counter?.overReleased() ?? this.ledger.overReleased;
  }
  tryAcquireSync(cost: number): SyncTokenPermit | null {
    const r = this.tokens.tryReserveTokensSync(cost);
    return r === null ? null : new SyncTokenPermitImpl(this.tokens, r);
  }
  tryReserveSync(cost: number): boolean {
    // With a native count API no reservation object is needed per count reservation.
    const counter = this.counter;
    if (counter !== undefined) return counter.tryReserveSync(cost);
    return this.ledger.keep(cost, this.tokens.tryReserveTokensSync(cost));
  }
  releaseSync(cost: number): void {
    const counter = this.counter;
    if (counter !== undefined) {
      counter.releaseSync(cost);
      return;
    }
    assertAmount(cost, 'cost');
    const entry = this.ledger.take(cost);
    if (entry === undefined) return;
    try {
      entry.r[Symbol.dispose]();
    } catch (error) {
      // Not refunded: still held, and still releasable.
      if (entry.r.armed) this.ledger.put(cost, entry);
      throw error;
    }
  }
}

/** @internal A synchronous count API with over-release accounting, as `AtomicTokenBudget` has. */
interface CountApi {
  tryReserveSync(cost: number): boolean;
  releaseSync(cost: number): void;
  overReleased(): number;
}

/** A budget declaring `countRelease` is taken at its word only if it has the methods. */
function hasCountApi(tokens: object): tokens is CountApi {
  const api = tokens as Partial<CountApi>;
  return (
    typeof api.tryReserveSync === 'function' &&
    typeof api.releaseSync === 'function' &&
    typeof api.overReleased === 'function'
  );
}

/**
 * An asynchronous token budget seen as a guard; see {@link tokenGuard}.
 *
 * @example
 * ```ts
 * import { AtomicTokenBudget, type TokenBudget } from '@budgetry/core';
 * import { AsyncTokenGuard } from '@budgetry/compose';
 *
 * const remote: TokenBudget = new AtomicTokenBudget(1_000); // stands for a remote budget
 * const permit = await new AsyncTokenGuard(remote).tryAcquire(300);
 * await permit?.release();
 * ```
 */
export class AsyncTokenGuard implements PermitBudgetGuard {
  /** What the token budget declares, asynchronous, with partial commit and no pool release. */
  readonly capabilities: BudgetCapabilities;
  private readonly ledger: TokenLedger;

  /** @param tokens - the token budget to wrap. */
  constructor(readonly tokens: TokenBudget) {
    this.ledger = new TokenLedger(tokens);
    this.capabilities = forwarded(tokens, {
      sync: false,
      partialCommit: true,
      countRelease: false,
    });
  }

  /** {@inheritDoc SyncTokenGuard.epoch} */
  get epoch(): number | undefined {
    return epochOf(this.tokens);
  }
  /** @internal The token budget's ceiling (see `ceilingOf`). */
  [ceilingKey](of: CeilingReading): number {
    return of(this.tokens);
  }

  /**
   * The token budget's own retry hint, when it has one; see {@link SyncTokenGuard.retryAfterMs}.
   *
   * @param cost - the tokens wanted.
   * @returns milliseconds, or `undefined` when the budget gives no hint.
   */
  retryAfterMs(cost: number): number | undefined {
    return retryAfterOf(this.tokens, cost);
  }

  /** Units the count API was asked to release without a matching reservation (ignored). */
  overReleased(): number {
    return this.ledger.overReleased;
  }
  async tryAcquire(cost: number): Promise<TokenPermit | null> {
    const r = await this.tokens.tryReserveTokens(cost);
    return r === null ? null : new AsyncTokenPermitImpl(this.tokens, r);
  }
  async tryReserve(cost: number): Promise<boolean> {
    return this.ledger.keep(cost, await this.tokens.tryReserveTokens(cost));
  }
  async release(cost: number): Promise<void> {
    assertAmount(cost, 'cost');
    const entry = this.ledger.take(cost);
    if (entry === undefined) return;
    try {
      await entry.r[Symbol.asyncDispose]();
    } catch (error) {
      // Still armed: the refund did not happen, so the reservation stays releasable.
      if (entry.r.armed) this.ledger.put(cost, entry);
      throw error;
    }
  }
}

/**
 * A token budget seen as a guard, so it can sit in an all-of, any-of or waiting queue next to
 * row and request guards. A permit is a reservation of `cost` tokens: `release()` refunds the
 * estimate, `commit()` records it as used; reconcile with real usage by passing
 * `permit.reservation` to the token budget's `recordUsage`. Over a budget with its own count
 * API (core's `AtomicTokenBudget`) the count API is that one: releases are clamped to what it
 * holds. Over other token budgets it releases one reservation of exactly the released cost;
 * either way a release beyond what is held is counted in `overReleased()` and changes
 * nothing. An asynchronous permit whose commit fails after the budget disarmed the reservation
 * (a remote budget does, before it sends the record) stays held: commit it again to record it,
 * once, or release it to record nothing used, which returns the estimate unless the failed
 * commit was applied after all.
 *
 * When to use: you need "rows *and* tokens" as one reservation. {@link allOf} applies it
 * for you when a member is a token budget; the {@link coordinator} is the general form, with
 * reconciliation per dimension.
 *
 * @param tokens - a token budget; synchronous ones give a {@link SyncTokenGuard}.
 * @returns the guard view.
 *
 * @example
 * ```ts
 * import { AtomicTokenBudget } from '@budgetry/core';
 * import { tokenGuard } from '@budgetry/compose';
 *
 * const tokens = new AtomicTokenBudget(10_000);
 * const guard = tokenGuard(tokens);
 * const permit = guard.tryAcquireSync(1_200);
 * if (permit) tokens.recordUsageSync(permit.reservation, 700, 300); // refunds 200
 * ```
 */
export function tokenGuard(tokens: SyncTokenBudget): SyncTokenGuard;
export function tokenGuard(tokens: TokenBudget): AsyncTokenGuard;
export function tokenGuard(tokens: TokenBudget): SyncTokenGuard | AsyncTokenGuard {
  if (isSyncTokenBudget(tokens)) return new SyncTokenGuard(tokens);
  if (isTokenBudget(tokens)) return new AsyncTokenGuard(tokens);
  throw invalid(`tokenGuard expects a token budget, got ${describe(tokens)}`, { tokens });
}

/** A count reservation kept by a token guard, with the budget's epoch when it was taken. */
interface TokenEntry {
  readonly r: TokenReservation;
  readonly stamp: number | undefined;
}

/**
 * @internal A token guard's count reservations. Over a budget that declares `reset` refills
 * and says its `epoch`, a reservation from an epoch the budget has left can return nothing,
 * so it is dropped (and disposed, which refunds nothing, so no leak is reported for it):
 * consume-and-refill use keeps only what can still come back.
 */
class TokenLedger {
  private readonly epochs: ResetEpochs;
  private readonly ledger: CountLedger<TokenEntry>;

  constructor(tokens: object) {
    const epochs = new ResetEpochs([tokens]);
    this.epochs = epochs;
    this.ledger = new CountLedger<TokenEntry>(
      epochs.any
        ? {
            epochs: () => epochs.now(),
            live: (e, now) => e.r.armed && stillLive(e.stamp, now, 0),
            discard: (e) => {
              try {
                e.r[Symbol.dispose]();
              } catch {
                // A fenced reservation refunds nothing; a budget that fails here loses nothing.
              }
            },
          }
        : undefined,
    );
  }

  get overReleased(): number {
    return this.ledger.overReleased;
  }

  keep(cost: number, r: TokenReservation | null): boolean {
    if (r === null) return false;
    this.ledger.push(cost, { r, stamp: this.epochs.stamp(0) });
    return true;
  }

  take(cost: number): TokenEntry | undefined {
    return this.ledger.take(cost);
  }

  put(cost: number, entry: TokenEntry): void {
    this.ledger.push(cost, entry);
  }
}
