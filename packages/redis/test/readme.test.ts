// The README examples of this package, and the root README's Redis section, compile against
// the public API, resolved from this package (the playground's README test resolves from
// there too once it depends on @budgetry/redis).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkMarkdownExamples } from '@budgetry/tsdoc-check';
import { expect, it } from 'vitest';

const pkg = dirname(dirname(fileURLToPath(import.meta.url)));

it('compiles every example of the package README', () => {
  const report = checkMarkdownExamples(join(pkg, 'README.md'), pkg);
  expect(report.compileErrors).toEqual([]);
  expect(report.examples).toBeGreaterThan(0);
}, 60_000);

it("compiles the root README's Redis section", () => {
  const root = readFileSync(join(pkg, '..', '..', 'README.md'), 'utf8');
  const start = root.indexOf('## Across a fleet, on Redis');
  expect(start).toBeGreaterThan(0);
  const end = root.indexOf('\n## ', start + 1);
  const file = join(mkdtempSync(join(tmpdir(), 'budgetry-readme-')), 'section.md');
  writeFileSync(file, root.slice(start, end));
  const report = checkMarkdownExamples(file, pkg);
  expect(report.compileErrors).toEqual([]);
  expect(report.examples).toBe(1);
}, 60_000);
