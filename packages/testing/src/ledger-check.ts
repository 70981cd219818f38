import fc from 'fast-check';
import { amountArbitrary } from './amount-arbitraries.js';
import type { CheckReport } from './check-guard.js';
import { type CheckOptions, resolveOptions } from './check-options.js';
import { type FaultyMember, isInjectedFault } from './faulty-member.js';
import type { InvariantId } from './invariant-catalog.js';
import { runInvariants } from './run-invariant.js';
import { describeError, ScheduledWorld, WorldCommand } from './scheduled-world.js';

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

/** @internal What a composite check needs from its adapter. */
export interface LedgerSpec<R> {
  kind: string;
  ids: { charge: InvariantId; denial: InvariantId; release: InvariantId; bound?: InvariantId };
  capacities: number[];
  request: (maxCost: number) => fc.Arbitrary<R>;
  label: (request: R) => string;
  acquire: (request: R) => Promise<unknown>;
  /** The charge vector of a granted request, or a message when the handle is wrong. */
  charge: (request: R, handle: unknown) => number[] | string;
  /** Whether a denial is explained by the free units of each node (sequential case). */
  deniable: (request: R, free: number[]) => boolean;
  available: () => Promise<readonly number[]>;
  /** Members the kit can make fail, when the adapter built the composite over them. */
  members?: readonly FaultyMember[];
  /** Bound invariant: extra check of the held vector (hierarchy: parent ≤ capacity). */
  bound?: (held: number[]) => string | undefined;
}

interface Held {
  readonly handle: ComposedHandle;
  readonly charge: number[];
  released: boolean;
}

class LedgerWorld<R> extends ScheduledWorld {
  readonly held: Held[] = [];
  inflight = 0;
  started = 0;
  successes = 0;
  denials = 0;
  rereleases = 0;
  faults = 0;
  constructor(
    scheduler: fc.Scheduler,
    active: ReadonlySet<InvariantId>,
    readonly spec: LedgerSpec<R>,
  ) {
    super(scheduler, active);
  }
  heldVector(): number[] {
    const v = this.spec.capacities.map(() => 0);
    for (const h of this.held) {
      if (h.released) continue;
      for (const [i, c] of h.charge.entries()) v[i]! += c;
    }
    return v;
  }
}

/** @internal A scheduled differential check of a composite over a vector of nodes. */
export async function checkLedger<R>(
  makeSpec: (hop: (label?: string) => Promise<void>) => Promise<LedgerSpec<R>>,
  all: InvariantId[],
  options: CheckOptions,
): Promise<CheckReport> {
  const resolved = resolveOptions(options);
  const probe = await makeSpec(async () => {});
  const ids = (options.invariants ?? all).filter((id) => all.includes(id));
  type W = LedgerWorld<R>;
  const acquireCommand = (request: R, fault: number | undefined) => {
    const label =
      fault === undefined
        ? probe.label(request)
        : `${probe.label(request)} with member ${fault} failing`;
    return new WorldCommand<W>(
      label,
      () => true,
      (world) => {
        const alone = world.inflight === 0;
        const startedBefore = ++world.started;
        const free = world.spec.capacities.map((c, i) => c - world.heldVector()[i]!);
        world.inflight++;
        const member = fault === undefined ? undefined : world.spec.members?.[fault];
        world.track(
          label,
          async () => {
            member?.failNext();
            try {
              return await world.spec.acquire(request);
            } finally {
              member?.disarm();
            }
          },
          (outcome) => {
            world.inflight--;
            if (!outcome.ok) {
              // An injected member failure may surface; the members must then be unchanged.
              if (isInjectedFault(outcome.error)) {
                world.faults++;
                return;
              }
              return world.fail(
                '*',
                `${world.spec.label(request)} failed: ${describeError(outcome.error)}`,
              );
            }
            const handle = outcome.value;
            const { ids: w } = world.spec;
            if (handle === null || handle === undefined) {
              world.denials++;
              if (alone && world.started === startedBefore && member === undefined) {
                world.expect(
                  world.spec.deniable(request, free),
                  [w.denial],
                  () =>
                    `${world.spec.label(request)} was denied with free units ${JSON.stringify(free)}`,
                );
              }
              return;
            }
            world.successes++;
            const charge = world.spec.charge(request, handle);
            if (typeof charge === 'string') return world.fail([w.charge], charge);
            world.held.push({ handle: handle as ComposedHandle, charge, released: false });
            const held = world.heldVector();
            const over = held.findIndex((h, i) => h > world.spec.capacities[i]!);
            world.expect(
              over < 0,
              [w.bound ?? w.charge, w.charge],
              () => `node ${over} holds ${held[over]} of ${world.spec.capacities[over]}`,
            );
            const extra = world.spec.bound?.(held);
            if (extra !== undefined && w.bound !== undefined) world.fail([w.bound], extra);
          },
        );
      },
    );
  };
  const request = probe.request(resolved.maxCost);
  const faulty = probe.members !== undefined && probe.members.length > 0;
  const commands: fc.Arbitrary<fc.AsyncCommand<W, W>>[] = [
    request.map((r) => acquireCommand(r, undefined)),
    ...(faulty
      ? [
          fc
            .tuple(request, fc.nat(probe.capacities.length - 1))
            .map(([r, k]) => acquireCommand(r, k)),
        ]
      : []),
    fc.nat(7).map(
      (index) =>
        new WorldCommand<W>(
          `release(#${index})`,
          (world) => world.held.length > 0,
          (world) => {
            const h = world.held[index % world.held.length]!;
            world.started++;
            if (h.released) world.rereleases++;
            h.released = true;
            world.inflight++;
            world.track(
              `release`,
              () => h.handle.release(),
              (outcome) => {
                world.inflight--;
                if (!outcome.ok) world.fail('*', `release failed: ${describeError(outcome.error)}`);
              },
            );
          },
        ),
    ),
  ];
  await runInvariants(
    ids,
    (invariant) => ({
      invariant,
      subject: `${probe.kind}`,
      options: resolved,
      commands,
      createWorld: async (scheduler, active) => {
        let world: W | undefined;
        const spec = await makeSpec((label) =>
          world === undefined ? Promise.resolve() : world.hop(label),
        );
        world = new LedgerWorld(scheduler, active, spec);
        return world;
      },
      quiescence: async (world) => {
        const read = await world.settle(() => world.spec.available());
        if (!read.ok) return world.fail('*', `available() failed: ${describeError(read.error)}`);
        const held = world.heldVector();
        const want = world.spec.capacities.map((c, i) => c - held[i]!);
        const { ids: w } = world.spec;
        const blame: InvariantId[] = world.faults > 0 ? [w.denial] : [];
        if (world.denials > 0) blame.push(w.denial);
        if (world.successes > 0) blame.push(w.charge);
        if (world.rereleases > 0 || world.held.some((h) => h.released)) blame.push(w.release);
        if (w.bound !== undefined) blame.push(w.bound);
        world.expect(
          JSON.stringify(read.value) === JSON.stringify(want),
          blame,
          () =>
            `available per node ${JSON.stringify(read.value)} at quiescence, expected ${JSON.stringify(want)}`,
        );
      },
    }),
    options.invariants !== undefined,
  );
  return { passed: ids, skipped: (options.invariants ?? []).filter((id) => !all.includes(id)) };
}

/** @internal Arbitrary of a cost vector. */
export function costVector(n: number, max: number): fc.Arbitrary<number[]> {
  return fc.array(amountArbitrary(0, max), { minLength: n, maxLength: n });
}
