import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildJsonReport, type JsonReport, parseJsonReport } from './json-report.js';
import {
  endMarker,
  fillTemplate,
  markedSection,
  readmePaths,
  reflow,
  renderResultsSection,
  renderTargetsSummary,
  replaceMarkedSection,
  startMarker,
  summaryMarkers,
} from './readme-section.js';
import { formatReport } from './report-text.js';
import type { RowResult } from './row-result.js';
import { quickSettings } from './run-settings.js';
import { referenceResult, testMachine } from './test-fixtures.js';

describe('the repository README’s summary of the targets', () => {
  it('is what `pnpm bench:readme` generates from results/latest.json (never edit it by hand)', () => {
    const readme = readFileSync(readmePaths.rootReadme, 'utf8');
    const expected = renderTargetsSummary(
      parseJsonReport(readFileSync(readmePaths.results, 'utf8')),
    );
    expect(
      markedSection(readme, summaryMarkers),
      'README.md is stale or hand-edited: run `pnpm bench:readme` in apps/bench',
    ).toBe(expected);
  });

  it('lists every target of the run with its figure and verdict, and counts the met ones', () => {
    const report = buildJsonReport({
      machine: testMachine,
      settings: quickSettings,
      durationMs: 1000,
      isolation: 'per-process',
      processes: [],
      sink: 0,
      results: [
        referenceResult,
        {
          ...referenceResult,
          id: 'fast',
          name: 'a fast row',
          reference: 'plain-sync',
          ratio: 0.5,
          summary: { median: 1e8, min: 1e8, max: 1e8 },
          targets: [
            {
              label: '≥ 0.4× plain-sync',
              against: 'plain-sync',
              atLeast: 0.4,
              value: 0.5,
              met: true,
            },
          ],
          status: 'met',
        },
        {
          ...referenceResult,
          id: 'slow',
          name: 'a slow row',
          reference: 'plain-sync',
          ratio: 0.1,
          summary: { median: 2e7, min: 2e7, max: 2e7 },
          targets: [
            {
              label: '≥ 0.3× plain-sync',
              against: 'plain-sync',
              atLeast: 0.3,
              value: 0.1,
              met: false,
            },
          ],
          status: 'short',
        },
      ],
    });
    const summary = renderTargetsSummary(report);
    expect(summary).toMatch(
      /\| a fast row +\| 100\.0 M\/s +\| 0\.50× +\| ≥ 0\.4× plain-sync +\| met +\|/,
    );
    expect(summary).toMatch(
      /\| a slow row +\| 20\.0 M\/s +\| 0\.10× +\| ≥ 0\.3× plain-sync +\| short +\|/,
    );
    expect(summary).not.toContain('plain pair |');
    expect(summary).toContain('1 of 2 targets met in this run.');
  });
});

describe('the README’s results section', () => {
  it('is what `pnpm bench:readme` generates from results/latest.json (never edit it by hand)', () => {
    const readme = readFileSync(readmePaths.readme, 'utf8');
    const expected = renderResultsSection(
      parseJsonReport(readFileSync(readmePaths.results, 'utf8')),
      readFileSync(readmePaths.template, 'utf8'),
    );
    expect(
      markedSection(readme),
      'README.md is stale or hand-edited: run `pnpm bench:readme` in apps/bench',
    ).toBe(expected);
  });
});

const base = referenceResult;

const results: RowResult[] = [
  base,
  {
    ...base,
    id: 'async',
    group: 'core',
    process: 'core',
    summary: { median: 9_012_345, min: 1, max: 1e7 },
    reference: 'plain-sync',
    ratio: 1.0432,
    targets: [
      { label: '≥ 0.8× plain-sync', against: 'plain-sync', atLeast: 0.8, value: 1.0432, met: true },
      { label: '≥ 3× peer', against: 'peer', atLeast: 3, value: 2.5, met: false },
    ],
    status: 'short',
  },
  {
    ...base,
    id: 'memory-budget-1 M',
    unit: 'bytes',
    summary: { median: 128.4, min: 128, max: 129 },
    targets: [{ label: '≤ 200 B', atMost: 200, value: 128.4, met: true }],
    status: 'met',
  },
  {
    ...base,
    id: 'broken',
    summary: null,
    reference: 'plain-sync',
    targets: [{ label: '≥ 1×', against: 'plain-sync', atLeast: 1, value: null, met: null }],
    status: 'n/a',
    error: 'boom',
  },
];

const report: JsonReport = buildJsonReport({
  machine: testMachine,

  settings: quickSettings,
  durationMs: 1000,
  isolation: 'per-process',
  processes: [],
  sink: 0,
  results,
});

describe('fillTemplate', () => {
  const fill = (template: string): string => fillTemplate(template, report);

  it('fills ratios and medians in the table’s format', () => {
    expect(fill('at {{ratio async}}, {{median async}}, {{median memory-budget-1 M}}')).toBe(
      'at 1.04×, 9.0 M/s, 128 B',
    );
  });

  it('fills a throughput row’s median as the time of one op', () => {
    expect(fill('{{latency async}}')).toBe('111 ns');
    expect(fill('{{latency broken}}')).toBe('n/a');
    expect(() => fill('{{latency memory-budget-1 M}}')).toThrow(/counts bytes, not ops\/s/);
  });

  it('fills a target’s figure and label, picking the target by its `against`', () => {
    expect(fill('{{target async, peer}} ({{goal async, peer}})')).toBe('2.50× (≥ 3× peer)');
    expect(fill('{{target async,plain-sync}}')).toBe('1.04×');
    expect(fill('{{target memory-budget-1 M}} ({{goal memory-budget-1 M}})')).toBe(
      '128 B (≤ 200 B)',
    );
  });

  it('folds statuses: short beats n/a beats met', () => {
    expect(fill('{{status memory-budget-1 M}}')).toBe('met');
    expect(fill('{{status memory-budget-1 M, broken}}')).toBe('n/a');
    expect(fill('{{status broken, async, memory-budget-1 M}}')).toBe('short');
  });

  it('prints n/a for a figure the run could not take', () => {
    expect(fill('{{ratio broken}} {{median broken}} {{target broken}}')).toBe('n/a n/a n/a');
  });

  it('drops the template’s leading comment and surrounding blank lines', () => {
    expect(fill('<!-- notes\n{{ratio nothing}} -->\n\n- {{ratio async}}\n')).toBe('- 1.04×');
  });

  it('refuses unknown rows, unknown placeholders and ambiguous targets', () => {
    expect(() => fill('{{ratio nope}}')).toThrow(/names row "nope"; the run has none/);
    expect(() => fill('{{mean async}}')).toThrow(/unknown placeholder \{\{mean async\}\}/);
    expect(() => fill('{{target async}}')).toThrow(/"async" has 2 targets/);
    expect(() => fill('{{goal async, nope}}')).toThrow(/0 targets against "nope"/);
    expect(() => fill('{{status plain-sync}}')).toThrow(/"plain-sync" has no target/);
  });
});

describe('renderResultsSection', () => {
  it('is a generated-file notice, the console report, then the filled commentary', () => {
    const section = renderResultsSection(report, '- {{ratio async}}');
    expect(section.startsWith('<!-- Generated by `pnpm bench:readme`')).toBe(true);
    expect(section).toContain(`\n\n${formatReport(report)}\n\n`);
    expect(section.endsWith('What the run says:\n\n- 1.04×')).toBe(true);
  });
});

describe('markedSection and replaceMarkedSection', () => {
  const readme = `# title\n\n${startMarker}\nold table\n${endMarker}\n\n## after\n`;

  it('reads the text between the markers', () => {
    expect(markedSection(readme)).toBe('old table');
  });

  it('replaces only that text, and reads back what it wrote', () => {
    const updated = replaceMarkedSection(readme, 'new\ntable');
    expect(updated).toBe(`# title\n\n${startMarker}\nnew\ntable\n${endMarker}\n\n## after\n`);
    expect(markedSection(updated)).toBe('new\ntable');
    expect(replaceMarkedSection(updated, 'new\ntable')).toBe(updated);
  });

  it('refuses a document without both markers in order', () => {
    expect(() => markedSection('# no markers')).toThrow(/needs <!-- bench:results:start -->/);
    expect(() => replaceMarkedSection(`${endMarker}\n${startMarker}`, 'x')).toThrow(/needs/);
  });
});

describe('reflow', () => {
  it('joins each list item’s lines and wraps it at the width, indenting continuations', () => {
    const text = '- **One.** alpha beta\n  gamma delta epsilon\n- two\n\nA paragraph\nof words.';
    expect(reflow(text, 16)).toBe(
      '- **One.** alpha\n  beta gamma\n  delta epsilon\n- two\n\nA paragraph of\nwords.',
    );
  });

  it('keeps a word longer than the width on a line of its own', () => {
    expect(reflow('- a verylongword b', 6)).toBe('- a\n  verylongword\n  b');
  });

  it('keeps a number with the number or unit after it', () => {
    expect(reflow('aa 19.0 M/s, 100 000 of 1 k at 136 B', 6)).toBe(
      'aa\n19.0 M/s,\n100 000\nof 1 k\nat\n136 B',
    );
    expect(reflow('aa 17.4 µs, 850 ns or 1.25 ms', 6)).toBe('aa\n17.4 µs,\n850 ns\nor\n1.25 ms');
  });

  it('never starts a line with a word that would become markup', () => {
    expect(reflow('aaaa - bbbb 1. cccc ## dddd > e 0.37×', 5)).toBe(
      'aaaa -\nbbbb 1.\ncccc ##\ndddd >\ne\n0.37×',
    );
  });
});
