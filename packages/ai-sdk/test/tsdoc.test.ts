import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkTsdoc } from '@budgetry/tsdoc-check';
import { expect, it } from 'vitest';

it('documents every public export with an @example that compiles against the public API', () => {
  const report = checkTsdoc(dirname(dirname(fileURLToPath(import.meta.url))));
  expect(report.undocumented).toEqual([]);
  expect(report.withoutExample).toEqual([]);
  expect(report.compileErrors).toEqual([]);
  expect(report.examples).toBeGreaterThan(10);
}, 60_000);
