import { assertAmount, BudgetError, type BudgetPermit, TokenReservation } from '@budgetry/core';
import { isCoordinator } from './coordinator-like.js';
import { checkAcquireOptions, describe, invalid } from './invalid.js';
import { PhantomPermit, phantoms } from './phantom.js';
import { hasMethod, type Overrides, withOverrides } from './proxy.js';
import {
  epochOf,
  hintOf,
  isCallerError,
  registerShadow,
  type ShadowOptions,
  type ShadowState,
  shadowStateFor,
} from './shadow-state.js';

type Fn = (...args: never[]) => unknown;
type Target = Record<string, Fn>;

/**
 * Run a budget in shadow mode: every decision is made by the budget (the policy) and
 * exported, and none is enforced. A reservation the policy grants is an ordinary one; a
 * reservation it denies — or fails on — goes ahead anyway on a phantom handle that holds
 * nothing on the policy, and is reported as a `pass`; when that handle settles, what the work
 * used is reported as a `pass-settle`. The detailed reservations of an all-of, an any-of or a
 * hierarchy node (`tryAcquireDetailed…`, `tryAcquireEach…`) answer a pass as a grant too,
 * `{ ok: true, permit }`, and the `pass` says what the policy said: `deniedBy`, `retryAfterMs`,
 * `exceedsCapacity`.
 *
 * What "never deny" means for the accounting: the policy's own counts stay honest — it is
 * charged exactly what it admitted, as if it were enforcing, so its `available()`, debt,
 * metrics and threshold alerts show what enforcing it would have shown; the work it would
 * have refused is counted beside it (`pass` and `pass-settle`), never charged to it. Nothing
 * the shadow does can fail the work: `tryReserve…` always grants, `acquire` never waits, and a
 * policy that throws (a backend down, a closed budget) is reported, not rethrown. The
 * caller's own mistakes still throw as they would when enforced, changing nothing: an invalid
 * amount, a foreign or settled handle, an aborted signal, `acquire` options a waiting line
 * would refuse (checked here, since a shadow never waits), a strict over-release.
 *
 * The count API (`tryReserve(cost)` / `release(cost)`) cannot say which reservation a release
 * ends; a release returns units the policy granted through this shadow first, then phantom
 * ones, and passes anything beyond both to the policy, which reports the over-release.
 *
 * When to use: to watch a new policy (a tenant cap, a lower TPM) on real traffic before
 * enforcing it. Put the shadow where the enforcing budget will go — alone, or as a dimension
 * of a coordinator to enforce some dimensions and shadow others — and watch it with
 * `BudgetTelemetry.watch` or {@link watchThresholds}.
 *
 * @param budget - the policy: a guard, a token budget or a waiting guard.
 * @param options - a name, and an observer for {@link ShadowEvent}s.
 * @returns a budget of the same type that never denies; every member it does not change is
 * the policy's own.
 * @throws BudgetError `INVALID_ARGUMENT` for something that is not a budget (a coordinator
 * among them: shadow it with {@link shadowCoordinator}) or bad options.
 *
 * @example
 * ```ts
 * import { AtomicTokenBudget } from '@budgetry/core';
 * import { shadow } from '@budgetry/otel';
 *
 * const policy = new AtomicTokenBudget(1_000);
 * const tokens = shadow(policy, {
 *   name: 'tenant-cap',
 *   observer: (e) => {
 *     if (e.type === 'pass') console.log(`would deny ${e.cost}`);
 *   },
 * });
 * const r = tokens.tryReserveTokensSync(1_500)!; // "would deny 1500", granted anyway
 * tokens.recordUsageSync(r, 1_200, 100); // counted as a pass-settle, not charged
 * console.log(policy.available()); // 1000
 * ```
 */
export function shadow<B extends object>(budget: B, options: ShadowOptions): B {
  const state = shadowStateFor(budget, options, 'shadow');
  if (isCoordinator(budget)) {
    throw invalid(
      'shadow expects a budget, got a coordinator: shadow it with shadowCoordinator',
      {},
    );
  }
  const target = budget as unknown as Target;
  const methods = [
    'tryReserve',
    'tryAcquire',
    'tryReserveTokens',
    'tryReserveSync',
    'tryAcquireSync',
    'tryReserveTokensSync',
  ];
  if (!methods.some((m) => hasMethod(budget, m))) {
    throw invalid('shadow expects a guard or a token budget', {});
  }
  const all = overridesFor(target, budget, state);
  const overrides: Record<string, Fn> = {};
  for (const [name, fn] of Object.entries(all)) if (hasMethod(budget, name)) overrides[name] = fn;
  return registerShadow(withOverrides(budget, overrides), state);
}

function overridesFor(target: Target, budget: object, state: ShadowState): Overrides {
  const call = (name: string, ...args: unknown[]) =>
    (target[name] as unknown as (...a: unknown[]) => unknown).call(target, ...args);
  // Units of the count API granted through this shadow by the policy, and let through past it.
  let realCount = 0;
  let phantomCount = 0;
  const owner = {};

  const pass = (cost: number, error: unknown, denied: boolean) => {
    if (denied) {
      const retryAfterMs = hintOf(budget, cost);
      state.emit({
        type: 'pass',
        shadow: state.name,
        cost,
        reason: 'denied',
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      });
    } else {
      state.emit({ type: 'pass', shadow: state.name, cost, reason: 'failed', error });
    }
  };
  /** Reports a detailed denial as a pass, with what the policy said of it. */
  const passDecision = (cost: number, denial: Denial) => {
    const { deniedBy, retryAfterMs, exceedsCapacity } = denial;
    state.emit({
      type: 'pass',
      shadow: state.name,
      cost,
      reason: 'denied',
      ...(deniedBy === undefined ? {} : { deniedBy }),
      ...(typeof retryAfterMs === 'number' ? { retryAfterMs } : {}),
      ...(exceedsCapacity === true ? { exceedsCapacity } : {}),
    });
  };
  const settled = (cost: number, used: number) =>
    state.emit({ type: 'pass-settle', shadow: state.name, cost, used });
  const failure = (error: unknown) => {
    if (isCallerError(error)) throw error;
    state.emit({ type: 'failure', shadow: state.name, error });
  };
  const permit = (cost: number) => new PhantomPermit(cost, epochOf(budget), settled);
  const reservation = (estimate: number) => {
    const r = new TokenReservation({
      estimate,
      owner,
      epoch: epochOf(budget),
      backstop: false,
      refund: (amount) => settled(amount, 0),
    });
    phantoms.add(r);
    return r;
  };
  /** Decides one reservation: the policy's grant, or a pass. */
  const decide = <H>(cost: number, got: unknown, error: unknown, phantom: () => H): H => {
    if (error !== undefined) {
      if (isCallerError(error)) throw error;
      pass(cost, error, false);
      return phantom();
    }
    if (got !== null && got !== false) return got as H;
    pass(cost, undefined, true);
    return phantom();
  };
  /**
   * Decides one detailed reservation: the policy's grant as it is, or a pass that reads as a
   * grant (`{ ok: true, permit }`, the permit a phantom one).
   */
  const decideDetailed = (cost: number, got: unknown, error: unknown) => {
    const granted = () => ({ ok: true, permit: permit(cost) }) as const;
    if (error !== undefined) {
      if (isCallerError(error)) throw error;
      pass(cost, error, false);
      return granted();
    }
    const decision = (typeof got === 'object' && got !== null ? got : {}) as Denial;
    if (decision.ok === true) return got;
    passDecision(cost, decision);
    return granted();
  };
  const countGranted = (cost: number) => () => {
    phantomCount += cost;
    return true;
  };
  // A release takes its split at once, so a release running alongside splits what is left;
  // the policy refusing it (a strict over-release, the caller's mistake) puts it back.
  const countRelease = (cost: number) => {
    assertAmount(cost, 'cost');
    const fromReal = Math.min(cost, realCount);
    const fromPhantom = Math.min(cost - fromReal, phantomCount);
    realCount -= fromReal;
    phantomCount -= fromPhantom;
    return { toPolicy: cost - fromPhantom, fromReal, fromPhantom };
  };
  const releaseFailed = (split: { fromReal: number; fromPhantom: number }, error: unknown) => {
    if (isCallerError(error)) {
      realCount += split.fromReal;
      phantomCount += split.fromPhantom;
    }
    failure(error);
  };
  const released = (split: { fromPhantom: number }) => {
    if (split.fromPhantom > 0) settled(split.fromPhantom, 0);
  };
  const recorded = (r: unknown, prompt: number, completion: number): boolean => {
    if (!(r instanceof TokenReservation) || !r.isIssuedBy(owner)) return false;
    assertAmount(prompt, 'prompt');
    assertAmount(completion, 'completion');
    r.claim(owner);
    settled(r.estimate, prompt + completion);
    return true;
  };
  // The policy's answer to `name(arg)`, or what it threw; `arg` is checked before.
  const ask = (name: string, arg: unknown): { got: unknown; error: unknown } => {
    try {
      return { got: call(name, arg), error: undefined };
    } catch (error) {
      return { got: null, error: error ?? new Error('the policy threw undefined') };
    }
  };
  const askAsync = async (
    name: string,
    arg: unknown,
  ): Promise<{ got: unknown; error: unknown }> => {
    try {
      return { got: await call(name, arg), error: undefined };
    } catch (error) {
      return { got: null, error: error ?? new Error('the policy threw undefined') };
    }
  };
  const sync = (name: string, cost: number) => {
    assertAmount(cost, 'cost');
    return ask(name, cost);
  };
  const async = async (name: string, cost: number) => {
    assertAmount(cost, 'cost');
    return askAsync(name, cost);
  };

  return {
    tryReserveSync: ((cost: number) => {
      const { got, error } = sync('tryReserveSync', cost);
      if (got === true) realCount += cost;
      return decide(cost, got, error, countGranted(cost));
    }) as Fn,
    tryReserve: (async (cost: number) => {
      const { got, error } = await async('tryReserve', cost);
      if (got === true) realCount += cost;
      return decide(cost, got, error, countGranted(cost));
    }) as Fn,
    releaseSync: ((cost: number) => {
      const split = countRelease(cost);
      try {
        if (split.toPolicy > 0) call('releaseSync', split.toPolicy);
      } catch (error) {
        releaseFailed(split, error);
      }
      released(split);
    }) as Fn,
    release: (async (cost: number) => {
      const split = countRelease(cost);
      try {
        if (split.toPolicy > 0) await call('release', split.toPolicy);
      } catch (error) {
        releaseFailed(split, error);
      }
      released(split);
    }) as Fn,
    tryAcquireSync: ((cost: number) => {
      const { got, error } = sync('tryAcquireSync', cost);
      return decide(cost, got, error, () => permit(cost));
    }) as Fn,
    tryAcquire: (async (cost: number) => {
      const { got, error } = await async('tryAcquire', cost);
      return decide(cost, got, error, () => permit(cost));
    }) as Fn,
    acquire: (async (cost: number, options?: { signal?: AbortSignal }) => {
      // A shadow never waits: it asks the policy once, and lets the work through if it says no.
      // Options the line would refuse are the caller's mistake, refused here as there.
      assertAmount(cost, 'cost');
      checkAcquireOptions(options);
      if (options?.signal?.aborted) {
        throw new BudgetError({
          code: 'ABORTED',
          message: 'acquire aborted before it started',
          cause: options.signal.reason,
        });
      }
      const name = hasMethod(budget, 'tryAcquire') ? 'tryAcquire' : 'tryAcquireSync';
      const { got, error } = await async(name, cost);
      const denied = BudgetError.isInstance(error) && error.code === 'EXCEEDS_CAPACITY';
      return decide<BudgetPermit>(cost, denied ? null : got, denied ? undefined : error, () =>
        permit(cost),
      );
    }) as Fn,
    tryAcquireDetailedSync: ((cost: number) => {
      const { got, error } = sync('tryAcquireDetailedSync', cost);
      return decideDetailed(cost, got, error);
    }) as Fn,
    tryAcquireDetailed: (async (cost: number) => {
      const { got, error } = await async('tryAcquireDetailed', cost);
      return decideDetailed(cost, got, error);
    }) as Fn,
    tryAcquireEachSync: ((costs: unknown) => {
      const cost = totalOf(costs);
      const { got, error } = ask('tryAcquireEachSync', costs);
      return decideDetailed(cost, got, error);
    }) as Fn,
    tryAcquireEach: (async (costs: unknown) => {
      const cost = totalOf(costs);
      const { got, error } = await askAsync('tryAcquireEach', costs);
      return decideDetailed(cost, got, error);
    }) as Fn,
    tryReserveTokensSync: ((estimate: number) => {
      const { got, error } = sync('tryReserveTokensSync', estimate);
      return decide(estimate, got, error, () => reservation(estimate));
    }) as Fn,
    tryReserveTokens: (async (estimate: number) => {
      const { got, error } = await async('tryReserveTokens', estimate);
      return decide(estimate, got, error, () => reservation(estimate));
    }) as Fn,
    recordUsageSync: ((r: unknown, prompt: number, completion: number) => {
      if (recorded(r, prompt, completion)) return;
      try {
        call('recordUsageSync', r, prompt, completion);
      } catch (error) {
        failure(error);
      }
    }) as Fn,
    recordUsage: (async (r: unknown, prompt: number, completion: number) => {
      if (recorded(r, prompt, completion)) return;
      try {
        await call('recordUsage', r, prompt, completion);
      } catch (error) {
        failure(error);
      }
    }) as Fn,
  };
}

/** A detailed reservation's answer, read for a denial: who denied, and what they said. */
interface Denial {
  readonly ok?: unknown;
  readonly deniedBy?: string | number | readonly (string | number)[];
  readonly retryAfterMs?: unknown;
  readonly exceedsCapacity?: unknown;
}

/**
 * What per-member costs (`tryAcquireEach`: an array, or a record by member key, where a member
 * left out is charged 0) come to, checked as a combinator checks them before charging
 * anything; the policy checks the members they name.
 */
function totalOf(costs: unknown): number {
  if (typeof costs !== 'object' || costs === null) {
    throw invalid(`costs must be an array or a record of amounts, got ${describe(costs)}`);
  }
  let total = 0;
  for (const [key, amount] of Object.entries(costs)) {
    if (amount === undefined && !Array.isArray(costs)) continue;
    assertAmount(amount, Array.isArray(costs) ? `costs[${key}]` : `costs.${key}`);
    if (amount > Number.MAX_SAFE_INTEGER - total) {
      throw new BudgetError({
        code: 'INVALID_AMOUNT',
        message: 'costs must sum to at most 2^53−1 (the permit’s cost is their sum)',
        details: { name: 'costs', value: costs },
      });
    }
    total += amount;
  }
  return total;
}
