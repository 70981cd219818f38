import type { InvariantId } from './invariant-catalog.js';

/** @internal Why an operation's observed outcome cannot follow a given state. */
export interface Mismatch {
  readonly reason: string;
  readonly blame: InvariantId;
}

/** @internal A {@link Mismatch}: `reason`, blamed on invariant `blame`. */
export function mismatch(reason: string, blame: InvariantId): Mismatch {
  return { reason, blame };
}

/**
 * @internal One completed call of a history segment, as the search sees it: its window in
 * the harness's logical time and what it did to the model, given what it was observed to do.
 */
export interface SearchOp<S> {
  readonly label: string;
  /** Logical time the call was made. */
  readonly inv: number;
  /** Logical time its outcome reached the harness. */
  readonly res: number;
  /** Indeterminate (timed out): it may have taken effect or not. */
  readonly optional: boolean;
  /** The states that can follow `state` given the observed outcome, or why none can. */
  step(state: S): readonly S[] | Mismatch;
}

/** @internal The closest the search came to explaining a segment, when it could not. */
export interface SearchFailure {
  /** The operation that could not be placed next. */
  readonly op: number;
  readonly mismatch: Mismatch;
  /** Operations placed before it, in order. */
  readonly before: readonly number[];
  /** Other reasons the same operation failed after as many others (other orders, other states). */
  readonly others: readonly string[];
}

/** @internal The states a segment can end in, or the failure. */
export type SearchResult<S> =
  | { readonly ok: true; readonly states: readonly S[]; readonly overflow: boolean }
  | { readonly ok: false; readonly failure: SearchFailure };

/** @internal The most operations one segment may hold (a bit each in a 31-bit mask). */
export const MAX_SEGMENT = 30;

/**
 * @internal The longest one search may run, in ms. Overlapping calls whose outcome is unknown
 * (lost replies) each may or may not have happened, and every step copies a ledger state: a
 * search of 9 calls from 66 states once took a minute, holding the event loop until the run's
 * time limit named the calls in flight as hung. Past it the search reports an overflow and the
 * rest of the run is not judged, as for too many end states. Passing suites' longest searches
 * visit about 300 000 (placed, state) pairs in well under a second.
 */
export const MAX_SEARCH_MS = 5_000;

/**
 * @internal Finds every model state a history segment can end in: each order of its
 * operations that respects real time (a call that returned before another was made comes
 * first) and explains every observed outcome, from each state of the frontier. This is a
 * linearizability check in the manner of Wing and Gong, memoized on (operations placed,
 * model state), so overlapping calls cost 2^n rather than n!, and bounded: past `limit` end
 * states or {@link MAX_SEARCH_MS}, it reports an `overflow`.
 */
export function linearize<S>(
  frontier: readonly S[],
  ops: readonly SearchOp<S>[],
  key: (state: S) => string,
  limit = 512,
): SearchResult<S> {
  const n = ops.length;
  if (n > MAX_SEGMENT) throw new RangeError(`a segment of ${n} operations is too long to search`);
  const all = (1 << n) - 1;
  const before = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i !== j && ops[j]!.res < ops[i]!.inv) before[i]! |= 1 << j;
    }
  }
  const seen = new Set<string>();
  const results = new Map<string, S>();
  let best: SearchFailure | undefined;
  let overflow = false;
  const path: number[] = [];

  const deadline = Date.now() + MAX_SEARCH_MS;
  let visits = 0;
  const visit = (state: S, mask: number): void => {
    if (overflow) return;
    if ((++visits & 1023) === 0 && Date.now() > deadline) {
      overflow = true;
      return;
    }
    const k = key(state);
    if (mask === all) {
      if (!results.has(k)) {
        if (results.size >= limit) overflow = true;
        else results.set(k, state);
      }
      return;
    }
    const memo = `${mask}#${k}`;
    if (seen.has(memo)) return;
    seen.add(memo);
    for (let i = 0; i < n; i++) {
      const bit = 1 << i;
      if ((mask & bit) !== 0 || (before[i]! & ~mask) !== 0) continue;
      const op = ops[i]!;
      if (op.optional) visit(state, mask | bit);
      const step = op.step(state);
      if (isMismatch(step)) {
        if (best === undefined || path.length > best.before.length) {
          best = { op: i, mismatch: step, before: path.slice(), others: [] };
        } else if (
          path.length === best.before.length &&
          best.op === i &&
          step.reason !== best.mismatch.reason &&
          !best.others.includes(step.reason) &&
          best.others.length < 4
        ) {
          (best.others as string[]).push(step.reason);
        }
        continue;
      }
      path.push(i);
      for (const next of step) visit(next, mask | bit);
      path.pop();
    }
  };

  for (const state of frontier) visit(state, 0);
  if (results.size > 0 || overflow) return { ok: true, states: [...results.values()], overflow };
  return {
    ok: false,
    failure: best ?? {
      op: 0,
      mismatch: { reason: 'no state to start from', blame: 'G3' },
      before: [],
      others: [],
    },
  };
}

function isMismatch<S>(step: readonly S[] | Mismatch): step is Mismatch {
  return !Array.isArray(step);
}
