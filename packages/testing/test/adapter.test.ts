// What the kit says when the subject does not match its declared capabilities, or misbehaves
// in a way that is not an accounting failure: a typed AdapterError that names the member.
import { AtomicBudget, AtomicTokenBudget } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import {
  AdapterError,
  checkGuard,
  checkTokenBudget,
  declaredGuardCapabilities,
} from '../src/index.js';
import { PlainTokenBudget } from './outside/plain-token-budget.js';
import { ReferenceRefill } from './reference-refill.js';

async function adapterError(run: () => Promise<unknown>): Promise<AdapterError> {
  try {
    await run();
  } catch (error) {
    if (AdapterError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected an AdapterError');
}

const countOnly = () => {
  const b = new AtomicBudget(10, { leakBackstop: false });
  return { tryReserve: (c: number) => b.tryReserve(c), release: (c: number) => b.release(c) };
};

describe('adapter errors', () => {
  it('names a declared method the subject lacks', async () => {
    const error = await adapterError(() =>
      checkGuard(countOnly, { capabilities: { available: true } }),
    );
    expect(error.member).toBe('available');
    expect(error.message).toContain('available()');
  });

  it('names an unknown capability and suggests the near one', async () => {
    const error = await adapterError(() =>
      checkGuard(countOnly, { capabilities: { availble: true } as never }),
    );
    expect(error.message).toContain("did you mean 'available'");
  });

  it('rejects a malformed refill capability', async () => {
    const error = await adapterError(() =>
      checkGuard(countOnly, { capabilities: { refill: { policy: 'rollover' } } as never }),
    );
    expect(error.member).toBe('refill');
  });

  it('rejects a batch flag that is not a boolean', async () => {
    const error = await adapterError(() =>
      checkGuard(countOnly, {
        capabilities: { refill: { policy: 'reset', batch: 'yes' } } as never,
      }),
    );
    expect(error.member).toBe('refill');
    expect(error.message).toMatch(/batch/);
  });

  it('takes a declared batch spread into refill by clock, where it means nothing', async () => {
    const summary = await checkGuard(
      ({ capacity, clock, policy }) => new ReferenceRefill(capacity, policy, clock, 1_000),
      {
        numRuns: 5,
        capabilities: { available: true, refill: { policy: 'reset', batch: true, by: 'clock' } },
      },
    );
    expect(summary.runs).toBe(5);
  });

  it('reads a batched refill from what a core budget declares', () => {
    expect(declaredGuardCapabilities(new AtomicBudget(1)).refill).toEqual({
      policy: 'reset',
      batch: true,
    });
    const unbatched = {
      ...countOnly(),
      capabilities: {
        sync: false,
        countRelease: true,
        partialCommit: false,
        retryHint: false,
        schedulable: true,
        refill: 'carry',
      },
    };
    expect(declaredGuardCapabilities(unbatched).refill).toEqual({ policy: 'carry', batch: false });
  });

  it('names a method that returns the wrong type, with the commands that led to it', async () => {
    const error = await adapterError(() =>
      checkGuard(
        () => ({ tryReserve: async () => 'yes' as unknown as boolean, release: async () => {} }),
        { replayFromEnv: false, seed: 1 },
      ),
    );
    expect(error.member).toBe('tryReserve');
    expect(error.message).toMatch(/resolved "yes" \(string\)/);
    expect(error.message).toContain('Replay: BUDGETRY_REPLAY=');
  });

  it('names a reservation without a numeric estimate', async () => {
    const error = await adapterError(() =>
      checkTokenBudget(
        () => ({
          tryReserveTokens: async () => ({ estimate: '5' }) as never,
          recordUsage: async () => {},
          tokensConsumed: async () => 0,
        }),
        { replayFromEnv: false, seed: 1 },
      ),
    );
    expect(error.member).toBe('reservation.estimate');
  });

  it('does not probe undeclared members: a budget with more than it declares passes', async () => {
    // AtomicTokenBudget has debt(), refill() and asyncDispose, none declared: never called.
    await checkTokenBudget(
      ({ capacity }) => new AtomicTokenBudget(capacity, { leakBackstop: false }),
      {
        numRuns: 50,
        replayFromEnv: false,
      },
    );
  });

  it('uses reservations only through estimate, disarm() and Symbol.dispose', async () => {
    // The outside budget's reservations have exactly those members (frozen plain objects).
    await checkTokenBudget(({ capacity }) => new PlainTokenBudget(capacity), {
      numRuns: 100,
      focus: 'misuse',
      replayFromEnv: false,
      capabilities: { available: true, debt: true },
    });
  });

  it('names the factory when it throws', async () => {
    const error = await adapterError(() =>
      checkGuard(() => {
        throw new Error('no connection');
      }),
    );
    expect(error.message).toContain('no connection');
  });
});
