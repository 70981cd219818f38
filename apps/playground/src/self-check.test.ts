import { describe, expect, it } from 'vitest';
import { runSelfCheck } from './self-check.js';

describe('self-check', () => {
  it('passes the conformance kit for every budget the scenarios use', async () => {
    const lines: string[] = [];
    const { violations } = await runSelfCheck({ log: (l) => lines.push(l), numRuns: 30 });
    expect(violations).toEqual([]);
    expect(lines.filter((l) => l.trim().endsWith(' ok'))).toHaveLength(3);
  });
});
