// Every ```ts block in the repository's READMEs compiles against the packages' public APIs.
// The playground depends on every package, so imports resolve from here.
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkMarkdownExamples } from '@budgetry/tsdoc-check';
import { describe, expect, it } from 'vitest';

const playground = dirname(dirname(fileURLToPath(import.meta.url)));
const root = dirname(dirname(playground));
const readmes = [
  join(root, 'README.md'),
  ...['packages', 'apps'].flatMap((group) =>
    readdirSync(join(root, group)).map((name) => join(root, group, name, 'README.md')),
  ),
].filter((file) => existsSync(file));

// What READMEs leave to the reader: the model call, the coordinator from an earlier block, the
// bench harness's row type (a row module imports it from `../row.js`), and the reader's own
// budget that the testing README checks.
const ambient = {
  MyBudget: `declare class MyBudget {
    constructor(capacity: number, options?: { refillPolicy?: 'reset' | 'carry' });
    tryReserve(cost: number): Promise<boolean>;
    release(cost: number): Promise<void>;
    tryAcquire(cost: number): Promise<import('@budgetry/testing').PermitLike | null>;
    available(): number;
    refill(): void;
  }`,
  ThroughputRow: `type ThroughputRow = import('${join(root, 'apps/bench/src/row.js')}').ThroughputRow;`,
  callModel: 'declare function callModel(): Promise<{ prompt: number; completion: number }>;',
  llm: "declare const llm: import('@budgetry/compose').Coordinator<'requests' | 'tokens' | 'usd_micros'>;",
};

describe('README examples', () => {
  for (const file of readmes) {
    it(`compile: ${file.slice(root.length + 1)}`, () => {
      const report = checkMarkdownExamples(file, playground, ambient);
      expect(report.compileErrors).toEqual([]);
    }, 60_000);
  }
});
