// suite(): what it registers for each kind and capability set, and that each test runs the
// check it names (a broken backend fails it, a correct one passes).
import { AtomicTokenBudget } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { ConformanceError, type GuardCapabilities, type SuiteTest, suite } from '../src/index.js';
import { type GuardBug, PlainGuard } from './outside/plain-guard.js';
import { SlowReplies } from './review/correct-budgets.js';

function collect(): {
  test: SuiteTest;
  tests: Map<string, () => Promise<void>>;
  timeouts: number[];
} {
  const tests = new Map<string, () => Promise<void>>();
  const timeouts: number[] = [];
  return {
    tests,
    timeouts,
    test: (name, options, fn) => {
      tests.set(name, fn);
      timeouts.push(options.timeout);
    },
  };
}

/** Registers the suite of a `PlainGuard` with `bug`; returns a way to run one of its tests. */
function plainGuardSuite(
  name: string,
  bug: GuardBug,
  options: { seed: number; numRuns?: number },
  capabilities: GuardCapabilities = { available: true },
): (title: string) => Promise<void> {
  const { test, tests } = collect();
  suite({
    test,
    name,
    kind: 'guard',
    factory: ({ capacity }) => new PlainGuard(capacity, { bug }),
    capabilities,
    options: { ...options, replayFromEnv: false },
  });
  return (title) => tests.get(title)!();
}

describe('suite()', () => {
  it('registers one test per area that applies to a guard', () => {
    const { test, tests, timeouts } = collect();
    const titles = suite({
      test,
      name: 'PlainGuard',
      kind: 'guard',
      factory: ({ capacity }) => new PlainGuard(capacity),
      capabilities: { available: true, permits: true, refill: { policy: 'reset' } },
      timeoutMs: 5_000,
    });
    expect(titles).toEqual([
      'conserves units under overlapping calls',
      'holds over long histories',
      'keeps exact counts past 32 bits (capacity 2^32 + 7)',
      'rejects invalid amounts without effect',
      'settles each permit exactly once',
      "refills under the 'reset' policy",
      'at rest, exactly the free units can be reserved (black-box)',
    ]);
    expect([...tests.keys()]).toEqual(titles);
    expect(timeouts.every((t) => t === 5_000)).toBe(true);
  });

  it('leaves out what a token budget without refill cannot do, and adds misuse', () => {
    const { test } = collect();
    const titles = suite({
      test,
      name: 'tokens',
      kind: 'token-budget',
      factory: ({ capacity }) => new AtomicTokenBudget(capacity),
    });
    expect(titles).toContain('records each reservation once, and only on its own budget');
    expect(titles.some((t) => t.startsWith('refills'))).toBe(false);
    expect(titles.some((t) => t.startsWith('settles'))).toBe(false);
  });

  it('groups the tests under describe when given', () => {
    const { test } = collect();
    const groups: string[] = [];
    suite({
      test,
      describe: (name, fn) => {
        groups.push(name);
        fn();
      },
      name: 'grouped',
      kind: 'guard',
      factory: ({ capacity }) => new PlainGuard(capacity),
    });
    expect(groups).toEqual(['grouped']);
  });

  it('runs the named check: the overlap test fails a racy guard with a ConformanceError', async () => {
    const run = plainGuardSuite('racy', 'check-then-act', { seed: 7 });
    const error = await run('conserves units under overlapping calls').catch((e) => e);
    expect(ConformanceError.isInstance(error)).toBe(true);
    expect((error as ConformanceError).check).toBe('overlap');
    expect((error as ConformanceError).subject).toBe('guard "racy"');
  });

  it('the long-history test fails a guard that drifts once every 100 grants', async () => {
    const run = plainGuardSuite('rare drift', 'rare-drift', { seed: 11 });
    const error = await run('holds over long histories').catch((e) => e);
    expect(ConformanceError.isInstance(error)).toBe(true);
    expect((error as ConformanceError).check).toBe('long');
  });

  it('the long-history test fails a guard that drifts once every 500 grants (the soak)', async () => {
    const run = plainGuardSuite('very rare drift', 'very-rare-drift', { seed: 11 });
    const error = await run('holds over long histories').catch((e) => e);
    expect(ConformanceError.isInstance(error)).toBe(true);
    expect((error as ConformanceError).commands).toMatch(/soak: \d+ cycles/);
  });

  it('the soak takes the permit path too: a guard losing a unit every 150th permit fails', async () => {
    const caps: GuardCapabilities = { available: true, permits: true };
    const run = plainGuardSuite('permit drift', 'rare-permit-drift', { seed: 11 }, caps);
    const error = await run('holds over long histories').catch((e) => e);
    expect(ConformanceError.isInstance(error)).toBe(true);
    expect((error as ConformanceError).commands).toMatch(/soak: \d+ cycles/);
  });

  it('the soak stops at half a run’s time: a correct backend 3 ms away passes the long test', async () => {
    const { test, tests } = collect();
    suite({
      test,
      name: 'slow replies',
      kind: 'guard',
      factory: ({ capacity, policy }) => new SlowReplies(capacity, policy, 3),
      capabilities: { available: true },
      options: { seed: 1, numRuns: 25, replayFromEnv: false },
    });
    await expect(tests.get('holds over long histories')!()).resolves.toBeUndefined();
  }, 60_000);

  it('calls refill(times) when the refill is declared batched, and catches a batch that fences nothing', async () => {
    const caps = (batch: boolean): GuardCapabilities => ({
      available: true,
      permits: true,
      refill: { policy: 'reset', batch },
    });
    const batched = plainGuardSuite('batch', 'batch-refill-unfenced', { seed: 5 }, caps(true));
    const error = await batched("refills under the 'reset' policy").catch((e) => e);
    expect(ConformanceError.isInstance(error)).toBe(true);
    expect((error as ConformanceError).commands).toMatch(/refill\([2-4]\)/);
    // Declared unbatched, the kit calls refill() alone, which this guard does right.
    const single = plainGuardSuite('single', 'batch-refill-unfenced', { seed: 5 }, caps(false));
    await expect(single("refills under the 'reset' policy")).resolves.toBeUndefined();
    const correct = plainGuardSuite('correct', 'none', { seed: 5 }, caps(true));
    await expect(correct("refills under the 'reset' policy")).resolves.toBeUndefined();
  });

  it('the test at scale fails a guard that keeps its count in 32 bits, which the others pass', async () => {
    const run = plainGuardSuite(
      'int32',
      'int32-cells',
      { seed: 3, numRuns: 30 },
      { available: true, permits: true },
    );
    const error = await run('keeps exact counts past 32 bits (capacity 2^32 + 7)').catch((e) => e);
    expect(ConformanceError.isInstance(error)).toBe(true);
    await expect(run('conserves units under overlapping calls')).resolves.toBeUndefined();
  });

  it('rejects a spec without a test function or with an unknown kind', () => {
    expect(() => suite({} as never)).toThrow(TypeError);
    const { test } = collect();
    expect(() =>
      suite({ test, name: 'x', kind: 'semaphore', factory: () => ({}) } as never),
    ).toThrow(/kind/);
  });
});
