// The run engine's promises to a backend author: long histories reach maxCommands, calls
// overlap without the budget cooperating, shrinking is bounded, a call that never settles
// fails instead of hanging, and the black-box check never reads.
import { AtomicBudget } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { settlesInTime } from '../src/engine.js';
import { type CheckOptions, ConformanceError, checkAllOf, checkGuard } from '../src/index.js';
import { PlainGuard } from './outside/plain-guard.js';
import { referenceAllOf } from './reference-combinators.js';

async function caught(run: () => Promise<unknown>): Promise<ConformanceError> {
  try {
    await run();
  } catch (error) {
    if (ConformanceError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

/** A correct guard behind one plain await per call, counting calls and overlap. */
class Counting {
  private readonly inner: AtomicBudget;
  calls = 0;
  inFlight = 0;
  maxInFlight = 0;
  reads = 0;
  constructor(capacity: number) {
    this.inner = new AtomicBudget(capacity, { leakBackstop: false });
  }
  private async enter<T>(f: () => T): Promise<T> {
    this.calls++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await Promise.resolve();
    this.inFlight--;
    return f();
  }
  tryReserve(cost: number): Promise<boolean> {
    return this.enter(() => this.inner.tryReserveSync(cost));
  }
  release(cost: number): Promise<void> {
    return this.enter(() => this.inner.releaseSync(cost));
  }
  available(): number {
    this.reads++;
    return this.inner.available();
  }
}

/** A correct guard behind one await whose `available()` reads `off` units high, whose
 * `tryReserve` never settles when `hangs`. */
function misreading(capacity: number, off: number, hangs = false) {
  const s = new Counting(capacity);
  return {
    tryReserve: (cost: number) => (hangs ? new Promise<boolean>(() => {}) : s.tryReserve(cost)),
    release: (cost: number) => s.release(cost),
    available: () => s.available() + off,
  };
}

describe('the run engine', () => {
  it('reaches maxCommands: long runs make several times the calls of short ones', async () => {
    const calls = async (maxCommands: number) => {
      const subjects: Counting[] = [];
      await checkGuard(
        ({ capacity }) => {
          const s = new Counting(capacity);
          subjects.push(s);
          return s;
        },
        {
          maxCommands,
          numRuns: 60,
          seed: 5,
          replayFromEnv: false,
          capabilities: { available: true },
        },
      );
      return Math.max(...subjects.map((s) => s.calls));
    };
    const short = await calls(5);
    const long = await calls(80);
    expect(short).toBeLessThanOrEqual(5 * 4 + 4);
    expect(long).toBeGreaterThan(short * 6);
  });

  it('starts calls together: a budget behind a plain await sees several in flight at once', async () => {
    const subjects: Counting[] = [];
    await checkGuard(
      ({ capacity }) => {
        const s = new Counting(capacity);
        subjects.push(s);
        return s;
      },
      { numRuns: 50, seed: 9, replayFromEnv: false, capabilities: { available: true } },
    );
    expect(Math.max(...subjects.map((s) => s.maxInFlight))).toBeGreaterThanOrEqual(3);
  });

  it('bounds shrinking by shrinkTimeMs and says so', async () => {
    const error = await caught(() =>
      checkGuard(({ capacity }) => new PlainGuard(capacity, { bug: 'slow-drift' }), {
        seed: 1,
        shrinkTimeMs: 30,
        replayFromEnv: false,
        capabilities: { available: true, permits: true },
      }),
    );
    expect(error.shrinkMs).toBeLessThan(2_000);
    expect(error.message).toContain('stopped at the time limit');
  });

  it('fails a call that never settles after timeoutMs instead of hanging', async () => {
    const error = await caught(() =>
      checkGuard(
        () => ({
          tryReserve: (cost: number) =>
            cost === 0 ? Promise.resolve(true) : new Promise<boolean>(() => {}),
          release: async () => {},
        }),
        { timeoutMs: 100, shrinkTimeMs: 500, seed: 3, replayFromEnv: false },
      ),
    );
    expect(error.invariant).toBe('L1');
    expect(error.detail).toMatch(/never settled within 100 ms: .*tryReserve\([1-9]/);
  }, 20_000);

  it('never reads available() in the black-box check, even when it is declared', async () => {
    const subjects: Counting[] = [];
    await checkGuard(
      ({ capacity }) => {
        const s = new Counting(capacity);
        subjects.push(s);
        return s;
      },
      { focus: 'probe', numRuns: 50, replayFromEnv: false, capabilities: { available: true } },
    );
    expect(subjects.reduce((n, s) => n + s.reads, 0)).toBe(0);
    expect(subjects.reduce((n, s) => n + s.calls, 0)).toBeGreaterThan(0);
  });

  describe('a failure that does not come back on the same commands', () => {
    /** Reads one unit high on the subjects whose creation number `cursed` picks. */
    const run = async (cursed: (n: number) => boolean) => {
      let made = 0;
      const error = await caught(() =>
        checkGuard(({ capacity }) => misreading(capacity, cursed(made++) ? 1 : 0), {
          numRuns: 30,
          seed: 4,
          replayFromEnv: false,
          capabilities: { available: true },
        }),
      );
      return { error, made };
    };

    it('is set aside, the check goes on, and it is reported unshrunk as hanging on timing', async () => {
      const { error, made } = await run((n) => n === 3);
      expect(error.replays).toEqual({ tried: 2, failed: 0 });
      expect(error.reproducible).toBe(false);
      expect(error.message).toContain('not shrunk: 0 of 2 runs of the same commands failed again');
      // 30 runs and two replays, besides the factory calls made before the runs: generation
      // went on past the failure, and the replay path names the run that failed.
      const before = made - 32;
      expect(before).toBeGreaterThanOrEqual(0);
      expect(before).toBeLessThanOrEqual(1);
      expect(error.replay.path).toBe(String(3 - before));
    });

    it('leaves no trace on a later failure it did not run again (a hang)', async () => {
      let made = 0;
      const error = await caught(() =>
        checkGuard(
          ({ capacity }) => {
            const n = made++;
            return misreading(capacity, n === 3 ? 1 : 0, n >= 12);
          },
          {
            numRuns: 30,
            seed: 4,
            timeoutMs: 50,
            shrinkTimeMs: 2_000,
            replayFromEnv: false,
            capabilities: { available: true },
          },
        ),
      );
      expect(error.invariant).toBe('L1');
      expect(error.replays).toEqual({ tried: 0, failed: 0 });
      expect(error.reproducible).toBe(true);
      expect(error.message).toMatch(/shrunk in \d+ ms/);
    });

    /** A guard that always reads high, each run held up by a teardown of `teardownMs`. */
    const slowly = (teardownMs: number, options: CheckOptions) =>
      caught(() =>
        checkGuard(({ capacity }) => misreading(capacity, 1), {
          ...options,
          replayFromEnv: false,
          capabilities: { available: true },
          teardown: () => new Promise((resolve) => setTimeout(resolve, teardownMs)),
        }),
      );

    it('is not run again when timeLimitMs leaves no room for it', async () => {
      const error = await slowly(150, {
        numRuns: 30,
        seed: 4,
        timeLimitMs: 400,
        shrinkTimeMs: 100,
      });
      expect(error.invariant).toBe('G1');
      expect(error.replays).toEqual({ tried: 0, failed: 0 });
    });

    it('fits within the property time limit, whose backstop grows with the runs', async () => {
      // Each run takes about 1.9 s, its teardown included: three of them (a failure and its two
      // runs again) outlast the backstop of one run (2 × timeoutMs + 5 s), which then used to
      // replace the invariant with a fast-check timeout.
      const error = await slowly(1_800, { numRuns: 3, seed: 1, timeoutMs: 100, shrinkTimeMs: 500 });
      expect(error.invariant).toBe('G1');
      expect(error.replays).toEqual({ tried: 2, failed: 2 });
    }, 30_000);

    it('gives way to a later failure that does come back, which is shrunk', async () => {
      const { error } = await run((n) => n === 3 || n >= 10);
      expect(error.replays).toEqual({ tried: 2, failed: 2 });
      expect(error.reproducible).toBe(true);
      expect(error.message).toMatch(/shrunk in \d+ ms/);
      expect(error.commandCount).toBeLessThanOrEqual(1);
    });
  });

  it('hands a composite its own copy of each request, so writing to it changes nothing the kit checks', async () => {
    // An all-of that clamps each cost to its member's capacity in the array it was given:
    // it charges less than it was asked and says it granted the request.
    const error = await caught(() =>
      checkAllOf(
        ({ capacities }) => {
          const inner = referenceAllOf(capacities);
          return {
            available: inner.available,
            tryAcquire: (costs: readonly number[]) => {
              const written = costs as number[];
              for (const [i, c] of capacities.entries()) written[i] = Math.min(written[i]!, c);
              return inner.tryAcquire(written);
            },
          };
        },
        { seed: 1, replayFromEnv: false },
      ),
    );
    expect(error.invariant).toBe('AO1');
  });
});

describe("a run's time limit", () => {
  const busy = (ms: number) => {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      // holds the event loop, as a long linearizability search does
    }
  };
  const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

  it("does not count the kit's own searches: a body that blocks only while searching is on time", async () => {
    const world = { startedAt: Date.now(), searchMs: 0 };
    const body = (async () => {
      await tick();
      busy(400);
      world.searchMs += 400;
      await tick();
    })();
    expect(await settlesInTime(body, world, 200)).toBe(true);
  });

  it('still counts everything else: the same block outside a search is late', async () => {
    const world = { startedAt: Date.now(), searchMs: 0 };
    const body = (async () => {
      await tick();
      busy(400);
      await tick();
    })();
    expect(await settlesInTime(body, world, 200)).toBe(false);
  });
});
