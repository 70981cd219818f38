import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = join(dirname(dirname(fileURLToPath(import.meta.url))), 'src');

/** Every `import … from '…'` / `export … from '…'` in a file, with whether it is type-only. */
function importsOf(file: string): { from: string; typeOnly: boolean }[] {
  const text = readFileSync(file, 'utf8');
  const found: { from: string; typeOnly: boolean }[] = [];
  for (const m of text.matchAll(/^(import|export)(\s+type)?\s[^;]*?from\s+'([^']+)'/gms)) {
    found.push({ from: m[3]!, typeOnly: m[2] !== undefined });
  }
  return found;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f));
}

describe('core layout', () => {
  it('spec/ imports nothing but spec/ (one type-only name: the reservation handle)', () => {
    const files = sources(join(src, 'spec'));
    expect(files.length).toBeGreaterThan(8);
    const outside = files.flatMap((file) =>
      importsOf(file)
        .filter((i) => !(i.from.startsWith('./') && !i.from.includes('/', 2)))
        .map((i) => ({ file: file.slice(src.length + 1), ...i })),
    );
    expect(outside).toEqual([
      {
        file: join('spec', 'token-budget.ts'),
        from: '../budgets/token-reservation.js',
        typeOnly: true,
      },
    ]);
  });

  it('imports no other package, and every source file stays near 400 lines', () => {
    for (const file of sources(src)) {
      for (const { from } of importsOf(file)) expect(from, file).toMatch(/^\.\.?\//);
      const lines = readFileSync(file, 'utf8').split('\n').length;
      expect(lines, file).toBeLessThanOrEqual(430);
    }
  });
});
