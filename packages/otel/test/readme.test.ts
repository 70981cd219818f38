// The package README's examples, and the root README's section on this package, compile against
// the public API, resolved from this package.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkMarkdownExamples, readmeExamples } from '@budgetry/tsdoc-check';
import { expect, it } from 'vitest';

const pkg = dirname(dirname(fileURLToPath(import.meta.url)));

it('compiles the package README examples', () => {
  const report = checkMarkdownExamples(readmeExamples(join(pkg, 'README.md'), pkg), pkg);
  expect(report.compileErrors).toEqual([]);
  expect(report.examples).toBe(2);
}, 60_000);

it('compiles the root README section about this package', () => {
  const root = join(pkg, '..', '..', 'README.md');
  const section = readmeExamples(root, pkg, '## Watching budgets in production');
  const report = checkMarkdownExamples(section, pkg);
  expect(report.compileErrors).toEqual([]);
  expect(report.examples).toBe(1);
}, 60_000);
