/*
 * `pnpm bench:readme`: rewrites the bench README's results section from results/latest.json
 * and the commentary template results/what-the-run-says.md, and the repository README's
 * summary of the targets from the same run. With `--check` it changes nothing and exits 1 when
 * either is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseJsonReport } from './json-report.js';
import {
  type Markers,
  markedSection,
  readmePaths,
  renderResultsSection,
  renderTargetsSummary,
  replaceMarkedSection,
  resultsMarkers,
  summaryMarkers,
} from './readme-section.js';

/** Brings one marked section of one file up to date; returns whether it was stale. */
function update(file: URL, markers: Markers, section: string, check: boolean): boolean {
  const path = fileURLToPath(file);
  const document = readFileSync(file, 'utf8');
  if (markedSection(document, markers) === section) {
    console.error(`bench:readme: ${path} is up to date`);
    return false;
  }
  if (check) {
    console.error(`bench:readme: ${path} is stale; run \`pnpm bench:readme\` in apps/bench`);
  } else {
    writeFileSync(file, replaceMarkedSection(document, section, markers));
    console.error(`bench:readme: rewrote the generated section of ${path}`);
  }
  return true;
}

function main(argv: readonly string[]): number {
  const check = argv.includes('--check');
  const report = parseJsonReport(readFileSync(readmePaths.results, 'utf8'));
  const results = renderResultsSection(report, readFileSync(readmePaths.template, 'utf8'));
  const staleResults = update(readmePaths.readme, resultsMarkers, results, check);
  const staleSummary = update(
    readmePaths.rootReadme,
    summaryMarkers,
    renderTargetsSummary(report),
    check,
  );
  return check && (staleResults || staleSummary) ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
