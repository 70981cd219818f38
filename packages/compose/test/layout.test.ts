import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = join(dirname(dirname(fileURLToPath(import.meta.url))), 'src');

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^(?:import|export)(?:\s+type)?\s[^;]*?from\s+'([^']+)'/gms)].map(
    (m) => m[1]!,
  );
}

const files = readdirSync(src, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.ts'))
  .map((f) => ({ rel: f, path: join(src, f) }));

describe('compose layout', () => {
  it('imports core only through its public entry, and no other package', () => {
    const bad = files.flatMap(({ rel, path }) =>
      importsOf(path)
        .filter((from) => !from.startsWith('.') && from !== '@budgetry/core')
        .map((from) => `${rel}: ${from}`),
    );
    expect(bad).toEqual([]);
  });

  it('keeps its pieces in folders that reach one another only through their index', () => {
    const folders = new Set(
      files.filter((f) => f.rel.includes(sep)).map((f) => f.rel.split(sep)[0]),
    );
    expect([...folders].sort()).toEqual([
      'all-of',
      'any-of',
      'coordinator',
      'hierarchy',
      'internal',
      'refill',
      'token-guard',
      'waiting',
    ]);
    const bad = files.flatMap(({ rel, path }) =>
      importsOf(path)
        .filter((from) => from.startsWith('../'))
        .filter((from) => !/^\.\.\/(internal\/[a-z-]+|[a-z-]+\/index)\.js$/.test(from))
        .map((from) => `${rel}: ${from}`),
    );
    expect(bad).toEqual([]);
    // internal/ is below every piece: it imports no piece except the token guard it wraps
    // token budgets in.
    const upward = files
      .filter((f) => f.rel.startsWith(`internal${sep}`))
      .flatMap(({ rel, path }) =>
        importsOf(path)
          .filter((from) => from.startsWith('../') && from !== '../token-guard/index.js')
          .map((from) => `${rel}: ${from}`),
      );
    expect(upward).toEqual([]);
  });

  it('has no source file much over 400 lines', () => {
    const long = files
      .map(({ rel, path }) => ({ rel, lines: readFileSync(path, 'utf8').split('\n').length }))
      .filter((f) => f.lines > 430);
    expect(long).toEqual([]);
  });
});
