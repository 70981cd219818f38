// Deliberately broken implementations: each must be caught under default options and shrunk
// to a small counterexample. Seeds are pinned so the assertions are deterministic; the
// measurement test (BUDGETRY_MEASURE=1) reruns every case on random seeds for catch rates.
import { describe, expect, it } from 'vitest';
import { type CheckReport, ConformanceError } from '../src/index.js';
import { galleryCases } from './gallery-cases.js';

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
