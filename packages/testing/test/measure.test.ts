// Catch rates on random seeds: not part of the regular run (it takes minutes). Run with
//   BUDGETRY_MEASURE=30 pnpm exec vitest run --project testing test/measure.test.ts
// from the repository root (vitest's projects are defined there, not in this package), to run
// every gallery case, and every control, on 30 random seeds under default options.
// It prints one markdown row per case: caught, commands (min / median / max), median time to
// catch and shrink, and the invariants reported; and the false alarms of the controls.
import { expect, it } from 'vitest';
import { type CheckOptions, ConformanceError, checkGuard, checkTokenBudget } from '../src/index.js';
import { controlChecks, controlSuites } from './controls.js';
import { galleryCases } from './gallery-cases.js';

const rounds = Number(process.env.BUDGETRY_MEASURE ?? 0);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] ?? 0;
}

it.runIf(rounds > 0)(
  'catches every gallery case on random seeds, and no control fails',
  async () => {
    const lines: string[] = [];
    for (const c of galleryCases) {
      let caught = 0;
      const sizes: number[] = [];
      const times: number[] = [];
      const ids = new Map<string, number>();
      for (let i = 0; i < rounds; i++) {
        const started = Date.now();
        try {
          await c.run({ replayFromEnv: false });
        } catch (error) {
          if (!ConformanceError.isInstance(error)) throw error;
          caught++;
          sizes.push(error.commandCount);
          ids.set(error.invariant, (ids.get(error.invariant) ?? 0) + 1);
        }
        times.push(Date.now() - started);
      }
      sizes.sort((a, b) => a - b);
      // The invariants reported, most frequent first.
      const reported = [...ids].sort((a, b) => b[1] - a[1]).map(([id]) => id);
      lines.push(
        `| ${c.name} | ${caught}/${rounds} | ${sizes[0]} / ${median(sizes)} / ${sizes[sizes.length - 1]} | ${median(times)} ms | ${reported.join(', ')} |`,
      );
    }
    const alarms: string[] = [];
    const controls: [string, (o: CheckOptions) => Promise<unknown>][] = [
      ...controlSuites.map((s): [string, (o: CheckOptions) => Promise<unknown>] => [
        s.name,
        (o) =>
          s.kind === 'guard'
            ? checkGuard(s.factory, {
                ...s.options,
                ...o,
                ...(s.capabilities ? { capabilities: s.capabilities } : {}),
              })
            : checkTokenBudget(s.factory, {
                ...s.options,
                ...o,
                ...(s.capabilities ? { capabilities: s.capabilities } : {}),
              }),
      ]),
      ...controlChecks.map((c): [string, (o: CheckOptions) => Promise<unknown>] => [c.name, c.run]),
    ];
    let runs = 0;
    for (const [name, run] of controls) {
      for (let i = 0; i < rounds; i++) {
        runs++;
        try {
          await run({ replayFromEnv: false });
        } catch (error) {
          alarms.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    }
    console.log(
      [
        '| broken implementation | caught | commands (min / median / max) | median time | invariant |',
        '| --- | --- | --- | --- | --- |',
        ...lines,
        '',
        `controls: ${controls.length} correct implementations × ${rounds} seeds = ${runs} checks, ${alarms.length} failures`,
        ...alarms,
      ].join('\n'),
    );
    expect(alarms).toEqual([]);
  },
  // No time limit: 30 seeds take about an hour on a quiet 2-core machine, most of it in the
  // controls, and a limit of an hour cut a busy run off with nothing printed.
  0,
);
