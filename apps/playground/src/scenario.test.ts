import { describe, expect, it } from 'vitest';
import { runScenario } from './scenario.js';

describe('playground scenario', () => {
  it('processes documents, refunds failed calls and conserves tokens across seeds', async () => {
    for (const seed of [1, 2, 3]) {
      const lines: string[] = [];
      const report = await runScenario({ seed, log: (l) => lines.push(l), documents: 200 });
      expect(report.violations).toEqual([]);
      expect(report.processed).toBeGreaterThan(0);
      expect(report.processed + report.failedCalls).toBeLessThanOrEqual(200);
      expect(report.tokensConsumed).toBeGreaterThan(0);
      expect(lines.at(-1)).toBe('conservation: ok');
    }
  });

  it('replays exactly from its seed', async () => {
    const a = await runScenario({ seed: 7, log: () => {}, documents: 120 });
    const b = await runScenario({ seed: 7, log: () => {}, documents: 120 });
    expect(b).toEqual(a);
  });
});
