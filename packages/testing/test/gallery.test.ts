// Deliberately broken implementations: each must be caught under default options and shrunk
// to a small counterexample. Seeds are pinned so the assertions are deterministic; the
// measurement test (BUDGETRY_MEASURE=1) reruns every case on random seeds for catch rates.
import { describe, expect, it } from 'vitest';
import { type CheckReport, ConformanceError, checkAllOf, type FaultyMember } from '../src/index.js';
import { galleryCases } from './gallery-cases.js';
import { referenceAllOf } from './reference-combinators.js';

async function caught(run: () => Promise<CheckReport>): Promise<ConformanceError> {
  try {
    await run();
  } catch (error) {
    if (ConformanceError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('the broken implementation passed');
}

const seeds = [1, 2, 3];

describe('the gallery of broken implementations', () => {
  for (const c of galleryCases) {
    it(`catches ${c.name} and shrinks it to at most ${c.maxCommands} commands`, async () => {
      for (const seed of seeds) {
        const error = await caught(() => c.run({ seed, replayFromEnv: false }));
        expect(error.message).toContain(error.replayLine);
        expect(error.commandCount, error.message).toBeLessThanOrEqual(c.maxCommands);
      }
    });
  }
});

describe('member exceptions in all-of runs', () => {
  it('injects failures into members the adapter built the combinator over', async () => {
    const used: FaultyMember[] = [];
    await checkAllOf(
      ({ capacities, members }) => {
        used.push(...members);
        return referenceAllOf(capacities, undefined, members);
      },
      { seed: 1, numRuns: 100, replayFromEnv: false },
    );
    expect(used.reduce((n, m) => n + m.faults, 0)).toBeGreaterThan(0);
  });

  it('names AO2 when an all-of leaves a member charged after an exception', async () => {
    const error = await caught(() =>
      checkAllOf(
        ({ capacities, members }) =>
          referenceAllOf(capacities, 'no-rollback-on-exception', members),
        { seed: 1, replayFromEnv: false },
      ),
    );
    expect(error.invariant).toBe('AO2');
    expect(error.commands).toContain('failing');
  });
});
