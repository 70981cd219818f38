// Catch rates on random seeds: not part of the regular run (it takes minutes). Run with
//   BUDGETRY_MEASURE=30 npx vitest run --project testing test/measure.test.ts
// to run every gallery case on 30 random seeds under default options.
import { expect, it } from 'vitest';
import { ConformanceError } from '../src/index.js';
import { galleryCases } from './gallery-cases.js';

const rounds = Number(process.env.BUDGETRY_MEASURE ?? 0);

it.runIf(rounds > 0)(
  'catches every gallery case on random seeds',
  async () => {
    const lines: string[] = [];
    for (const c of galleryCases) {
      let caught = 0;
      const sizes: number[] = [];
      const ids = new Set<string>();
      for (let i = 0; i < rounds; i++) {
        try {
          await c.run({ replayFromEnv: false });
        } catch (error) {
          if (!ConformanceError.isInstance(error)) throw error;
          caught++;
          sizes.push(error.commandCount);
          ids.add(error.invariant);
        }
      }
      sizes.sort((a, b) => a - b);
      lines.push(
        `${c.name}: caught ${caught}/${rounds}; commands min ${sizes[0]} median ${sizes[sizes.length >> 1]} max ${sizes[sizes.length - 1]}; ${[...ids].join(' ')}`,
      );
    }
    console.log(lines.join('\n'));
    expect(lines).toHaveLength(galleryCases.length);
  },
  3_600_000,
);
