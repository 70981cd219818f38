import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const src = join(root, 'src');
const files = readdirSync(src).filter((f) => f.endsWith('.ts'));

function importsOf(file: string): string[] {
  const text = readFileSync(join(src, file), 'utf8');
  return [...text.matchAll(/^(?:import|export)(?:\s+type)?\s[^;]*?from\s+'([^']+)'/gms)].map(
    (m) => m[1]!,
  );
}

describe('otel layout', () => {
  it('imports only core’s public entry and @opentelemetry/api at run time', () => {
    const outside = files.flatMap((f) =>
      importsOf(f)
        .filter((from) => !from.startsWith('.'))
        .filter((from) => from !== '@budgetry/core' && from !== '@opentelemetry/api')
        .map((from) => `${f}: ${from}`),
    );
    expect(outside).toEqual([]);
  });

  it('declares @opentelemetry/api as a peer, and nothing else but core as a dependency', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect(Object.keys(pkg.dependencies)).toEqual(['@budgetry/core']);
    expect(Object.keys(pkg.peerDependencies)).toEqual(['@opentelemetry/api']);
  });

  it('keeps thresholds and shadows free of OpenTelemetry, so they work without it', () => {
    const otelFree = ['thresholds.ts', 'shadow.ts', 'shadow-coordinator.ts', 'shadow-state.ts'];
    const seen = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const from of importsOf(file)) {
        if (from.startsWith('./')) visit(from.slice(2).replace(/\.js$/, '.ts'));
      }
    };
    for (const f of otelFree) visit(f);
    const bad = [...seen].filter((f) => importsOf(f).includes('@opentelemetry/api'));
    expect(bad).toEqual([]);
  });

  it('has no source file much over 400 lines', () => {
    const long = files
      .map((f) => ({ f, lines: readFileSync(join(src, f), 'utf8').split('\n').length }))
      .filter((x) => x.lines > 430);
    expect(long).toEqual([]);
  });
});
