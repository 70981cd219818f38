import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const src = join(root, 'src');
const files = readdirSync(src).filter((f) => f.endsWith('.ts'));

describe('ai-sdk layout', () => {
  it('loads only core at run time: the AI SDK is imported for its types alone', () => {
    const bad = files.flatMap((f) => {
      const text = readFileSync(join(src, f), 'utf8');
      return [...text.matchAll(/^import(\s+type)?\s[^;]*?from\s+'([^']+)'/gms)]
        .filter(
          ([, typeOnly, from]) =>
            !from!.startsWith('.') && from !== '@budgetry/core' && !(typeOnly && from === 'ai'),
        )
        .map(([, , from]) => `${f}: ${from}`);
    });
    expect(bad).toEqual([]);
  });

  it('declares the AI SDK as a peer, and nothing but core as a dependency', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect(Object.keys(pkg.dependencies)).toEqual(['@budgetry/core']);
    expect(Object.keys(pkg.peerDependencies)).toEqual(['ai']);
  });

  it('accepts as a peer each AI SDK major it is tested with (ai, and ai@7 as the alias ai7)', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    const tested = ['ai', 'ai7'].map((name) => /(\d+)\./.exec(pkg.devDependencies[name])?.[1]);
    const peer = String(pkg.peerDependencies.ai)
      .split('||')
      .map((range) => range.trim());
    expect(tested).toEqual(['6', '7']);
    expect(peer).toEqual(tested.map((major) => `^${major}.0.0`));
  });

  it('has no source file much over 400 lines', () => {
    const long = files
      .map((f) => ({ f, lines: readFileSync(join(src, f), 'utf8').split('\n').length }))
      .filter((x) => x.lines > 430);
    expect(long).toEqual([]);
  });
});
