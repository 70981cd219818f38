import type fc from 'fast-check';
import type { InvariantId } from './invariant-catalog.js';
import { InvariantViolation } from './invariant-violation.js';

/** @internal The outcome of one call the harness made. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/**
 * @internal State shared by one property run: the scheduler, the invariants under test, the
 * calls still in flight and the first violation seen. Commands start calls and return; the
 * calls report back through `track`, and violations found in callbacks surface at the next
 * command or at quiescence.
 */
export class ScheduledWorld {
  failure: InvariantViolation | undefined;
  readonly pending = new Set<Promise<void>>();

  constructor(
    readonly scheduler: fc.Scheduler,
    readonly active: ReadonlySet<InvariantId>,
  ) {}

  /** Whether any of `ids` is under test. */
  checks(...ids: InvariantId[]): boolean {
    return ids.some((id) => this.active.has(id));
  }

  /** Records a violation of the first of `ids` under test (or any, for `'*'`). */
  fail(ids: readonly InvariantId[] | '*', message: string): void {
    if (this.failure !== undefined) return;
    const hit =
      ids === '*' ? this.active.values().next().value : ids.find((id) => this.active.has(id));
    if (hit !== undefined) this.failure = new InvariantViolation(hit, message);
  }

  /** Fails `ids` unless `condition` holds. */
  expect(condition: boolean, ids: readonly InvariantId[] | '*', message: () => string): void {
    if (!condition) this.fail(ids, message());
  }

  rethrow(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  /** A seam: an await point whose resumption order the scheduler chooses. */
  hop(label = 'hop'): Promise<void> {
    return this.scheduler.schedule(Promise.resolve(label), label).then(() => undefined);
  }

  /**
   * Starts `call` at a scheduled point (so the scheduler picks the issue order) and passes
   * its outcome to `settle`. Returns at once: commands must not await scheduled work.
   */
  track<T>(label: string, call: () => T | Promise<T>, settle: (outcome: Outcome<T>) => void): void {
    const done = this.scheduler
      .schedule(Promise.resolve(label), label)
      .then(call)
      .then(
        (value) => settle({ ok: true, value }),
        (error: unknown) => settle({ ok: false, error }),
      )
      .catch((error: unknown) => this.fail('*', `the harness failed: ${String(error)}`))
      .finally(() => this.pending.delete(done));
    this.pending.add(done);
  }

  /** Counts `promise` as in flight until it settles. */
  watch(promise: Promise<void>): void {
    const done = promise.finally(() => this.pending.delete(done));
    this.pending.add(done);
  }

  /** Waits, through the scheduler, until nothing is in flight. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) {
      await this.scheduler.waitFor(Promise.all([...this.pending]));
    }
  }

  /** Runs `call` to completion through the scheduler (for probes at quiescence). */
  async settle<T>(call: () => T | Promise<T>): Promise<Outcome<T>> {
    const promise = Promise.resolve()
      .then(call)
      .then(
        (value): Outcome<T> => ({ ok: true, value }),
        (error: unknown): Outcome<T> => ({ ok: false, error }),
      );
    return this.scheduler.waitFor(promise);
  }
}

/** @internal Whether `outcome` is a rejection (or throw) of a call given invalid input. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `${error.name}${typeof code === 'string' ? ` ${code}` : ''}: ${error.message}`;
  }
  return String(error);
}

/** @internal A command of the stateful model: starts calls on the world, never awaits them. */
export class WorldCommand<W extends ScheduledWorld> implements fc.AsyncCommand<W, W> {
  constructor(
    private readonly label: string,
    readonly precondition: (world: W) => boolean,
    readonly body: (world: W) => void,
  ) {}

  check(world: W): boolean {
    return world.failure === undefined && this.precondition(world);
  }

  async run(world: W): Promise<void> {
    this.body(world);
    world.rethrow();
  }

  toString(): string {
    return this.label;
  }
}
