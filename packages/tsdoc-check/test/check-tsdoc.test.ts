import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { checkTsdoc } from '../src/index.js';

it('reports undocumented exports, exports without an example and examples that do not compile', () => {
  const fixture = join(dirname(fileURLToPath(import.meta.url)), 'fixture');
  const report = checkTsdoc(fixture);
  expect(report.undocumented).toEqual(['undocumented']);
  expect(report.withoutExample).toEqual(['noExample']);
  expect(report.examples).toBe(2);
  expect(report.compileErrors).toHaveLength(1);
  expect(report.compileErrors[0]).toMatch(
    /^broken-0\.ts: Type 'number' is not assignable to type 'string'/,
  );
}, 60_000);
