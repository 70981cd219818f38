// What checkGuard and checkTokenBudget share: build subjects through the user's factory
// (fresh, validated, torn down), name the subject, and run the ledger world.
import fc from 'fast-check';
import { type ResolvedCapabilities, validateSubject } from './capabilities.js';
import type { ResolvedOptions } from './check-options.js';
import {
  type CheckSummary,
  fromFactory,
  type Planned,
  requireFresh,
  runCheck,
  tearDown,
} from './engine.js';
import { FakeClock } from './fake-clock.js';
import type { LedgerConfig, LedgerState } from './ledger.js';
import {
  type Blames,
  type Handle,
  type LedgerOp,
  type LedgerWorld,
  probe,
  probeCommand,
  type SoakPath,
  soak,
} from './ledger-world.js';
import { ScheduleTwin } from './schedule-twin.js';

/**
 * What a factory receives: the capacity to build with and the harness's seams.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import type { ConformanceContext } from '@budgetry/testing';
 * const factory = ({ capacity, policy }: ConformanceContext) =>
 *   new AtomicBudget(capacity, { refillPolicy: policy });
 * ```
 */
export interface ConformanceContext {
  /** The capacity the subject must have. */
  readonly capacity: number;
  /**
   * An optional accelerator: an await point whose resumption order the kit's scheduler
   * picks. Budgets need not use it — the kit starts calls together and at staggered
   * microtask and macrotask offsets, so races behind any `await` are reached anyway — but
   * routing a backend's own round trips through it explores more interleavings per run.
   */
  hop(label?: string): Promise<void>;
  /** A fake clock; it only moves when the kit moves it (refill by clock) or the subject does. */
  readonly clock: FakeClock;
  /** The refill policy the subject must use, from the declared `refill` capability (default `reset`). */
  readonly policy: 'reset' | 'carry';
}

/** @internal The label of a subject in messages. */
export function subjectName(kind: string, name: string | undefined, probe: unknown): string {
  const fromClass = (probe as { constructor?: { name?: unknown } } | null)?.constructor?.name;
  const label =
    name ?? (typeof fromClass === 'string' && fromClass !== 'Object' ? fromClass : kind);
  return `${kind} "${label}"`;
}

/** @internal What a guard or token-budget check supplies to {@link runLedgerCheck}. */
export interface LedgerCheck<W extends LedgerWorld> {
  readonly kind: 'guard' | 'token budget';
  readonly factory: (context: ConformanceContext) => unknown;
  readonly name: string | undefined;
  readonly resolved: ResolvedOptions;
  readonly caps: ResolvedCapabilities;
  readonly blames: Blames;
  readonly ops: fc.Arbitrary<LedgerOp<W>>;
  readonly reads: readonly LedgerOp<W>[];
  /** The probe's reserve and how it gives back what it took. */
  readonly reserve: (amount: number) => LedgerOp<W>;
  readonly giveBack: (world: W, h: Handle) => Planned<LedgerState>;
  /** The paths the soak of a long run takes in turn (default: `reserve` and `giveBack`). */
  readonly soakPaths?: readonly SoakPath<W>[];
  /** Builds the run's world around a fresh subject; `build` makes further subjects. */
  world(args: {
    scheduler: fc.Scheduler;
    subject: unknown;
    build: () => Promise<unknown>;
    config: LedgerConfig;
    clock: FakeClock;
  }): Promise<W>;
  /** Checks after the probe, at the end of a run. */
  readonly after?: (world: W) => Promise<void>;
  /** Further subjects of a world to tear down (a token check's foreign budget). */
  readonly others?: (world: W) => readonly unknown[];
}

/** @internal Runs a guard or token-budget check. */
export async function runLedgerCheck<W extends LedgerWorld>(
  spec: LedgerCheck<W>,
): Promise<CheckSummary> {
  const { resolved, caps } = spec;
  const policy = caps.refill?.policy ?? 'reset';
  const seen = new WeakSet<object>();
  const build = async (hop: (label?: string) => Promise<void>, clock: FakeClock) => {
    const subject = await fromFactory(() =>
      spec.factory({ capacity: resolved.capacity, hop, clock, policy }),
    );
    validateSubject(subject, caps, spec.kind);
    requireFresh(seen, subject);
    return subject;
  };
  const first = await build(async () => {}, new FakeClock());
  const subject = subjectName(spec.kind, spec.name, first);
  await tearDown(resolved.teardown, first);
  const config = { capacity: resolved.capacity, policy, maxDebt: caps.maxDebt };
  const probeSteps =
    resolved.focus === 'probe' || !caps.available
      ? [{ weight: 2, arbitrary: fc.constant(probeCommand<W>(spec.reserve, spec.giveBack)) }]
      : [];
  return runCheck<LedgerState, W>({
    subject,
    check: resolved.focus,
    options: resolved,
    ops: spec.ops,
    steps: probeSteps,
    createWorld: async (scheduler) => {
      // The twin first, at the fake time the subject is built at, walked and torn down before
      // the subject exists; see ScheduleTwin.
      let twin: ScheduleTwin | undefined;
      if (caps.refill?.by === 'clock') {
        const twinClock = new FakeClock();
        const made = await build(async () => {}, twinClock);
        try {
          twin = ScheduleTwin.walk(made, twinClock);
        } finally {
          await tearDown(resolved.teardown, made);
        }
      }
      const clock = new FakeClock();
      let world: W | undefined;
      const hop = (label?: string) => (world === undefined ? Promise.resolve() : world.hop(label));
      const built = await build(hop, clock);
      world = await spec.world({
        scheduler,
        subject: built,
        build: () => build(async () => {}, new FakeClock()),
        config,
        clock,
      });
      world.twin = twin;
      return world;
    },
    atRest: () => spec.reads,
    finish: async (world) => {
      // Not for a subject whose replies may be lost: each lost reply costs its whole time
      // limit, and the ledger soon holds too many open branches to judge a soak by.
      if (resolved.focus === 'long' && !caps.timeouts) {
        // Until half the run's time has passed, counted from its start: the probe and the
        // teardown come after it.
        const paths = spec.soakPaths ?? [{ reserve: spec.reserve, giveBack: spec.giveBack }];
        await soak(world, paths, world.startedAt + resolved.timeoutMs / 2);
      }
      await probe(world, spec.reserve, spec.giveBack);
      if (world.ok() && spec.after !== undefined) await spec.after(world);
    },
    teardown: async (world) => {
      for (const s of [world.subject, ...(spec.others?.(world) ?? [])]) {
        await tearDown(resolved.teardown, s);
      }
    },
  });
}
