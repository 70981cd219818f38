// Deliberately broken implementations: each must fail under default options. Shrunk sizes
// vary with the (random) seed because the schedule itself does not shrink: the bound below is
// what every run must meet, and the log line shows what this run reached.
import { describe, expect, it } from 'vitest';
import {
  type CheckReport,
  ConformanceError,
  checkAllOf,
  checkAnyOf,
  checkGuard,
  checkHierarchy,
  checkTokenBudget,
} from '../src/index.js';
import { referenceAllOf, referenceAnyOf, referenceHierarchy } from './reference-combinators.js';
import { type GuardBug, ToyGuard } from './toy-guard.js';
import { type TokenBug, ToyTokenBudget } from './toy-token-budget.js';

async function caught(run: () => Promise<CheckReport>): Promise<ConformanceError> {
  try {
    await run();
  } catch (error) {
    if (ConformanceError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('the broken implementation passed');
}

const guardBugs: [GuardBug, number][] = [
  ['racy-reserve', 8],
  ['double-refund-on-dispose', 8],
  ['old-epoch-release-inflates', 8],
  ['release-clamped-not-fenced', 8],
  ['accepts-negative', 8],
  ['accepts-nan', 8],
  ['accepts-fractional', 8],
  ['lost-refund', 8],
  ['refill-above-capacity', 8],
  ['false-denial', 8],
];

describe('the gallery of broken guards', () => {
  for (const [bug, maxCommands] of guardBugs) {
    it(`catches ${bug} and shrinks it to at most ${maxCommands} commands`, async () => {
      const error = await caught(() =>
        checkGuard((ctx) => new ToyGuard(ctx.capacity, bug, ctx.hop), { replayFromEnv: false }),
      );
      console.log(
        `${bug}: ${error.invariant} in ${error.commandCount} commands: ${error.commands}`,
      );
      expect(error.commandCount).toBeLessThanOrEqual(maxCommands);
    });
  }
});

const tokenBugs: TokenBug[] = [
  'forgiven-overage',
  'foreign-handle-accepted',
  'double-record',
  'stale-refund',
];

describe('the gallery of broken token budgets', () => {
  for (const bug of tokenBugs) {
    it(`catches ${bug} and shrinks it to at most 4 commands`, async () => {
      const error = await caught(() =>
        checkTokenBudget(({ capacity }) => new ToyTokenBudget(capacity, bug), {
          replayFromEnv: false,
        }),
      );
      console.log(
        `${bug}: ${error.invariant} in ${error.commandCount} commands: ${error.commands}`,
      );
      expect(error.commandCount).toBeLessThanOrEqual(8);
    });
  }
});

describe('the gallery of broken combinators', () => {
  it('catches a partial all-of left charged after a denial', async () => {
    const error = await caught(() =>
      checkAllOf(({ capacities }) => referenceAllOf(capacities, 'partial-left-charged'), {
        replayFromEnv: false,
      }),
    );
    console.log(`all-of: ${error.invariant} in ${error.commandCount}: ${error.commands}`);
    expect(['AO1', 'AO2']).toContain(error.invariant);
    expect(error.commandCount).toBeLessThanOrEqual(4);
  });
  it('catches an any-of handle naming the wrong member', async () => {
    const error = await caught(() =>
      checkAnyOf(({ capacities }) => referenceAnyOf(capacities, 'wrong-member-named'), {
        replayFromEnv: false,
      }),
    );
    console.log(`any-of: ${error.invariant} in ${error.commandCount}: ${error.commands}`);
    expect(error.invariant).toBe('AN1');
    expect(error.commandCount).toBeLessThanOrEqual(4);
  });
  it('catches a child reservation that does not charge its parent', async () => {
    const error = await caught(() =>
      checkHierarchy(({ capacities }) => referenceHierarchy(capacities, 'child-skips-parent'), {
        replayFromEnv: false,
      }),
    );
    console.log(`hierarchy: ${error.invariant} in ${error.commandCount}: ${error.commands}`);
    expect(error.invariant).toBe('HI1');
    expect(error.commandCount).toBeLessThanOrEqual(4);
  });
});
