/*
 * `pnpm bench:readme`: rewrites the README's results section from results/latest.json and
 * the commentary template results/what-the-run-says.md. With `--check` it changes nothing
 * and exits 1 when the section is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseJsonReport } from './json-report.js';
import {
  markedSection,
  readmePaths,
  renderResultsSection,
  replaceMarkedSection,
} from './readme-section.js';

function main(argv: readonly string[]): number {
  const check = argv.includes('--check');
  const readme = readFileSync(readmePaths.readme, 'utf8');
  const section = renderResultsSection(
    parseJsonReport(readFileSync(readmePaths.results, 'utf8')),
    readFileSync(readmePaths.template, 'utf8'),
  );
  const path = fileURLToPath(readmePaths.readme);
  if (markedSection(readme) === section) {
    console.error(`bench:readme: ${path} is up to date`);
    return 0;
  }
  if (check) {
    console.error(`bench:readme: ${path} is stale; run \`pnpm bench:readme\` in apps/bench`);
    return 1;
  }
  writeFileSync(readmePaths.readme, replaceMarkedSection(readme, section));
  console.error(`bench:readme: rewrote the results section of ${path}`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
