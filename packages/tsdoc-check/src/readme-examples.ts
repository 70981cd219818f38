// The README checks the packages share: a package's README, or one section of the root README,
// made ready for `checkMarkdownExamples`. Blocks fenced `typescript` count as well as `ts` ones:
// a README fences its examples `typescript` to keep them out of the playground's README test,
// which compiles `ts` blocks from a package that may not depend on the one the README is about.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Writes the part of a README to check — the whole file, or what is under one `## ` heading
 * up to the next — with its ```typescript blocks fenced ```ts, to a fixed file under
 * `packageDir/node_modules` (so repeated runs reuse one compile folder), and returns that
 * file's path for `checkMarkdownExamples`.
 *
 * @param markdownFile - the README.
 * @param packageDir - the package whose examples are checked (resolved from there).
 * @param heading - a level-two heading of the file, `## ` included; the whole file if left out.
 * @returns the path of the Markdown to hand to `checkMarkdownExamples(path, packageDir)`.
 * @throws Error when the file has no such heading.
 *
 * @example
 * ```ts
 * import { checkMarkdownExamples, readmeExamples } from '@budgetry/tsdoc-check';
 *
 * const section = readmeExamples('../../README.md', '.', '## Budgets for the AI SDK');
 * const { examples, compileErrors } = checkMarkdownExamples(section, '.');
 * ```
 */
export function readmeExamples(markdownFile: string, packageDir: string, heading?: string): string {
  let lines = readFileSync(markdownFile, 'utf8').split('\n');
  if (heading !== undefined) {
    const start = lines.indexOf(heading);
    if (start === -1) throw new Error(`${markdownFile} has no heading ${JSON.stringify(heading)}`);
    const end = lines.findIndex((line, i) => i > start && line.startsWith('## '));
    lines = lines.slice(start, end === -1 ? undefined : end);
  }
  const label = `${basename(dirname(markdownFile))}-${basename(markdownFile)}-${heading ?? ''}`;
  const dir = join(packageDir, 'node_modules', '.readme-examples');
  const file = join(dir, `${label.replace(/[^a-zA-Z0-9]+/g, '-')}.md`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, lines.join('\n').replaceAll('```typescript\n', '```ts\n'));
  return file;
}
