import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
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

describe('redis layout', () => {
  it('imports core and compose only through their public entries, node built-ins, and nothing else', () => {
    const bad = files.flatMap(({ rel, path }) =>
      importsOf(path)
        .filter(
          (from) =>
            !from.startsWith('.') &&
            from !== '@budgetry/core' &&
            from !== '@budgetry/compose' &&
            !from.startsWith('node:'),
        )
        .map((from) => `${rel}: ${from}`),
    );
    expect(bad).toEqual([]);
  });

  it('has no source file much over 400 lines', () => {
    const long = files
      .map(({ rel, path }) => ({ rel, lines: readFileSync(path, 'utf8').split('\n').length }))
      .filter((f) => f.lines > 430);
    expect(long).toEqual([]);
  });
});
