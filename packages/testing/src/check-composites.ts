import fc from 'fast-check';
import { amountArbitrary } from './amount-arbitraries.js';
import type { CheckReport } from './check-guard.js';
import type { CheckOptions } from './check-options.js';
import { FaultyMember } from './faulty-member.js';
import { type ComposedHandle, checkLedger, costVector } from './ledger-check.js';

/**
 * What a composite factory receives.
 *
 * @example
 * ```ts
 * import type { CompositeContext } from '@budgetry/testing';
 * const free = ({ members }: CompositeContext) => members.map((m) => m.available());
 * ```
 */
export interface CompositeContext {
  /** Capacities of the members (all-of, any-of) or `[parent, ...children]` (hierarchy). */
  readonly capacities: readonly number[];
  /** An await point whose order the scheduler chooses; see `ConformanceContext.hop`. */
  hop(label?: string): Promise<void>;
  /**
   * Fresh in-process members with `capacities`, which the kit can make throw. Build the
   * combinator over them (instead of your own members) and {@link checkAllOf} adds member
   * exceptions to its sequences (AO2). Reading this property is what opts in.
   */
  readonly members: readonly FaultyMember[];
}

/**
 * An all-of combinator under test, over members built with `context.capacities`.
 *
 * @example
 * ```ts
 * import type { AllOfSubject } from '@budgetry/testing';
 * const idle: AllOfSubject = { tryAcquire: () => null, available: () => [10, 6] };
 * ```
 */
export interface AllOfSubject {
  /** Reserve `costs[i]` on member `i`, all or nothing. */
  tryAcquire(costs: readonly number[]): Promise<ComposedHandle | null> | ComposedHandle | null;
  /** Each member's available units, in member order. */
  available(): readonly number[] | Promise<readonly number[]>;
}

/**
 * An any-of combinator under test: one member serves each request.
 *
 * @example
 * ```ts
 * import type { AnyOfSubject } from '@budgetry/testing';
 * const idle: AnyOfSubject = { tryAcquire: () => null, available: () => [10, 6] };
 * ```
 */
export interface AnyOfSubject {
  /** Reserve `cost` on some member; the handle names it by index. */
  tryAcquire(
    cost: number,
  ):
    | Promise<(ComposedHandle & { readonly member: number }) | null>
    | (ComposedHandle & { readonly member: number })
    | null;
  /** Each member's available units, in member order. */
  available(): readonly number[] | Promise<readonly number[]>;
}

/**
 * A parent with children under test (`capacities[0]` is the parent).
 *
 * @example
 * ```ts
 * import type { HierarchySubject } from '@budgetry/testing';
 * const idle: HierarchySubject = { tryAcquire: () => null, available: () => [12, 8, 6] };
 * ```
 */
export interface HierarchySubject {
  /** Reserve `cost` on child `child` (0-based) and its parent, or on the parent alone for `null`. */
  tryAcquire(
    child: number | null,
    cost: number,
  ): Promise<ComposedHandle | null> | ComposedHandle | null;
  /** `[parent, ...children]` available units. */
  available(): readonly number[] | Promise<readonly number[]>;
}

type Factory<S> = (context: CompositeContext) => S | Promise<S>;

/**
 * Options of the composite checks: the common options plus the node capacities.
 *
 * @example
 * ```ts
 * import type { CompositeCheckOptions } from '@budgetry/testing';
 * const options: CompositeCheckOptions = { capacities: [10, 6], numRuns: 500 };
 * ```
 */
export interface CompositeCheckOptions extends CheckOptions {
  /** Member capacities (all-of, any-of; default `[10, 6]`) or `[parent, ...children]` (hierarchy; default `[12, 8, 6]`). */
  capacities?: readonly number[];
}

/**
 * Checks an all-of combinator (AO1–AO3): a success charges every member, a denial or a
 * member's exception leaves every member where it was, and a release frees each member
 * exactly once. Build the combinator over `context.members` to have member exceptions
 * injected (a member throws on its next reservation; the combinator may rethrow or deny).
 *
 * @param factory - builds the combinator over fresh members with `context.capacities`.
 * @param options - common options and member capacities.
 * @returns passed and skipped invariants.
 * @throws ConformanceError for the first invariant that fails.
 *
 * @example
 * ```ts
 * import { checkAllOf } from '@budgetry/testing';
 * // await checkAllOf(({ capacities }) => myAllOfAdapter(capacities));
 * ```
 */
export function checkAllOf(
  factory: Factory<AllOfSubject>,
  options: CompositeCheckOptions = {},
): Promise<CheckReport> {
  const capacities = [...(options.capacities ?? [10, 6])];
  return checkLedger(
    async (hop) => {
      const members = capacities.map((c) => new FaultyMember(c));
      let used = false;
      const s = await factory({
        capacities,
        hop,
        get members() {
          used = true;
          return members;
        },
      });
      return {
        ...(used ? { members } : {}),
        kind: `all-of "${options.name ?? 'all-of'}"`,
        ids: { charge: 'AO1', denial: 'AO2', release: 'AO3' },
        capacities,
        request: (max) => costVector(capacities.length, max),
        label: (costs) => `tryAcquire([${costs.join(', ')}])`,
        acquire: async (costs) => s.tryAcquire(costs),
        charge: (costs) => [...costs],
        deniable: (costs, free) => costs.some((c, i) => c > free[i]!),
        available: async () => s.available(),
      };
    },
    ['AO1', 'AO2', 'AO3'],
    options,
  );
}

/**
 * Checks an any-of combinator (AN1–AN3): a success charges exactly the member the handle
 * names, a denial charges none and happens only when no member could serve.
 *
 * @param factory - builds the combinator over fresh members with `context.capacities`.
 * @param options - common options and member capacities.
 * @returns passed and skipped invariants.
 * @throws ConformanceError for the first invariant that fails.
 *
 * @example
 * ```ts
 * import { checkAnyOf } from '@budgetry/testing';
 * // await checkAnyOf(({ capacities }) => myAnyOfAdapter(capacities));
 * ```
 */
export function checkAnyOf(
  factory: Factory<AnyOfSubject>,
  options: CompositeCheckOptions = {},
): Promise<CheckReport> {
  const capacities = [...(options.capacities ?? [10, 6])];
  return checkLedger<number>(
    async (hop) => {
      const s = await factory({
        capacities,
        hop,
        members: capacities.map((c) => new FaultyMember(c)),
      });
      return {
        kind: `any-of "${options.name ?? 'any-of'}"`,
        ids: { charge: 'AN1', denial: 'AN2', release: 'AN3' },
        capacities,
        request: (max) => amountArbitrary(0, max),
        label: (cost) => `tryAcquire(${cost})`,
        acquire: async (cost) => s.tryAcquire(cost),
        charge: (cost, handle) => {
          const member = (handle as { member?: unknown }).member;
          if (
            typeof member !== 'number' ||
            !Number.isInteger(member) ||
            member < 0 ||
            member >= capacities.length
          ) {
            return `the handle of tryAcquire(${cost}) names member ${String(member)}`;
          }
          return capacities.map((_, i) => (i === member ? cost : 0));
        },
        deniable: (cost, free) => free.every((f) => cost > f),
        available: async () => s.available(),
      };
    },
    ['AN1', 'AN2', 'AN3'],
    options,
  );
}

/**
 * Checks a two-level hierarchy (HI1–HI3): a child reservation also charges the parent, a
 * denial on either side rolls back both, and the parent never holds more than its capacity.
 *
 * @param factory - builds the tree with `context.capacities` = `[parent, ...children]`.
 * @param options - common options and capacities.
 * @returns passed and skipped invariants.
 * @throws ConformanceError for the first invariant that fails.
 *
 * @example
 * ```ts
 * import { checkHierarchy } from '@budgetry/testing';
 * // await checkHierarchy(({ capacities }) => myTreeAdapter(capacities));
 * ```
 */
export function checkHierarchy(
  factory: Factory<HierarchySubject>,
  options: CompositeCheckOptions = {},
): Promise<CheckReport> {
  const capacities = [...(options.capacities ?? [12, 8, 6])];
  const children = capacities.length - 1;
  return checkLedger<[number | null, number]>(
    async (hop) => {
      const s = await factory({
        capacities,
        hop,
        members: capacities.map((c) => new FaultyMember(c)),
      });
      return {
        kind: `hierarchy "${options.name ?? 'hierarchy'}"`,
        ids: { charge: 'HI1', denial: 'HI2', release: 'HI2', bound: 'HI3' },
        capacities,
        request: (max) =>
          fc.tuple(fc.option(fc.nat(children - 1), { nil: null }), amountArbitrary(0, max)),
        label: ([child, cost]) =>
          `tryAcquire(${child === null ? 'parent' : `child ${child}`}, ${cost})`,
        acquire: async ([child, cost]) => s.tryAcquire(child, cost),
        charge: ([child, cost]) =>
          capacities.map((_, i) => (i === 0 || (child !== null && i === child + 1) ? cost : 0)),
        deniable: ([child, cost], free) =>
          cost > free[0]! || (child !== null && cost > free[child + 1]!),
        available: async () => s.available(),
      };
    },
    ['HI1', 'HI2', 'HI3'],
    options,
  );
}
