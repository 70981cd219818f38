// The ai-sdk READMEs' examples compile against the public API. They are fenced `typescript`
// (the playground, which compiles every README's `ts` blocks, does not depend on this package
// yet), so this test hands them to the same checker as `ts` blocks, resolved from here.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkMarkdownExamples } from '@budgetry/tsdoc-check';
import { afterAll, expect, it } from 'vitest';

const pkg = dirname(dirname(fileURLToPath(import.meta.url)));
const root = dirname(dirname(pkg));
const scratch = mkdtempSync(join(tmpdir(), 'ai-sdk-readme-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function check(markdown: string, label: string): { examples: number; compileErrors: string[] } {
  const file = join(scratch, `${label}.md`);
  writeFileSync(file, markdown.replaceAll('```typescript\n', '```ts\n'));
  return checkMarkdownExamples(file, pkg);
}

it('compiles the package README examples', () => {
  const report = check(readFileSync(join(pkg, 'README.md'), 'utf8'), 'package');
  expect(report.compileErrors).toEqual([]);
  expect(report.examples).toBe(2);
}, 60_000);

it('compiles the root README section about this package', () => {
  const text = readFileSync(join(root, 'README.md'), 'utf8');
  const start = text.indexOf('## Budgets for the AI SDK');
  expect(start).toBeGreaterThan(0);
  const end = text.indexOf('\n## ', start + 1);
  const report = check(text.slice(start, end), 'root');
  expect(report.compileErrors).toEqual([]);
  expect(report.examples).toBe(1);
}, 60_000);
