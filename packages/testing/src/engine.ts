// The kit's run engine: commands that start batches of overlapping calls, a history of every
// call's window in the harness's logical time, and checkpoints where the linearization
// search explains the history so far with the ledger, or reports why it cannot.
import fc from 'fast-check';
import { AdapterError } from './adapter-error.js';
import type { ResolvedOptions } from './check-options.js';
import { ConformanceError, type Replays } from './conformance-error.js';
import type { InvariantId } from './invariant-catalog.js';
import { InvariantViolation } from './invariant-violation.js';
import { readReplayToken } from './replay.js';
import { linearize, type Mismatch, type SearchOp } from './search.js';

/** @internal What a call did: resolved with a value, or threw / rejected. */
export type Outcome =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: unknown };

/**
 * @internal What the model makes of an outcome: a step for the search (`exact` forces a denial
 * to be explained even where the subject is not linearizable), a failure needing no search,
 * or nothing.
 */
export type Judgement<S> =
  | {
      readonly kind: 'step';
      readonly step: (state: S, exact: boolean) => readonly S[] | Mismatch;
      readonly shown: string;
      readonly optional?: boolean;
      readonly exact?: boolean;
      /** A read: it changes nothing, so its order among other reads does not matter. */
      readonly read?: boolean;
    }
  | { readonly kind: 'fail'; readonly mismatch: Mismatch }
  | { readonly kind: 'none'; readonly shown: string };

/** @internal A call about to be made: its label with amounts and handles resolved. */
export interface Planned<S> {
  readonly label: string;
  readonly start: () => unknown;
  readonly judge: (outcome: Outcome) => Judgement<S>;
}

/** @internal One operation of a command, before its handles are resolved. */
export interface OpSpec<S, W extends World<S>> {
  /** How fast-check prints it (handles by position: `release(#1)`). */
  readonly text: string;
  /** Whether it can run now (a handle to settle exists, …). */
  applicable(world: W): boolean;
  /**
   * Resolves handles and amounts at launch time: one call, several started together (two
   * settles of one permit), or `undefined` when it cannot run now.
   */
  plan(world: W): Planned<S> | readonly Planned<S>[] | undefined;
}

interface SegmentOp<S> {
  readonly label: string;
  readonly inv: number;
  readonly res: number;
  readonly judgement: Extract<Judgement<S>, { kind: 'step' }>;
}

/**
 * @internal Start offsets: 0 now, 1–3 microtask turns later, MACRO after a macrotask
 * (`setImmediate`), TIMER after one timer turn (`setTimeout(0)`), TIMER + 1 after two — so a
 * call can land between the round trips of a budget whose boundary is a timer or a socket.
 */
export const MACRO = 4;
/** @internal */
export const TIMER = 5;

/** @internal Most calls kept between two checkpoints (the search is exponential in overlap). */
export const SEGMENT_BUDGET = 12;

function timerTurn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

function later(offset: number): Promise<void> {
  if (offset === MACRO) {
    const g = globalThis as { setImmediate?: (cb: () => void) => unknown };
    return new Promise((resolve) =>
      g.setImmediate !== undefined ? g.setImmediate(resolve) : setTimeout(resolve, 0),
    );
  }
  if (offset === TIMER) return timerTurn();
  if (offset > TIMER) return timerTurn().then(timerTurn);
  let p = Promise.resolve();
  for (let i = 1; i < offset; i++) p = p.then(() => undefined);
  return p;
}

function offsetText(offset: number): string {
  if (offset === MACRO) return 'after a macrotask: ';
  if (offset === TIMER) return 'after a timer turn: ';
  if (offset > TIMER) return 'after two timer turns: ';
  return `after ${offset} tick${offset === 1 ? '' : 's'}: `;
}

function noOp<S>(shown: string): Extract<Judgement<S>, { kind: 'step' }> {
  return { kind: 'step', shown, step: (state) => [state] };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * @internal One property run: the model's possible states (the frontier) at the last point of
 * rest, the calls since then, and what ran.
 */
export class World<S> {
  private time = 0;
  frontier: readonly S[];
  private segment: SegmentOp<S>[] = [];
  private readonly inflight = new Set<Promise<void>>();
  violation: InvariantViolation | undefined;
  adapterError: AdapterError | undefined;
  /** The frontier outgrew the search (many indeterminate calls): the rest is not judged. */
  unjudgeable = false;
  /** What each command launched, in order. */
  readonly log: LogEntry[] = [];
  /** Calls made so far. */
  calls = 0;
  /** When the run began (its `timeoutMs` counts from about here). */
  readonly startedAt = Date.now();
  /**
   * Milliseconds the kit itself spent judging histories (the linearizability search): they
   * hold the event loop, so they are not counted against a run's `timeoutMs`.
   */
  searchMs = 0;
  /** Calls made and not yet returned, by the logical time they were made. */
  private readonly running = new Map<number, string>();
  /** Refills (by call or by clock) since the last successful checkpoint with a read in it. */
  refillsSinceRead = 0;

  constructor(
    readonly scheduler: fc.Scheduler,
    initial: S,
    readonly key: (state: S) => string,
    /** Denials must be explained even for overlapping calls (no false denials). */
    readonly linearizable: boolean,
  ) {
    this.frontier = [initial];
  }

  ok(): boolean {
    return this.violation === undefined && this.adapterError === undefined;
  }

  /** Calls in flight plus calls done since the last checkpoint. */
  load(): number {
    return this.inflight.size + this.segment.length;
  }

  /** An await point whose resumption order the scheduler picks (the `hop` seam). */
  hop(label = 'hop'): Promise<void> {
    return this.scheduler.schedule(Promise.resolve(label), label).then(() => undefined);
  }

  /** Starts a command's log entry; returns it for calls launched later. */
  beginCommand(): LogEntry {
    const entry: LogEntry = { calls: [], leftRunning: false };
    this.log.push(entry);
    return entry;
  }

  /** Launches `spec` now (offset 0) or after `offset` turns, logging it under `entry`. */
  launchAt(offset: number, spec: OpSpec<S, World<S>>, entry: LogEntry): void {
    if (offset <= 0) {
      this.launch(spec, entry, '');
      return;
    }
    const task = later(offset).then(() => this.launch(spec, entry, offsetText(offset)));
    this.track(task);
  }

  private track(task: Promise<void>): void {
    const done: Promise<void> = task
      .catch((error: unknown) => this.crash(error))
      .finally(() => this.inflight.delete(done));
    this.inflight.add(done);
  }

  /** Makes one call now and records its window and outcome. */
  launch(spec: OpSpec<S, World<S>>, entry: LogEntry, prefix: string): void {
    if (!this.ok()) return;
    let planned: Planned<S> | readonly Planned<S>[] | undefined;
    try {
      planned = spec.plan(this);
    } catch (error) {
      // Reading the subject (a handle's method, say) threw before the call could be made.
      this.crash(
        AdapterError.isInstance(error)
          ? error
          : new AdapterError(`preparing ${spec.text} failed: ${describeError(error)}`, {
              cause: error,
            }),
      );
      return;
    }
    if (planned === undefined) return;
    if (Array.isArray(planned)) {
      for (const one of planned as readonly Planned<S>[]) this.call(one, entry, prefix);
    } else this.call(planned as Planned<S>, entry, prefix);
  }

  private call(plan: Planned<S>, entry: LogEntry, prefix: string): void {
    const at = entry.calls.length;
    entry.calls.push(prefix + plan.label);
    this.calls++;
    const inv = ++this.time;
    this.running.set(inv, plan.label);
    const finish = (outcome: Outcome): void => {
      const res = ++this.time;
      this.running.delete(inv);
      let judgement: Judgement<S>;
      try {
        judgement = plan.judge(outcome);
      } catch (error) {
        this.crash(error);
        return;
      }
      entry.calls[at] =
        `${prefix}${plan.label} → ${judgement.kind === 'fail' ? 'failed' : judgement.shown}`;
      if (judgement.kind === 'fail') this.fail(judgement.mismatch);
      else {
        // A call that changes nothing still overlapped others: it stays in the history, so
        // whether a denial ran alone is judged with it.
        const step = judgement.kind === 'step' ? judgement : noOp<S>(judgement.shown);
        this.segment.push({ label: plan.label, inv, res, judgement: step });
      }
    };
    let result: unknown;
    try {
      result = plan.start();
    } catch (error) {
      finish({ ok: false, error });
      return;
    }
    if (!isThenable(result)) {
      finish({ ok: true, value: result });
      return;
    }
    this.track(
      Promise.resolve(result).then(
        (value) => finish({ ok: true, value }),
        (error: unknown) => finish({ ok: false, error }),
      ),
    );
  }

  /** Waits (releasing `hop`s in the scheduler's order) until nothing is in flight, then checks. */
  async settle(): Promise<void> {
    while (this.inflight.size > 0) {
      await this.scheduler.waitFor(Promise.all([...this.inflight]));
    }
    this.checkpoint();
  }

  /** Launches `specs` together at rest and checks them (reads after a command). */
  async rest(specs: readonly OpSpec<S, World<S>>[]): Promise<void> {
    if (!this.ok() || specs.length === 0) return;
    const entry: LogEntry = { calls: [], leftRunning: false };
    for (const spec of specs) this.launch(spec, entry, '');
    await this.settle();
  }

  /** Explains the calls since the last checkpoint, or records why they cannot be explained. */
  checkpoint(): void {
    const segment = this.segment;
    this.segment = [];
    if (!this.ok() || this.unjudgeable || segment.length === 0) return;
    const ops: SearchOp<S>[] = segment.map((op) => {
      const alone = segment.every(
        (other) => other === op || other.res < op.inv || op.res < other.inv,
      );
      const exact = this.linearizable || alone || op.judgement.exact === true;
      return {
        label: op.label,
        inv: op.inv,
        res: op.res,
        optional: op.judgement.optional === true,
        step: (state: S) => op.judgement.step(state, exact),
      };
    });
    const searchStarted = Date.now();
    const result = linearize(this.frontier, ops, this.key);
    this.searchMs += Date.now() - searchStarted;
    if (result.ok) {
      // An overflow may stop the search before any end state: the frontier then stays as it
      // was, and nothing after is judged.
      if (result.states.length > 0) this.frontier = result.states;
      if (result.overflow) this.unjudgeable = true;
      return;
    }
    const { failure } = result;
    const failed = segment[failure.op]!;
    let detail = failure.mismatch.reason;
    for (const other of failure.others)
      detail += `\n  or, had overlapping calls taken effect in another order: ${other}`;
    if (segment.length > 1 && segment.some((op) => op.judgement.read !== true)) {
      const lines = segment.map(
        (op) =>
          `    ${op.label} → ${op.judgement.shown}   (made at ${op.inv}, returned at ${op.res})`,
      );
      const order = failure.before.map((i) => segment[i]!.label);
      detail += `\n  No order of these overlapping calls explains what they returned:\n${lines.join('\n')}`;
      detail += `\n  Closest order: ${[...order, `${failed.label} ✗`].join(', ')}`;
    }
    this.violation = new InvariantViolation(failure.mismatch.blame, detail);
  }

  /** Records a violation found without the search. */
  fail(mismatch: Mismatch): void {
    if (!this.ok()) return;
    this.violation = new InvariantViolation(mismatch.blame, mismatch.reason);
  }

  /** Records that the run did not finish within `ms`: the calls still out never settled. */
  hang(ms: number): void {
    if (!this.ok()) return;
    const out = [...this.running.values()];
    this.violation = new InvariantViolation(
      'L1',
      out.length > 0
        ? `${out.length === 1 ? 'a call' : `${out.length} calls`} never settled within ${ms} ms: ${out.join(', ')}`
        : `the run did not finish within ${ms} ms`,
    );
  }

  /** Records an error of the harness or the adapter. */
  crash(error: unknown): void {
    if (!this.ok()) return;
    if (AdapterError.isInstance(error)) this.adapterError = error;
    else
      this.adapterError = new AdapterError(
        `the conformance harness failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
  }

  /** The failure to throw out of the property run. */
  error(): Error {
    return this.adapterError ?? this.violation ?? new Error('no failure');
  }
}

/** @internal A command: one to six calls started together, then joined or left running. */
export class BatchCommand<S, W extends World<S>> implements fc.AsyncCommand<W, W> {
  constructor(
    readonly ops: readonly OpSpec<S, W>[],
    readonly offsets: readonly number[],
    readonly join: boolean,
    private readonly atRest: (world: W) => readonly OpSpec<S, W>[],
  ) {}

  check(world: W): boolean {
    return world.ok() && !world.unjudgeable && this.ops.some((op) => op.applicable(world));
  }

  async run(world: W): Promise<void> {
    if (world.load() + this.ops.length > SEGMENT_BUDGET) await world.settle();
    const entry = world.beginCommand();
    for (const [i, op] of this.ops.entries()) {
      world.launchAt(this.offsets[i] ?? 0, op as OpSpec<S, World<S>>, entry);
    }
    if (!this.join) {
      entry.leftRunning = true;
      return;
    }
    await world.settle();
    await world.rest(this.atRest(world) as readonly OpSpec<S, World<S>>[]);
  }

  toString(): string {
    const parts = this.ops.map((op, i) => {
      const offset = this.offsets[i] ?? 0;
      return offset === 0 ? op.text : `${op.text}@${offset}`;
    });
    return `[${parts.join(' ‖ ')}]${this.join ? '' : '…'}`;
  }
}

/** @internal A command that runs one step of its own (a probe, a clock move). */
export class StepCommand<S, W extends World<S>> implements fc.AsyncCommand<W, W> {
  constructor(
    private readonly text: string,
    private readonly body: (world: W) => Promise<void>,
  ) {}

  check(world: W): boolean {
    return world.ok() && !world.unjudgeable;
  }

  async run(world: W): Promise<void> {
    await this.body(world);
  }

  toString(): string {
    return this.text;
  }
}

/** @internal What a check supplies to the engine. */
export interface CheckDefinition<S, W extends World<S>> {
  /** e.g. `guard "MyBudget"`. */
  readonly subject: string;
  /** The check's name within a suite, e.g. `overlap`. */
  readonly check: string;
  readonly options: ResolvedOptions;
  /** Operations a batch is made of, weighted. */
  readonly ops: fc.Arbitrary<OpSpec<S, W>>;
  /** Commands of their own (probes, clock moves), weighted against batches. */
  readonly steps?: readonly fc.WeightedArbitrary<fc.AsyncCommand<W, W>>[];
  /** Weight of batches against `steps` (default 8). */
  readonly batchWeight?: number;
  /** How many calls a batch starts at most (default 6). */
  readonly maxBatch?: number;
  createWorld(scheduler: fc.Scheduler): Promise<W>;
  /** Calls made at rest after every joined command (white-box reads). */
  atRest(world: W): readonly OpSpec<S, W>[];
  /** Runs at the end, at rest: probes, the foreign budget's state. */
  finish(world: W): Promise<void>;
  /** Closes what the run built (the user's `teardown` option). */
  teardown?: (world: W) => Promise<void>;
}

/** @internal The arbitrary of batch commands over `ops`. */
export function batchArbitrary<S, W extends World<S>>(
  ops: fc.Arbitrary<OpSpec<S, W>>,
  atRest: (world: W) => readonly OpSpec<S, W>[],
  maxBatch: number,
  timerWeight: number,
): fc.Arbitrary<fc.AsyncCommand<W, W>> {
  // A timer turn costs about a millisecond of real time, so it is offered where races are
  // sought (the overlap and mixed checks) and not in the long histories. One turn is what
  // lands a call between two round trips of a budget behind a timer or a socket; two turns
  // are offered rarely, for budgets with more round trips per call.
  const offset = fc.oneof(
    { arbitrary: fc.constant(0), weight: 48 },
    { arbitrary: fc.integer({ min: 1, max: 3 }), weight: 16 },
    { arbitrary: fc.constant(MACRO), weight: 8 },
    { arbitrary: fc.constant(TIMER), weight: 4 * timerWeight },
    { arbitrary: fc.constant(TIMER + 1), weight: timerWeight },
  );
  const join = fc.oneof(
    { arbitrary: fc.constant(true), weight: 4 },
    { arbitrary: fc.constant(false), weight: 1 },
  );
  // An array, so that shrinking can drop any call of a batch, not only the last ones.
  return fc.tuple(fc.array(fc.tuple(ops, offset), { minLength: 1, maxLength: maxBatch }), join).map(
    ([calls, joined]) =>
      new BatchCommand<S, W>(
        calls.map(([op]) => op),
        calls.map(([, at]) => at),
        joined,
        atRest,
      ),
  );
}

/**
 * What a check did: how many runs it made, and whether `timeLimitMs` cut it short.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import { type CheckSummary, checkGuard } from '@budgetry/testing';
 * const summary: CheckSummary = await checkGuard(({ capacity }) => new AtomicBudget(capacity), {
 *   numRuns: 50,
 * });
 * console.log(summary.runs, summary.interrupted, summary.ms);
 * ```
 */
export interface CheckSummary {
  /** Runs made (every one passed). */
  readonly runs: number;
  /** `timeLimitMs` ran out before `numRuns` runs. */
  readonly interrupted: boolean;
  /** Wall time of the check, in milliseconds. */
  readonly ms: number;
}

/**
 * @internal Runs one check: fast-check generates command sequences, each run executes them on
 * a fresh world, and a failure is shrunk (within `shrinkTimeMs`) and thrown as a
 * {@link ConformanceError} with the commands that ran and one replay line.
 */
export async function runCheck<S, W extends World<S>>(
  def: CheckDefinition<S, W>,
): Promise<CheckSummary> {
  const { options } = def;
  const started = Date.now();
  const env = options.replayFromEnv ? readReplayToken() : undefined;
  const token =
    env !== undefined &&
    (env.subject === undefined || env.subject === def.subject) &&
    (env.check === undefined || env.check === def.check)
      ? env
      : undefined;
  const seed = options.seed ?? token?.seed;
  const path = options.path ?? token?.path;
  const replayPath = options.replayPath ?? token?.replayPath;

  let firstFailureAt: number | undefined;
  let hitShrinkLimit = false;
  let lastFailed: W | undefined;
  // A failure that does not come back when the same commands run again hangs on timing (a
  // timer against a macrotask, a socket): shrinking it is a lottery, each candidate passing or
  // failing by luck. Such a failure is kept aside and generation goes on; a later failure that
  // does come back is shrunk instead, and if none comes, the kept one is reported as it ran.
  let unstable: { world: W; failed: number; path: string; replayPath: string } | undefined;
  let generated = 0;
  /** How the failure being shrunk fared when run again ({0, 0}: it was not run again). */
  let shrunkReplays: Replays = { tried: 0, failed: 0 };
  const timerWeight = options.focus === 'overlap' || options.focus === 'mixed' ? 1 : 0;
  const batches = batchArbitrary(def.ops, (w: W) => def.atRest(w), def.maxBatch ?? 6, timerWeight);
  const commandArbs: fc.Arbitrary<fc.AsyncCommand<W, W>>[] =
    def.steps === undefined || def.steps.length === 0
      ? [batches]
      : [fc.oneof({ arbitrary: batches, weight: def.batchWeight ?? 8 }, ...def.steps)];
  const execute = async (
    scheduler: fc.Scheduler,
    commands: Iterable<fc.AsyncCommand<W, W>>,
  ): Promise<W> => {
    const world = await fromFactory(() => def.createWorld(scheduler));
    const body = (async () => {
      try {
        await fc.asyncModelRun(() => ({ model: world, real: world }), commands);
        if (world.ok()) await world.settle();
        if (world.ok()) await def.finish(world);
      } catch (error) {
        world.crash(error);
      }
    })();
    // A call that never settles must fail the run, not hang it: the run races a timer, and
    // the calls still out are named in the failure.
    const finished = await settlesInTime(body, world, options.timeoutMs);
    if (!finished) world.hang(options.timeoutMs);
    else if (def.teardown !== undefined) {
      try {
        await def.teardown(world);
      } catch (error) {
        world.crash(error);
      }
    }
    return world;
  };
  const property = fc.asyncProperty(
    fc.scheduler(),
    fc.commands(commandArbs, {
      maxCommands: options.maxCommands,
      size: 'max',
      ...(replayPath === undefined ? {} : { replayPath }),
    }),
    async (scheduler, commands) => {
      if (firstFailureAt !== undefined && Date.now() - firstFailureAt > options.shrinkTimeMs) {
        hitShrinkLimit = true;
        return;
      }
      const index = generated;
      if (firstFailureAt === undefined) generated += 1;
      const runStarted = Date.now();
      const world = await execute(scheduler, commands);
      if (world.ok()) return;
      if (firstFailureAt === undefined) {
        shrunkReplays = { tried: 0, failed: 0 };
        // Run again only a failure worth it (not a hang, not an adapter error), outside a
        // replay, and when `timeLimitMs` leaves room for both runs.
        const room =
          options.timeLimitMs === undefined ||
          Date.now() - started + STABILITY_REPLAYS * (Date.now() - runStarted) <
            options.timeLimitMs;
        if (path === undefined && replayable(world) && room) {
          let failed = 0;
          for (let i = 0; i < STABILITY_REPLAYS; i++) {
            const again = await execute(fc.cloneIfNeeded(scheduler), fc.cloneIfNeeded(commands));
            if (!again.ok()) failed += 1;
          }
          if (failed < STABILITY_REPLAYS) {
            unstable ??= {
              world,
              failed,
              path: String(index),
              replayPath: replayPathOf(commands),
            };
            return;
          }
          shrunkReplays = { tried: STABILITY_REPLAYS, failed };
        }
      }
      lastFailed = world;
      firstFailureAt ??= Date.now();
      throw world.error();
    },
  );
  const details = await fc.check(property, {
    numRuns: options.numRuns,
    // A backstop only: the property enforces timeoutMs itself and names the calls still out.
    // A first failure runs up to 1 + STABILITY_REPLAYS times within one property call.
    timeout: (1 + STABILITY_REPLAYS) * (options.timeoutMs * 2 + 5_000),
    ...(options.timeLimitMs === undefined
      ? {}
      : { interruptAfterTimeLimit: options.timeLimitMs, markInterruptAsFailure: false }),
    ...(seed === undefined ? {} : { seed }),
    ...(path === undefined ? {} : { path }),
  });
  if (!details.failed && unstable === undefined) {
    return { runs: details.numRuns, interrupted: details.interrupted, ms: Date.now() - started };
  }
  const shrinkMs = firstFailureAt === undefined ? 0 : Date.now() - firstFailureAt;
  let failedWorld = lastFailed;
  let error = details.errorInstance;
  let replays = details.failed ? shrunkReplays : { tried: 0, failed: 0 };
  const replay = {
    subject: def.subject,
    check: def.check,
    seed: details.seed,
    path: details.counterexamplePath ?? '',
    replayPath: '',
  };
  if (details.failed) {
    replay.replayPath =
      details.counterexample === null ? '' : replayPathOf(details.counterexample[1]);
  } else if (unstable !== undefined) {
    failedWorld = unstable.world;
    error = unstable.world.error();
    replay.path = unstable.path;
    replay.replayPath = unstable.replayPath;
    replays = { tried: STABILITY_REPLAYS, failed: unstable.failed };
  }
  const ran = (failedWorld?.log ?? []).filter((entry) => entry.calls.length > 0);
  if (AdapterError.isInstance(error)) {
    throw error.withCounterexample(formatCommands(ran), replay);
  }
  const invariant: InvariantId = error instanceof InvariantViolation ? error.invariant : 'L1';
  const detail =
    error instanceof InvariantViolation
      ? error.message.slice(error.invariant.length + 2)
      : `a run did not finish: ${error instanceof Error ? error.message : String(error)}`;
  const scheduled = failedWorld?.scheduler.report().length ?? 0;
  throw new ConformanceError({
    invariant,
    subject: def.subject,
    check: def.check,
    detail,
    commands: formatCommands(ran),
    commandCount: ran.length,
    trace: scheduled > 0 ? String(failedWorld?.scheduler) : '',
    shrinkMs,
    shrinkLimited: hitShrinkLimit,
    replays,
    replay,
    cause: error,
  });
}

/** The `replayPath` fast-check's commands print in their text (its own hint omits it). */
function replayPathOf(commands: unknown): string {
  return /\/\*replayPath="(.*)"\*\//.exec(String(commands))?.[1] ?? '';
}

/**
 * @internal Whether `body` settles within `timeoutMs` of the run's start, not counting the time
 * the kit itself spent searching (`world.searchMs`): a search holds the event loop, so the
 * timer would fire late and name as hung calls that had settled meanwhile.
 */
export async function settlesInTime(
  body: Promise<unknown>,
  world: { readonly startedAt: number; readonly searchMs: number },
  timeoutMs: number,
): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<false>((resolve) => {
    const wait = (ms: number) => {
      timer = setTimeout(() => {
        const left = world.startedAt + timeoutMs + world.searchMs - Date.now();
        if (left > 0) wait(left);
        else resolve(false);
      }, ms);
    };
    wait(timeoutMs);
  });
  const finished = await Promise.race([body.then(() => true), expired]);
  clearTimeout(timer);
  return finished;
}

/**
 * @internal How many times a first failure is run again, from the same commands and scheduler,
 * before it is shrunk: every replay must fail too, or the failure is set aside as hanging on
 * timing.
 */
export const STABILITY_REPLAYS = 2;

/** Whether a failed run is worth running again: not a hang (each costs `timeoutMs`), not an adapter error. */
function replayable<S>(world: World<S>): boolean {
  return world.adapterError === undefined && world.violation?.invariant !== 'L1';
}

/** @internal What one command launched. */
export interface LogEntry {
  /** Each call's label with its outcome once known (`tryReserve(4) → true (#0)`). */
  readonly calls: string[];
  /** The command did not wait for its calls: the next one overlapped them. */
  leftRunning: boolean;
}

/** @internal The numbered list of commands that ran, one per line. */
export function formatCommands(entries: readonly LogEntry[]): string {
  if (entries.length === 0) return '  (none: the failure shows at rest, before any command)';
  return entries
    .map(({ calls, leftRunning }, i) => {
      const text = calls.length === 1 ? calls[0]! : `together: ${calls.join(' ‖ ')}`;
      return `  ${i + 1}. ${text}${leftRunning ? ' (left running)' : ''}`;
    })
    .join('\n');
}

/** @internal Calls a user's factory; what it throws becomes an {@link AdapterError}. */
export async function fromFactory<T>(make: () => T | Promise<T>): Promise<T> {
  try {
    return await make();
  } catch (error) {
    if (AdapterError.isInstance(error)) throw error;
    throw new AdapterError(`the factory threw: ${describeError(error)}`, { cause: error });
  }
}

/**
 * @internal Throws an {@link AdapterError} when a factory hands back an object it returned
 * before: runs would then see each other's state.
 */
export function requireFresh(seen: WeakSet<object>, subject: unknown): void {
  if ((typeof subject !== 'object' && typeof subject !== 'function') || subject === null) return;
  if (seen.has(subject)) {
    throw new AdapterError(
      "the factory returned an instance it had returned before; it must build a fresh budget on every call (every run, and a token check's foreign budget), or runs see each other's state",
      { member: 'factory' },
    );
  }
  seen.add(subject);
}

/** @internal Runs the user's teardown on a subject; what it throws becomes an AdapterError. */
export async function tearDown(
  teardown: ((subject: unknown) => unknown) | undefined,
  subject: unknown,
): Promise<void> {
  if (teardown === undefined) return;
  try {
    await teardown(subject);
  } catch (error) {
    throw AdapterError.isInstance(error)
      ? error
      : new AdapterError(`teardown threw: ${describeError(error)}`, { cause: error });
  }
}

/** @internal A short description of any thrown value. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `${error.name}${typeof code === 'string' ? ` ${code}` : ''}: ${error.message}`;
  }
  return String(error);
}
