import {
  BudgetError,
  type BudgetPermit,
  capabilitiesOf,
  type PermitBudgetGuard,
  type SyncBudgetGuard,
  type SyncBudgetPermit,
  type SyncTokenBudget,
  type TokenBudget,
  type TokenReservation,
} from '@budgetry/core';
import { appliedBefore } from '../internal/earlier-attempt.js';
import { isSyncGuard, memberIdentity, sharedBudget } from '../internal/member-kind.js';
import { describe, invalid, settleEach } from '../internal/member-list.js';
import { isSyncTokenBudget, isTokenBudget } from '../internal/token-kind.js';
import type { Dimension } from './types.js';

/** @internal One dimension, classified once. */
export interface Dim {
  readonly name: string;
  readonly budget: Dimension;
  readonly tokens: boolean;
  readonly sync: boolean;
  /** Settle under-use by a partial commit (declared by the guard; token budgets record it). */
  readonly partial: boolean;
  /**
   * Overage may be taken by a fresh reservation: the guard's units are one pool (it declares
   * `countRelease`), so more of it is more of what the permit holds. An any-of (which could
   * take it from another member) or an all-of with fixed charges (which would charge them
   * again) is not: its overage is reported.
   */
  readonly pooled: boolean;
}

/** @internal What a dispatch holds on one dimension. */
export interface Part {
  readonly dim: Dim;
  readonly cost: number;
  readonly handle: BudgetPermit | TokenReservation;
}

const isReservation = (h: BudgetPermit | TokenReservation): h is TokenReservation =>
  typeof (h as TokenReservation).disarm === 'function';

/**
 * A reservation already recorded or refunded: an earlier attempt that threw got that far, so
 * settling it again would charge twice.
 */
const isClosed = (r: TokenReservation): boolean => r.state === 'recorded' || r.state === 'refunded';

/**
 * @internal Settles one in-process part; returns the overage a guard could not take. Safe to
 * run again on a part an earlier attempt failed on: a permit settles once (a second commit is
 * `false` and changes nothing), a recorded reservation is not recorded again, and an overage
 * permit that could not be committed is released before the error goes out.
 */
export function settleSyncPart(p: Part, actual: number): number {
  const h = p.handle;
  if (isReservation(h)) {
    if (!isClosed(h)) (p.dim.budget as SyncTokenBudget).recordUsageSync(h, actual, 0);
    return 0;
  }
  const permit = h as SyncBudgetPermit;
  const guard = p.dim.budget as SyncBudgetGuard;
  if (actual === p.cost) {
    permit.commitSync();
    return 0;
  }
  if (actual > p.cost) {
    permit.commitSync();
    // Take as much of the overage as there is room for; report the rest.
    const over = actual - p.cost;
    if (!p.dim.pooled) return over;
    const take = Math.min(over, guard.available());
    // available() is a hint: a guard may still refuse (a waiting line with waiters in it
    // does), and then none of the overage was charged.
    const extra = take > 0 ? guard.tryAcquireSync(take) : null;
    if (extra === null) return over;
    try {
      extra.commitSync();
    } catch (error) {
      releaseQuietlySync(extra);
      throw error;
    }
    return over - take;
  }
  // Used less than reserved: keep what was used and return the rest in one step, to the
  // epoch the permit was taken in (never by release and re-acquire, which another caller
  // could interleave, and which would bill the current epoch for an older one's use). A
  // guard that declares no partial commit keeps it all: over-charged, never lost.
  if (p.dim.partial) permit.commitSync(actual);
  else permit.commitSync();
  return 0;
}

/**
 * Overage permits that an attempt to settle a remote part took and failed to commit, until a
 * later attempt commits them or a cancel releases them. The failed commit may have been
 * applied (a remote guard that lost its answer): committing the same permit again charges
 * the overage once either way, where a fresh permit would charge it twice.
 */
const overages = new WeakMap<Part, BudgetPermit>();

/**
 * @internal {@link settleSyncPart} for any part, awaiting remote ones. Also safe to run again
 * after an attempt whose answer a remote budget lost: a token record found applied by it is
 * done, and an overage permit it took is committed again rather than taken twice.
 */
export async function settlePart(p: Part, actual: number): Promise<number> {
  if (p.dim.sync) return settleSyncPart(p, actual);
  const h = p.handle;
  if (isReservation(h)) {
    if (!isClosed(h)) await recordOnce(p.dim.budget as TokenBudget, h, actual);
    return 0;
  }
  const kept = overages.get(p);
  // Taken once the permit was committed: only the overage is left to commit, unless the guard
  // gave it back meanwhile (its lease expired), and then it is taken again below.
  if (kept !== undefined && kept.state !== 'released') {
    await kept.commit();
    overages.delete(p);
    return Math.max(actual - p.cost - kept.cost, 0);
  }
  if (actual >= p.cost) {
    await h.commit();
    if (actual === p.cost) return 0;
    if (!p.dim.pooled) return actual - p.cost;
    const over = actual - p.cost;
    const extra = await acquireUpTo(p.dim.budget as PermitBudgetGuard, over);
    if (extra === null) return over;
    overages.set(p, extra);
    await extra.commit();
    overages.delete(p);
    return over - extra.cost;
  }
  // Used less than reserved: a partial commit, in one step at the guard, where declared.
  if (p.dim.partial) await h.commit(actual);
  else await h.commit();
  return 0;
}

/** Records `actual`; a record the budget found applied by an earlier attempt is done. */
async function recordOnce(tokens: TokenBudget, r: TokenReservation, actual: number): Promise<void> {
  try {
    await tokens.recordUsage(r, actual, 0);
  } catch (error) {
    if (!appliedBefore(error)) throw error;
  }
}

/**
 * A permit for `over` units of `guard`, or, when they do not all fit, for as many as it has
 * room for, as the synchronous path takes; `null` when it has none or does not say (it has no
 * `available()`). The room is read between two calls, so another caller may take it
 * meanwhile: then none of the overage is charged, as when a synchronous guard refuses.
 */
async function acquireUpTo(guard: PermitBudgetGuard, over: number): Promise<BudgetPermit | null> {
  const whole = await guard.tryAcquire(over);
  if (whole !== null) return whole;
  const available = (guard as { available?: () => unknown }).available;
  if (typeof available !== 'function') return null;
  const room: unknown = await available.call(guard);
  // All of it did not fit a moment ago: only a smaller room is worth asking for.
  if (typeof room !== 'number' || !Number.isSafeInteger(room) || room <= 0 || room >= over) {
    return null;
  }
  return guard.tryAcquire(room);
}

function releaseQuietlySync(permit: SyncBudgetPermit): void {
  try {
    permit.releaseSync();
  } catch {
    // The commit's failure is the one to report; the guard's leak backstop has the rest.
  }
}

/** @internal Parts an operation failed on, with the first failure. */
export interface Failed {
  readonly parts: Part[];
  readonly error: unknown;
}

/** @internal Refunds every part, whatever happens to the others; returns those that failed. */
export function refundEachSync(parts: readonly Part[]): Failed | undefined {
  let failed: Part[] | undefined;
  let first: unknown;
  for (const p of parts) {
    try {
      if (isReservation(p.handle)) p.handle[Symbol.dispose]();
      else (p.handle as SyncBudgetPermit).releaseSync();
    } catch (error) {
      if (failed === undefined) {
        failed = [];
        first = error;
      }
      failed.push(p);
    }
  }
  return failed === undefined ? undefined : { parts: failed, error: first };
}

/** @internal {@link refundEachSync}, awaiting remote refunds. */
export async function refundEach(parts: readonly Part[]): Promise<Failed | undefined> {
  const results = await settleEach(parts, (p) =>
    isReservation(p.handle) ? p.handle[Symbol.asyncDispose]() : releasePart(p, p.handle),
  );
  return failures(parts, results);
}

/** Releases a part's permit, and an overage permit a failed settle left (see `overages`). */
async function releasePart(p: Part, permit: BudgetPermit): Promise<void> {
  const kept = overages.get(p);
  if (kept !== undefined) {
    await kept.release();
    overages.delete(p);
  }
  await permit.release();
}

/** @internal The parts whose result is a rejection, with the first reason. */
export function failures(
  parts: readonly Part[],
  results: readonly PromiseSettledResult<unknown>[],
): Failed | undefined {
  const failed = parts.filter((_, i) => results[i]!.status === 'rejected');
  if (failed.length === 0) return undefined;
  const first = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
  return { parts: failed, error: first.reason };
}

/**
 * @internal The error a settle or cancel throws when a dimension failed: a `BudgetError`
 * naming the dimension (the member's own code when it threw one, else `BACKEND`), with the
 * member's error as `cause`; `then` says what the dispatch is left with.
 */
export function dimensionFailure(error: unknown, dimension: string, then: string): BudgetError {
  const why = error instanceof Error ? error.message : String(error);
  return new BudgetError({
    code: BudgetError.isInstance(error) ? error.code : 'BACKEND',
    message: `dimension ${dimension} failed: ${why}; ${then}`,
    cause: error,
    details: { dimension },
  });
}

/**
 * @internal Whether an attempt that threw on `p` may still have something to do there. A
 * reservation recorded or refunded is done, whatever was thrown after; a permit is kept (its
 * second commit or release is `false` and harmless, and an overage may be left to take).
 */
export const unfinished = (p: Part): boolean => !(isReservation(p.handle) && isClosed(p.handle));

/** @internal Classifies and validates a coordinator's dimensions. */
export function toDims(dimensions: unknown): Dim[] {
  if (typeof dimensions !== 'object' || dimensions === null || Array.isArray(dimensions)) {
    throw invalid(`coordinator expects a record of named budgets, got ${describe(dimensions)}`, {});
  }
  const dims: Dim[] = [];
  const seen = new Map<unknown, string>();
  for (const [name, budget] of Object.entries(dimensions)) {
    // The same budget behind a wrapper (a refill schedule, a token guard, a waiting line) is
    // the same budget: every dispatch would charge it twice.
    const identity = memberIdentity(budget);
    const first = seen.get(identity);
    if (first !== undefined) {
      throw invalid(`dimension ${name} is the same budget as dimension ${first}`, {
        dimension: name,
        duplicateOf: first,
      });
    }
    seen.set(identity, name);
    if (isTokenBudget(budget)) {
      dims.push({
        name,
        budget,
        tokens: true,
        sync: isSyncTokenBudget(budget),
        partial: true,
        pooled: true,
      });
    } else if (typeof (budget as PermitBudgetGuard | null)?.tryAcquire === 'function') {
      const guard = budget as PermitBudgetGuard;
      // Under-use is returned by a partial commit where the guard declares one; a guard that
      // does not is committed whole (its under-use stays charged until the next refill).
      const caps = capabilitiesOf(guard);
      dims.push({
        name,
        budget: guard,
        tokens: false,
        sync: isSyncGuard(guard),
        partial: caps.partialCommit,
        pooled: caps.countRelease,
      });
    } else {
      throw invalid(
        `dimension ${name} is not a budget guard or token budget: ${describe(budget)}`,
        {
          dimension: name,
        },
      );
    }
  }
  if (dims.length === 0) throw invalid('coordinator needs at least one dimension', {});
  refuseShared(dims);
  return dims;
}

/**
 * @internal Refuses dimensions of which two may charge one budget, one of them through an
 * all-of or any-of (`{ a: b, z: allOf({ b, x }) }`): every dispatch would charge it twice.
 */
export function refuseShared(dims: readonly Dim[]): void {
  const shared = sharedBudget(dims.map((d) => [d.name, d.budget] as const));
  if (shared === undefined) return;
  throw invalid(
    `dimension ${shared.name} charges a budget that dimension ${shared.first} charges too`,
    { dimension: shared.name, duplicateOf: shared.first },
  );
}
