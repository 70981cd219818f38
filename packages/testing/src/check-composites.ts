import fc from 'fast-check';
import { AdapterError } from './adapter-error.js';
import { amountArbitrary } from './amount-arbitraries.js';
import { type CheckOptions, type ResolvedOptions, resolveOptions } from './check-options.js';
import {
  type CheckSummary,
  describeError,
  fromFactory,
  type Judgement,
  type OpSpec,
  type Outcome,
  type Planned,
  runCheck,
  tearDown,
  World,
} from './engine.js';
import { FaultyMember, isInjectedFault } from './faulty-member.js';
import type { InvariantId } from './invariant-catalog.js';
import {
  type LedgerConfig,
  type LedgerState,
  ledgerAvailable,
  ledgerKey,
  ledgerReserve,
  ledgerSettle,
  openLedger,
} from './ledger.js';
import { describeValue, handleIndex } from './ledger-world.js';
import { mismatch } from './search.js';

/**
 * A handle on a composed reservation: released once; a second release refunds nothing.
 *
 * @example
 * ```ts
 * import type { ComposedHandle } from '@budgetry/testing';
 * const handle: ComposedHandle = { release: () => true };
 * ```
 */
export interface ComposedHandle {
  /** Returns the units to every node it charged. */
  release(): unknown;
}

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
  /** The optional `hop` accelerator; see `ConformanceContext.hop`. */
  hop(label?: string): Promise<void>;
  /**
   * Fresh in-process members with `capacities`, which the kit can make throw on their next
   * reservation. Build the composite over them and declare `faultyMembers: true` to have
   * member exceptions in the runs.
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

/**
 * Options of the composite checks: the common options, the node capacities and what the
 * composite can do.
 *
 * @example
 * ```ts
 * import type { CompositeCheckOptions } from '@budgetry/testing';
 * const options: CompositeCheckOptions = { capacities: [10, 6, 8], linearizable: false };
 * ```
 */
export interface CompositeCheckOptions extends CheckOptions {
  /** Member capacities (all-of, any-of; default `[10, 6]`) or `[parent, ...children]` (hierarchy; default `[12, 8, 6]`). */
  capacities?: readonly number[];
  /**
   * Each reservation takes effect at one instant (true of composites over synchronous
   * members; default `true`). Declare `false` over asynchronous members: denials are then
   * judged only for calls that ran alone, and `available()` is read only at rest.
   */
  linearizable?: boolean;
  /** The composite is built over `context.members`, which the kit may make throw. */
  faultyMembers?: boolean;
}

type Factory<S> = (context: CompositeContext) => S | Promise<S>;
type V = readonly LedgerState[];

interface Held {
  readonly id: number;
  readonly object: ComposedHandle;
  readonly charge: readonly number[];
  releases: number;
}

class CompositeWorld extends World<V> {
  readonly held: Held[] = [];
  nextId = 0;
  denials = 0;
  faults = 0;
  rereleases = 0;
  constructor(
    scheduler: fc.Scheduler,
    readonly spec: Spec<unknown>,
    readonly configs: readonly LedgerConfig[],
    linearizable: boolean,
  ) {
    super(
      scheduler,
      configs.map(() => openLedger()),
      (v) => v.map(ledgerKey).join('/'),
      linearizable,
    );
  }
  free(v: V): number[] {
    return v.map((s, i) => ledgerAvailable(this.configs[i]!, s));
  }
}

/** What differs between all-of, any-of and hierarchy. */
interface Spec<R> {
  readonly kind: string;
  readonly ids: { charge: InvariantId; denial: InvariantId; release: InvariantId };
  readonly capacities: readonly number[];
  readonly subject: { tryAcquire(...args: never[]): unknown; available(): unknown };
  readonly members: readonly FaultyMember[] | undefined;
  request(maxCost: number): fc.Arbitrary<R>;
  label(request: R): string;
  call(request: R): unknown;
  /** The charge vector of a grant, or why the handle is wrong. */
  charge(request: R, handle: object): readonly number[] | string;
  /** Whether a denial is explained by these free units. */
  deniable(request: R, free: readonly number[]): boolean;
}

function acquireOp<R>(request: R, fault: number | undefined): OpSpec<V, CompositeWorld> {
  return {
    text: '',
    applicable: () => true,
    plan(world): Planned<V> {
      const spec = world.spec as Spec<R>;
      const member = fault === undefined ? undefined : spec.members?.[fault];
      const label =
        member === undefined
          ? spec.label(request)
          : `${spec.label(request)} with member ${fault} failing`;
      const judge = (outcome: Outcome): Judgement<V> => {
        member?.disarm();
        if (!outcome.ok) {
          if (isInjectedFault(outcome.error)) {
            world.faults++;
            return { kind: 'step', shown: 'the injected failure', step: (v) => [v] };
          }
          return {
            kind: 'fail',
            mismatch: mismatch(`${label} failed: ${describeError(outcome.error)}`, spec.ids.charge),
          };
        }
        const value = outcome.value;
        if (value === null || value === undefined) {
          world.denials++;
          return {
            kind: 'step',
            shown: 'denied',
            step: (v, exact) => {
              const free = world.free(v);
              if (!exact || spec.deniable(request, free)) return [v];
              return mismatch(
                `${label} was denied with free units [${free.join(', ')}]`,
                spec.ids.denial,
              );
            },
          };
        }
        if (typeof value !== 'object' || typeof (value as ComposedHandle).release !== 'function') {
          throw new AdapterError(
            `tryAcquire resolved ${describeValue(value)}; expected a handle with release() or null`,
            { member: 'tryAcquire' },
          );
        }
        const charge = spec.charge(request, value);
        if (typeof charge === 'string')
          return { kind: 'fail', mismatch: mismatch(charge, spec.ids.charge) };
        const id = world.nextId++;
        world.held.push({ id, object: value as ComposedHandle, charge, releases: 0 });
        return {
          kind: 'step',
          shown: `#${id}`,
          step: (v) => {
            const next: LedgerState[] = [];
            for (const [i, s] of v.entries()) {
              const c = charge[i]!;
              const config = world.configs[i]!;
              const after = c === 0 ? s : ledgerReserve(config, s, c, id);
              if (after === undefined) {
                return mismatch(
                  `${label} was granted although node ${i} had only ${ledgerAvailable(config, s)} of ${config.capacity} free`,
                  spec.ids.charge,
                );
              }
              next.push(after);
            }
            return [next];
          },
        };
      };
      return {
        label,
        start: () => {
          member?.failNext();
          return spec.call(request);
        },
        judge,
      };
    },
  };
}

function releaseOp(index: number): OpSpec<V, CompositeWorld> {
  return {
    text: `release(#${index})`,
    applicable: (world) => index < world.held.length,
    plan(world) {
      // Counted from the newest, skipped when missing: see LedgerWorld.pick.
      const h = world.held[world.held.length - 1 - index];
      if (h === undefined) return undefined;
      if (h.releases++ > 0) world.rereleases++;
      const label = `release(#${h.id}: [${h.charge.join(', ')}])${h.releases > 1 ? ' again' : ''}`;
      const effect = (v: V): readonly V[] => [
        v.map((s, i) => ledgerSettle(world.configs[i]!, s, h.id, h.charge[i]!, 0, false) ?? s),
      ];
      return {
        label,
        start: () => h.object.release(),
        judge: (outcome): Judgement<V> =>
          outcome.ok
            ? { kind: 'step', shown: 'done', step: effect }
            : {
                kind: 'fail',
                mismatch: mismatch(
                  `${label} failed: ${describeError(outcome.error)}`,
                  world.spec.ids.release,
                ),
              },
      };
    },
  };
}

function readOp(): OpSpec<V, CompositeWorld> {
  return {
    text: 'available()',
    applicable: () => true,
    plan(world) {
      const { spec } = world;
      const blame =
        world.rereleases > 0
          ? spec.ids.release
          : world.faults > 0 || world.denials > 0
            ? spec.ids.denial
            : world.held.some((h) => h.releases > 0)
              ? spec.ids.release
              : spec.ids.charge;
      return {
        label: 'available()',
        start: () => spec.subject.available(),
        judge: (outcome): Judgement<V> => {
          if (!outcome.ok) {
            return {
              kind: 'fail',
              mismatch: mismatch(`available() failed: ${describeError(outcome.error)}`, blame),
            };
          }
          const value = outcome.value;
          if (
            !Array.isArray(value) ||
            value.length !== spec.capacities.length ||
            value.some((x) => typeof x !== 'number')
          ) {
            throw new AdapterError(
              `available() returned ${describeValue(value)}; expected ${spec.capacities.length} numbers, one per node`,
              { member: 'available' },
            );
          }
          const shown = `[${value.join(', ')}]`;
          return {
            kind: 'step',
            shown,
            read: true,
            step: (v) => {
              const want = world.free(v);
              return want.every((x, i) => x === value[i])
                ? [v]
                : mismatch(
                    `available() returned ${shown}; the ledgers say [${want.join(', ')}]`,
                    blame,
                  );
            },
          };
        },
      };
    },
  };
}

async function runComposite<R>(
  makeSpec: (hop: (label?: string) => Promise<void>) => Promise<Spec<R>>,
  options: CompositeCheckOptions,
): Promise<CheckSummary> {
  // Composites take one capacity per node and have no invalid-amount or refill mix: say so
  // rather than ignore the option.
  for (const key of ['capacity', 'focus'] as const) {
    if (options[key] !== undefined) {
      throw new TypeError(
        `composite checks do not take '${key}'${key === 'capacity' ? ': pass capacities, one per node' : ''}`,
      );
    }
  }
  const resolved: ResolvedOptions = resolveOptions(options);
  const linearizable = options.linearizable ?? true;
  const probe = await makeSpec(async () => {});
  const capacities = probe.capacities;
  const configs: LedgerConfig[] = capacities.map((capacity) => ({
    capacity,
    policy: 'reset',
    maxDebt: Number.POSITIVE_INFINITY,
  }));
  const maxCost = options.cost?.max ?? Math.max(...capacities) + 2;
  const request = probe.request(maxCost);
  const faulty = probe.members !== undefined;
  const ops = fc.oneof(
    { weight: 4, arbitrary: request.map((r) => acquireOp(r, undefined)) },
    {
      weight: faulty ? 2 : 0,
      arbitrary: fc.tuple(request, fc.nat(capacities.length - 1)).map(([r, k]) => acquireOp(r, k)),
    },
    { weight: 3, arbitrary: handleIndex().map((i) => releaseOp(i)) },
    { weight: linearizable ? 1 : 0, arbitrary: fc.constant(readOp()) },
  );
  const reads = [readOp()];
  return runCheck<V, CompositeWorld>({
    subject: `${probe.kind} "${options.name ?? probe.kind}"`,
    check: resolved.focus,
    options: resolved,
    ops,
    createWorld: async (scheduler) => {
      let world: CompositeWorld | undefined;
      const spec = await makeSpec((label) =>
        world === undefined ? Promise.resolve() : world.hop(label),
      );
      world = new CompositeWorld(scheduler, spec as Spec<unknown>, configs, linearizable);
      return world;
    },
    atRest: () => reads,
    finish: async () => {},
    teardown: (world) => tearDown(resolved.teardown, world.spec.subject),
  });
}

function capacitiesOf(options: CompositeCheckOptions, fallback: readonly number[]): number[] {
  const capacities = [...(options.capacities ?? fallback)];
  if (capacities.length === 0 || capacities.some((c) => !Number.isSafeInteger(c) || c < 0)) {
    throw new RangeError(
      `capacities must be non-negative safe integers, got [${capacities.join(', ')}]`,
    );
  }
  return capacities;
}

async function build<S>(
  factory: Factory<S>,
  capacities: readonly number[],
  hop: (label?: string) => Promise<void>,
  faultyMembers: boolean,
): Promise<{ subject: S; members: readonly FaultyMember[] | undefined }> {
  const members = capacities.map((c) => new FaultyMember(c));
  let used = false;
  const subject = await fromFactory(() =>
    factory({
      // A copy per run: what a factory does to it cannot change the kit's own record.
      capacities: [...capacities],
      hop,
      get members() {
        used = true;
        return members;
      },
    }),
  );
  if (faultyMembers && !used) {
    throw new AdapterError(
      'faultyMembers is declared, but the factory never read context.members: build the composite over them',
      { member: 'members' },
    );
  }
  for (const m of ['tryAcquire', 'available']) {
    if (typeof (subject as Record<string, unknown>)[m] !== 'function') {
      throw new AdapterError(`the composite has no method ${m}()`, { member: m });
    }
  }
  return { subject, members: faultyMembers ? members : undefined };
}

/**
 * Checks an all-of combinator (AO1–AO3): a success charges every member its cost, a denial
 * or a member's exception leaves every member where it was, and a release frees each member
 * exactly once. Costs are drawn per member up to the largest capacity plus two, so every
 * member can deny alone.
 *
 * @param factory - builds the combinator over fresh members with `context.capacities`.
 * @param options - common options, capacities, `linearizable`, `faultyMembers`.
 * @returns a summary (runs made, whether `timeLimitMs` cut the check short, time taken).
 * @throws ConformanceError for the first invariant a run breaks.
 *
 * @example
 * ```ts
 * import { checkAllOf } from '@budgetry/testing';
 * // await checkAllOf(({ members }) => myAllOfAdapter(members), { faultyMembers: true });
 * ```
 */
export function checkAllOf(
  factory: Factory<AllOfSubject>,
  options: CompositeCheckOptions = {},
): Promise<CheckSummary> {
  const capacities = capacitiesOf(options, [10, 6]);
  return runComposite<number[]>(async (hop) => {
    const { subject, members } = await build(
      factory,
      capacities,
      hop,
      options.faultyMembers === true,
    );
    return {
      kind: 'all-of',
      ids: { charge: 'AO1', denial: 'AO2', release: 'AO3' },
      capacities,
      subject,
      members,
      request: (max) =>
        fc.array(amountArbitrary(0, max), {
          minLength: capacities.length,
          maxLength: capacities.length,
        }),
      label: (costs) => `tryAcquire([${costs.join(', ')}])`,
      // A copy per call: a subject that writes to its argument cannot change what the kit
      // checks the call against, nor what a replay of the same commands sends.
      call: (costs) => subject.tryAcquire([...costs]),
      charge: (costs) => costs,
      deniable: (costs, free) => costs.some((c, i) => c > free[i]!),
    };
  }, options);
}

/**
 * Checks an any-of combinator (AN1–AN3): a success charges exactly the member the handle
 * names (`handle.member`), a denial charges none and happens only when no member could
 * serve, and a release refunds that member once.
 *
 * @param factory - builds the combinator over fresh members with `context.capacities`.
 * @param options - common options, capacities, `linearizable`, `faultyMembers`.
 * @returns a summary (runs made, whether `timeLimitMs` cut the check short, time taken).
 * @throws ConformanceError for the first invariant a run breaks.
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
): Promise<CheckSummary> {
  const capacities = capacitiesOf(options, [10, 6]);
  return runComposite<number>(async (hop) => {
    const { subject, members } = await build(
      factory,
      capacities,
      hop,
      options.faultyMembers === true,
    );
    return {
      kind: 'any-of',
      ids: { charge: 'AN1', denial: 'AN2', release: 'AN3' },
      capacities,
      subject,
      members,
      request: (max) => amountArbitrary(0, max),
      label: (cost) => `tryAcquire(${cost})`,
      call: (cost) => subject.tryAcquire(cost),
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
    };
  }, options);
}

/**
 * Checks a parent with children (HI1–HI3): a child reservation also charges the parent, a
 * denial on either side rolls back both, and the parent never holds more than its capacity.
 *
 * @param factory - builds the tree with `context.capacities` = `[parent, ...children]`.
 * @param options - common options, capacities, `linearizable`, `faultyMembers`.
 * @returns a summary (runs made, whether `timeLimitMs` cut the check short, time taken).
 * @throws ConformanceError for the first invariant a run breaks.
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
): Promise<CheckSummary> {
  const capacities = capacitiesOf(options, [12, 8, 6]);
  const children = capacities.length - 1;
  if (children < 1) throw new RangeError('a hierarchy needs a parent and at least one child');
  return runComposite<[number | null, number]>(async (hop) => {
    const { subject, members } = await build(
      factory,
      capacities,
      hop,
      options.faultyMembers === true,
    );
    return {
      kind: 'hierarchy',
      ids: { charge: 'HI1', denial: 'HI2', release: 'HI3' },
      capacities,
      subject,
      members,
      request: (max) =>
        fc.tuple(fc.option(fc.nat(children - 1), { nil: null }), amountArbitrary(0, max)),
      label: ([child, cost]) =>
        `tryAcquire(${child === null ? 'parent' : `child ${child}`}, ${cost})`,
      call: ([child, cost]) => subject.tryAcquire(child, cost),
      charge: ([child, cost]) =>
        capacities.map((_, i) => (i === 0 || (child !== null && i === child + 1) ? cost : 0)),
      deniable: ([child, cost], free) =>
        cost > free[0]! || (child !== null && cost > free[child + 1]!),
    };
  }, options);
}
